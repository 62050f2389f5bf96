"""Where the Cog directory comes from: a local path, or a git URL and ref cloned for the run.

Event-triggered runs take `source`, `git_ref` and `subdirectory` from an event, so each is
treated as hostile: the subdirectory must stay inside the checkout, user values reach git
only after `--`/`--end-of-options`, and a deployment can restrict sources to an allowlist.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from tasks.core.errors import UsageError

GIT_URL = re.compile(r"^(https?://|git@|ssh://|file://).+|.+\.git$")


def is_git_url(source: str) -> bool:
    return bool(GIT_URL.match(source)) and not Path(source).is_dir()


def check_allowed(source: str, allowed: Sequence[str]) -> None:
    """With an allowlist (glob patterns), `source` must match one; a local path only when it
    is itself listed. An empty allowlist allows anything (command-line runs)."""
    if not allowed:
        return
    if not any(fnmatch.fnmatchcase(source, pattern) for pattern in allowed):
        raise UsageError(
            f"source {source!r} is not allowed by this deployment (allowed: {', '.join(allowed)})"
        )


def inside(root: Path, subdir: str | None) -> Path:
    """`root/subdir`, refusing an absolute subdirectory or one that climbs out of `root`."""
    if not subdir:
        return root
    if Path(subdir).is_absolute():
        raise UsageError(f"subdirectory {subdir!r} must be relative to the source")
    target = (root / subdir).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise UsageError(f"subdirectory {subdir!r} leaves the source")
    return target


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True)


@contextlib.contextmanager
def checkout(
    source: str,
    ref: str | None = None,
    subdir: str | None = None,
    allowed: Sequence[str] = (),
) -> Iterator[str]:
    """Yield a Cog directory for `source`; a clone is deleted afterwards."""
    check_allowed(source, allowed)
    if not is_git_url(source):
        path = Path(source).expanduser().resolve()
        if not path.is_dir():
            raise UsageError(f"model source {source!r} is neither a directory nor a git URL")
        if ref:
            raise UsageError(f"git_ref {ref!r} needs a git URL source, not a directory")
        yield str(inside(path, subdir))
        return
    if ref is not None and (not ref.strip() or ref.startswith("-")):
        raise UsageError(f"git ref {ref!r} is not a branch, tag or commit")
    tmp = tempfile.mkdtemp(prefix="cog-safe-push-src-")
    try:
        proc = _git("clone", "--quiet", "--", source, tmp)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise UsageError(f"git clone of {source} failed: {last}")
        if ref:
            # The ref comes before "--", so git reads it as a revision, never as a path; a ref
            # starting with "-" (an option in disguise) was refused above.
            proc = _git("-C", tmp, "checkout", "--quiet", "--detach", ref, "--")
            if proc.returncode != 0:
                raise UsageError(f"git ref {ref!r} not found in {source}")
        yield str(inside(Path(tmp), subdir))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
