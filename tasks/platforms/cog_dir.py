"""The files that make up a Cog directory (what `cog push` sends), and their content hash.

Docker's build-context rules, so that what is tested is what Replicate would build:
.dockerignore patterns are honoured with Docker's syntax; VCS metadata, caches and .cog are
never part of a model; a symlink is sent as a link, never followed. A link that leaves the
directory (and is not ignored) is a usage error: the build would hold a dangling link where
the local test saw a file. Shared by the local registry (snapshots) and the push cache
(digest), so both apply the same rule.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.errors import UsageError
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


def _outside(real_root: str, rel: str, full: str) -> str | None:
    """Where the link at `rel` points when a build could not follow it there, else None.

    Outside means: an absolute target (in the image it names the image's root, not this
    directory), a relative one that climbs out with `..`, or one that resolves outside
    through other links (a chain, a linked directory). Loops resolve inside: kept as links."""
    text = os.readlink(full)
    real = os.path.realpath(full)
    inside = real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)
    lexical = posixpath.normpath(posixpath.join(posixpath.dirname(rel), text))
    climbs = os.path.isabs(text) or lexical == ".." or lexical.startswith("../")
    if inside and not climbs:
        return None
    return text if inside or real == text else f"{text} (resolving to {real})"


def _outside_error(links: list[tuple[str, str]]) -> UsageError:
    """One line: the first offending link, where it points, the fix, and how many more."""
    rel, where = links[0]
    more = ""
    if len(links) > 1:
        names = ", ".join(name for name, _ in links[1:6])
        more = f"; {len(links) - 1} more such link(s): {names}{', ...' if len(links) > 6 else ''}"
    return UsageError(
        f"the symlink {rel} in the Cog directory points outside it, to {where}, and a push "
        "never follows a link out of its build context: copy the file into the directory, "
        f"or list {rel} in .dockerignore{more}"
    )


def snapshot_files(cog_dir: Path) -> list[str]:
    """Relative POSIX paths of what a push sends, sorted: regular files, and symlinks as
    links (never followed, never descended into, so link loops cannot hang the walk).

    Raises UsageError for a link out of the directory that .dockerignore does not exclude."""
    ignore_file = cog_dir / ".dockerignore"
    rules = (
        parse_dockerignore(ignore_file.read_text(encoding="utf-8")) if ignore_file.is_file() else []
    )
    found: list[str] = []
    outside: list[tuple[str, str]] = []
    real_root = os.path.realpath(cog_dir)
    home = tool_home()  # the tool's own files (registry, server) are never part of a model
    for root, dirs, files in os.walk(cog_dir, followlinks=False):
        rel_root = Path(root).relative_to(cog_dir).as_posix()
        rel_root = "" if rel_root == "." else rel_root + "/"
        linked_dirs = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in linked_dirs
            and d not in ALWAYS_SKIPPED
            and (Path(root) / d).resolve() != home
        )
        for name in [*files, *linked_dirs]:
            rel = rel_root + name
            full = os.path.join(root, name)
            if is_ignored(rel, rules):
                continue  # Docker does not send it, so where it points does not matter
            if os.path.islink(full):
                where = _outside(real_root, rel, full)
                if where is not None:
                    outside.append((rel, where))
                    continue
            elif not os.path.isfile(full):  # sockets, fifos
                continue
            found.append(rel)
    if outside:
        raise _outside_error(sorted(outside))
    return sorted(found)


def link_problems(cog_dir: str | Path) -> list[str]:
    """The build-context problem of `cog_dir` as a preflight line (empty when a push can
    take the directory), for checks that report every problem at once."""
    try:
        snapshot_files(Path(cog_dir).resolve())
    except UsageError as exc:
        return [str(exc)]
    return []


def content_hash(cog_dir: Path, files: list[str]) -> str:
    """A 64-hex id that changes exactly when the pushed content changes; a link counts as
    its target text (as Docker sends it), never as the content it points to."""
    digest = hashlib.sha256()
    for rel in files:
        full = cog_dir / rel
        if full.is_symlink():
            digest.update(f"{rel}\0link\0{os.readlink(full)}\n".encode())
            continue
        file_digest = hashlib.sha256()
        # O_NOFOLLOW: a file swapped for a link since it was listed is never read through
        with os.fdopen(os.open(full, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                file_digest.update(chunk)
        executable = os.access(full, os.X_OK)
        digest.update(f"{rel}\0{int(executable)}\0{file_digest.hexdigest()}\n".encode())
    return digest.hexdigest()


def digest(cog_dir: str | Path) -> str:
    """Equal exactly when the pushed model would be equal (the push cache's key); raises
    the snapshot's UsageError for a link out of the directory, so both always agree."""
    root = Path(cog_dir).resolve()
    return content_hash(root, snapshot_files(root))


def build_inputs(cog_dir: str | Path, dockerfile: str | None = None) -> dict[str, str]:
    """A digest per file the build reads outside Docker's context (tasks.core.cog_yaml
    CogYaml.build_files, and a --dockerfile): .dockerignore may hide one from `digest`, yet a
    change to it changes the build. A file that is missing counts as "missing"."""
    root = Path(cog_dir).resolve()
    files = read_cog_yaml(root).build_files()
    if dockerfile:
        files.append(root / dockerfile)
    found: dict[str, str] = {}
    for path in files:
        name = os.path.relpath(path, root)
        try:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            found[name] = "missing"
    return found
