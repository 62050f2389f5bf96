"""Platforms: where models live. `get_platform(spec)` returns the run's instance for a spec.

One instance per run and spec matters: the local platform keeps one Cog server per version
alive across tasks, and the Replicate platform tracks in-flight predictions so that an early
exit can cancel them. Instances belong to the run's scope (tasks.core.run_scope), so two runs
in one process never cancel or close each other's work.
"""

from __future__ import annotations

import os

from tasks.core.home import tool_home
from tasks.core.platform_data import PlatformSpec
from tasks.core.run_scope import current
from tasks.platforms.base import Platform

__all__ = [
    "Platform",
    "cancel_inflight",
    "close_all",
    "default_registry",
    "get_platform",
    "platform_reason",
    "resolve_spec",
]


def default_registry() -> str:
    """The local registry lives in the tool's home (COG_SAFE_PUSH_HOME or ~/.cache)."""
    return str(tool_home())


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


def platform_reason(spec: PlatformSpec, explicit: bool) -> str:
    """Which platform a run uses and why, in the words of its first line."""
    if explicit:
        return f"platform {spec.kind} (--platform)"
    if spec.kind == "replicate":
        return "platform replicate (REPLICATE_API_TOKEN is set)"
    return f"platform local (no REPLICATE_API_TOKEN; registry {spec.registry})"


def _open(spec: PlatformSpec) -> Platform:
    if spec.kind == "local":
        from tasks.platforms.local.platform import LocalPlatform

        return LocalPlatform(spec)
    if spec.kind == "replicate":
        from tasks.platforms.replicate.platform import ReplicatePlatform

        return ReplicatePlatform(spec)
    raise ValueError(f"unknown platform {spec.kind!r}")


def get_platform(spec: PlatformSpec) -> Platform:
    """The current run's instance for `spec`, opened on first use."""
    return current().resource(("platform", spec), lambda: _open(spec))


def cancel_inflight() -> None:
    """Cancel every run in flight on the current run's platforms, keeping them open."""
    current().cancel_inflight()


def close_all() -> None:
    """Cancel in-flight runs and release every platform the current run opened."""
    current().close()
