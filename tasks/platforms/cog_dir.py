"""The files that make up a Cog directory (what `cog push` would send), and their digest.

.dockerignore patterns are honoured; VCS metadata, caches and .cog are never part of a model.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

ALWAYS_IGNORED = (".git", ".hg", ".cog", "__pycache__", ".venv", ".pytest_cache", ".ruff_cache")


def ignore_patterns(cog_dir: Path) -> list[tuple[str, bool]]:
    """(pattern, negated) pairs from .dockerignore, in order."""
    path = cog_dir / ".dockerignore"
    if not path.is_file():
        return []
    patterns = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        patterns.append((pattern.strip("/").removeprefix("./"), negated))
    return patterns


def is_ignored(rel: str, patterns: list[tuple[str, bool]]) -> bool:
    """Docker semantics, simplified: last matching pattern wins; a pattern matches a path or a parent."""
    ignored = False
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern, negated in patterns:
        pat = pattern.replace("**/", "*/") if pattern.startswith("**/") else pattern
        if any(fnmatch.fnmatchcase(p, pat) or fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            ignored = not negated
    return ignored


def iter_files(cog_dir: str | Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, absolute path) of every file that belongs to the model, sorted."""
    root = Path(cog_dir).resolve()
    patterns = ignore_patterns(root)
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in ALWAYS_IGNORED
            and not is_ignored((here / d).relative_to(root).as_posix(), patterns)
        )
        for name in filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if name.endswith(".pyc") or is_ignored(rel, patterns):
                continue
            found.append((rel, path))
    yield from sorted(found)


def digest(cog_dir: str | Path) -> str:
    """SHA-256 over relative paths and contents: equal iff the pushed model would be equal."""
    h = hashlib.sha256()
    for rel, path in iter_files(cog_dir):
        h.update(rel.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
