"""Test model stage: the private `<model>-test` exists and holds the Cog directory as a version.

Pushing the test model is cached by (platform, test model, digest of the Cog directory, push
options): a rerun with an unchanged directory does not push again, as long as that version is
still the test model's latest (the flow checks that, and pushes again when it is not).
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from tasks.core.platform_data import PlatformSpec, PushOptions
from tasks.platforms import get_platform
from tasks.policies import KeyedBy, where


@task(name="ensure model", task_run_name="ensure model {ref}")
def ensure_model(spec: PlatformSpec, ref: str, hardware: str | None) -> bool:
    """Create `ref` (private) if it is missing; True when it was created."""
    platform = get_platform(spec)
    if platform.get_model(ref) is not None:
        return False
    platform.create_model(ref, hardware or "cpu", private=True)
    get_run_logger().info("created model %s (private, hardware %s)", ref, hardware or "cpu")
    return True


def push(spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions) -> str:
    """Push the Cog directory to `ref` and return the new version id (logged both ways)."""
    logger = get_run_logger()
    logger.info("pushing %s to %s", cog_dir, ref)
    version = get_platform(spec).push(ref, cog_dir, options)
    logger.info("pushed %s:%s", ref, version)
    return version


def _push_material(parameters: dict[str, Any]) -> list[Any]:
    spec: PlatformSpec = parameters["spec"]
    options = parameters["options"]
    return [*where(spec), parameters["ref"], parameters["content_digest"], vars(options)]


@task(
    name="push test model",
    task_run_name="push test model",
    cache_policy=KeyedBy(material=_push_material),
    persist_result=True,
)
def push_test_version(
    spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions, content_digest: str
) -> str:
    """`content_digest` is the directory's digest (tasks.platforms.cog_dir), the cache key."""
    return push(spec, ref, cog_dir, options)


@task(name="environment check", task_run_name="environment check")
def environment_check(spec: PlatformSpec, cog_dir: str) -> list[str]:
    """Warnings, not failures: a model may well run on a near-enough interpreter."""
    return get_platform(spec).environment_warnings(cog_dir)
