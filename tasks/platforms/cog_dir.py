"""The files that make up a Cog directory (what `cog push` sends), and their content hash.

.dockerignore patterns are honoured with Docker's syntax; VCS metadata, caches and .cog are
never part of a model. Shared by the local registry (snapshots) and the push cache (digest).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tasks.core.home import tool_home

ALWAYS_SKIPPED = {".git", ".cog", "__pycache__"}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's ignore-pattern syntax (Go filepath.Match plus `**`) as a regex."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # `**/` matches zero or more directories
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append(fnmatch.translate(f"[{body}]")[4:-3])
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class IgnoreRule:
    regex: re.Pattern[str]
    negated: bool


def parse_dockerignore(text: str) -> list[IgnoreRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:].strip()
        line = os.path.normpath(line).replace(os.sep, "/").lstrip("/")
        if line in {"", "."}:
            continue
        rules.append(IgnoreRule(_pattern_regex(line), negated))
    return rules


def is_ignored(relpath: str, rules: list[IgnoreRule]) -> bool:
    """Docker semantics: patterns are anchored at the root, the last match wins, and a
    pattern that matches a directory excludes everything below it."""
    parts = relpath.split("/")
    if any(part in ALWAYS_SKIPPED for part in parts):
        return True
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for rule in rules:
        if any(rule.regex.match(c) for c in candidates):
            ignored = not rule.negated
    return ignored


def snapshot_files(cog_dir: Path) -> list[str]:
    """Relative POSIX paths of the files a push includes, sorted."""
    ignore_file = cog_dir / ".dockerignore"
    rules = (
        parse_dockerignore(ignore_file.read_text(encoding="utf-8")) if ignore_file.is_file() else []
    )
    found = []
    home = tool_home()  # the tool's own files (registry, server) are never part of a model
    for root, dirs, files in os.walk(cog_dir, followlinks=False):
        rel_root = Path(root).relative_to(cog_dir).as_posix()
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = sorted(
            d for d in dirs if d not in ALWAYS_SKIPPED and (Path(root) / d).resolve() != home
        )
        for name in files:
            rel = rel_root + name
            full = Path(root) / name
            if not full.is_file():  # broken links, sockets
                continue
            if not is_ignored(rel, rules):
                found.append(rel)
    return sorted(found)


def content_hash(cog_dir: Path, files: list[str]) -> str:
    """A 64-hex id that changes exactly when the pushed content changes."""
    digest = hashlib.sha256()
    for rel in files:
        full = cog_dir / rel
        file_digest = hashlib.sha256()
        with full.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                file_digest.update(chunk)
        executable = os.access(full, os.X_OK)
        digest.update(f"{rel}\0{int(executable)}\0{file_digest.hexdigest()}\n".encode())
    return digest.hexdigest()


def digest(cog_dir: str | Path) -> str:
    """Equal exactly when the pushed model would be equal (the push cache's key)."""
    root = Path(cog_dir).resolve()
    return content_hash(root, snapshot_files(root))
