"""Where the tool keeps what outlives a run: the local registry, downloaded outputs and the
managed Prefect server's state and database. One directory, so one variable moves it all."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "COG_SAFE_PUSH_HOME"


def tool_home() -> Path:
    """COG_SAFE_PUSH_HOME, else `$XDG_CACHE_HOME/cog-safe-push` (default ~/.cache)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser().resolve() / "cog-safe-push"
