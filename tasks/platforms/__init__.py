"""Platforms: where models live. `get_platform(spec)` returns one shared instance per spec.

One instance per process and spec matters: the local platform keeps one Cog server per
version alive across tasks, and the Replicate platform tracks in-flight predictions so that
an early exit can cancel them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from tasks.platforms.base import (
    DeploymentSpec,
    ModelInfo,
    Platform,
    PlatformSpec,
    PushOptions,
    RunResult,
    VersionInfo,
)

__all__ = [
    "DeploymentSpec",
    "ModelInfo",
    "Platform",
    "PlatformSpec",
    "PushOptions",
    "RunResult",
    "VersionInfo",
    "cancel_inflight",
    "close_all",
    "default_registry",
    "get_platform",
    "resolve_spec",
]

_instances: dict[PlatformSpec, Platform] = {}
_lock = threading.Lock()


def default_registry() -> str:
    """COG_SAFE_PUSH_HOME, else the user's cache directory."""
    home = os.environ.get("COG_SAFE_PUSH_HOME")
    if home:
        return str(Path(home).expanduser().resolve())
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(cache) / "cog-safe-push")


def resolve_spec(
    kind: str | None,
    *,
    python: str | None = None,
    verbosity: int = 0,
) -> PlatformSpec:
    """Choose the platform: explicit kind, else replicate when a token is set, else local."""
    if kind is None:
        kind = "replicate" if os.environ.get("REPLICATE_API_TOKEN") else "local"
    if kind == "replicate":
        return PlatformSpec(
            kind="replicate",
            base_url=os.environ.get("REPLICATE_BASE_URL") or None,
            verbosity=verbosity,
        )
    if kind == "local":
        return PlatformSpec(
            kind="local", registry=default_registry(), python=python, verbosity=verbosity
        )
    raise ValueError(f"unknown platform {kind!r}")


def get_platform(spec: PlatformSpec) -> Platform:
    with _lock:
        platform = _instances.get(spec)
        if platform is None:
            if spec.kind == "local":
                from tasks.platforms.local import LocalPlatform

                platform = LocalPlatform(spec)
            elif spec.kind == "replicate":
                from tasks.platforms.replicate import ReplicatePlatform

                platform = ReplicatePlatform(spec)
            else:
                raise ValueError(f"unknown platform {spec.kind!r}")
            _instances[spec] = platform
        return platform


def cancel_inflight() -> None:
    """Cancel every run in flight on every open platform, keeping the platforms open
    (safe from a signal handler's helper thread; the flow then winds down on its own)."""
    with _lock:
        platforms = list(_instances.values())
    for platform in platforms:
        platform.cancel_all()


def close_all() -> None:
    """Cancel in-flight runs and release every platform this process opened."""
    with _lock:
        platforms = list(_instances.values())
        _instances.clear()
    for platform in platforms:
        try:
            platform.cancel_all()
        finally:
            platform.close()
