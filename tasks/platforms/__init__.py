"""Platforms: where models live. `get_platform(spec)` returns the run's instance for a spec.

Kinds are looked up in a table (`register_platform` adds one: the tests' in-memory fake is
one), so no stage or flow ever branches on a platform's kind.

One instance per run and spec matters: the local platform keeps one Cog server per version
alive across tasks, and the Replicate platform tracks in-flight predictions so that an early
exit can cancel them. Instances belong to the run's scope (tasks.core.run_scope) and close
with it, so two runs in one process never cancel or close each other's work; outside a run
there is no platform to get.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tasks.core.errors import UsageError
from tasks.core.home import tool_home
from tasks.core.platform_data import PlatformSpec
from tasks.core.run_scope import current_run
from tasks.platforms.base import Platform

__all__ = [
    "Platform",
    "default_registry",
    "get_platform",
    "platform_reason",
    "register_platform",
    "resolve_spec",
]

Factory = Callable[[PlatformSpec], Platform]


def _local(spec: PlatformSpec) -> Platform:
    from tasks.platforms.local.platform import LocalPlatform

    return LocalPlatform(spec)


def _replicate(spec: PlatformSpec) -> Platform:
    from tasks.platforms.replicate.platform import ReplicatePlatform

    return ReplicatePlatform(spec)


# kind -> how to open it (imported on first use: the local platform's imports are heavy)
_FACTORIES: dict[str, Factory] = {"local": _local, "replicate": _replicate}


def register_platform(kind: str, factory: Factory) -> None:
    """Make `kind` a platform: `factory(spec)` opens it for a run."""
    _FACTORIES[kind] = factory


def default_registry() -> str:
    """The local registry lives in the tool's home (COG_SAFE_PUSH_HOME or ~/.cache)."""
    return str(tool_home())


def resolve_spec(
    kind: str | None,
    *,
    python: str | None = None,
    verbosity: int = 0,
) -> PlatformSpec:
    """Choose the platform: explicit kind, else replicate when a token is set, else local.

    Not in CI, though: there a missing or misnamed token secret would turn a release job
    into a green local "push" that never reached Replicate, so the choice must be explicit.
    """
    if kind is None:
        token = os.environ.get("REPLICATE_API_TOKEN", "").strip()
        if not token and in_ci():
            raise UsageError(
                "CI is set but REPLICATE_API_TOKEN is empty or missing, so nothing would reach "
                "Replicate. Set REPLICATE_API_TOKEN from your CI secrets, or pass "
                "--platform local to test on this machine"
            )
        kind = "replicate" if token else "local"
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
    if kind in _FACTORIES:
        return PlatformSpec(kind=kind, verbosity=verbosity)
    raise ValueError(f"unknown platform {kind!r}")


def in_ci() -> bool:
    """True in a CI job: GitHub Actions, GitLab, CircleCI, Buildkite and most others set CI."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def platform_reason(spec: PlatformSpec, explicit: bool) -> str:
    """Which platform a run uses and why, in the words of its first line."""
    if explicit:
        return f"platform {spec.kind} (--platform)"
    if spec.kind == "replicate":
        return "platform replicate (REPLICATE_API_TOKEN is set)"
    return f"platform local (no REPLICATE_API_TOKEN; registry {spec.registry})"


def _open(spec: PlatformSpec) -> Platform:
    factory = _FACTORIES.get(spec.kind)
    if factory is None:
        raise ValueError(f"unknown platform {spec.kind!r}; known: {', '.join(sorted(_FACTORIES))}")
    return factory(spec)


def get_platform(spec: PlatformSpec) -> Platform:
    """The current run's instance for `spec`, opened on first use and closed with the run."""
    return current_run().resource(("platform", spec), lambda: _open(spec))
