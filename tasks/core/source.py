"""Where the Cog directory comes from: a local path, or a git URL and ref cloned for the run."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tasks.core.errors import UsageError

GIT_URL = re.compile(r"^(https?://|git@|ssh://|file://).+|.+\.git$")


def is_git_url(source: str) -> bool:
    return bool(GIT_URL.match(source)) and not Path(source).is_dir()


@contextlib.contextmanager
def checkout(source: str, ref: str | None = None, subdir: str | None = None) -> Iterator[str]:
    """Yield a Cog directory for `source`; a clone is deleted afterwards."""
    if not is_git_url(source):
        path = Path(source).expanduser().resolve()
        if not path.is_dir():
            raise UsageError(f"model source {source!r} is neither a directory nor a git URL")
        yield str(path / subdir if subdir else path)
        return
    tmp = tempfile.mkdtemp(prefix="cog-safe-push-src-")
    try:
        clone = ["git", "clone", "--quiet", source, tmp]
        proc = subprocess.run(clone, capture_output=True, text=True)
        if proc.returncode != 0:
            raise UsageError(
                f"git clone of {source} failed: {proc.stderr.strip().splitlines()[-1:]}"
            )
        if ref:
            proc = subprocess.run(
                ["git", "-C", tmp, "checkout", "--quiet", ref], capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise UsageError(f"git ref {ref!r} not found in {source}")
        yield str(Path(tmp) / subdir if subdir else Path(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
