"""Staging stage: the private `<model>-test` exists and holds the Cog directory as its latest
version, ready for every check.

Pushing the test model is cached by (platform, test model, digest of the Cog directory, push
options, build key): a rerun with an unchanged directory does not push again, as long as that
version is still the test model's latest (checked here; it pushes again when it is not). The
build key covers what changes a build besides the directory's content: the builder's version
(the `cog` CLI, or the local Cog runtime) and the files cog.yaml names, even ones
.dockerignore hides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import get_run_logger, task

from tasks.core.job import Job
from tasks.core.openapi import schema_hash
from tasks.core.platform_data import PlatformSpec, PushOptions
from tasks.core.results import StageResult
from tasks.platforms import get_platform
from tasks.platforms.cog_dir import build_inputs, digest
from tasks.policies import KeyedBy, where
from tasks.retrying import retrying_task
from tasks.versions import latest_version


@retrying_task(name="ensure model", task_run_name="ensure model {ref}")
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
    return [
        *where(spec),
        parameters["ref"],
        parameters["content_digest"],
        vars(options),
        parameters["build"],
    ]


@task(
    name="push test model",
    task_run_name="push test model",
    cache_policy=KeyedBy(material=_push_material),
    persist_result=True,
)
def push_test_version(
    spec: PlatformSpec,
    ref: str,
    cog_dir: str,
    options: PushOptions,
    content_digest: str,
    build: str = "",
) -> str:
    """`content_digest` (the directory's digest, tasks.platforms.cog_dir) and `build` (see
    `build_key`) are the cache key."""
    return push(spec, ref, cog_dir, options)


@task(name="environment check", task_run_name="environment check")
def environment_check(spec: PlatformSpec, cog_dir: str) -> list[str]:
    """Warnings, not failures: a model may well run on a near-enough interpreter."""
    return get_platform(spec).environment_warnings(cog_dir)


@dataclass(frozen=True)
class Staged:
    """The stage, and on success the test version and the content digest it was pushed
    from: the final push checks that the directory still has this digest."""

    stage: StageResult
    version: str | None = None
    content_digest: str | None = None


STAGE = "push test model"


def content_digest(job: Job) -> str:
    """The digest of the Cog directory as a push would send it (tasks.platforms.cog_dir)."""
    return digest(job.cog_dir)


def build_key(job: Job) -> str:
    """What changes a build besides the directory's content: the builder and its version,
    and the files cog.yaml names (tasks.platforms.cog_dir.build_inputs)."""
    return schema_hash(
        {
            "builder": get_platform(job.spec).builder(),
            "inputs": build_inputs(job.cog_dir, job.config.push_options().dockerfile),
        }
    )


def push_test_model(job: Job, tested: str, build: str = "") -> Staged:
    """Ensure the test model exists and holds the working directory, whose content digest
    (`content_digest`) and build key (`build_key`) the caller took, as its latest version."""
    spec, ref = job.spec, job.test_model
    options = job.config.push_options()
    pusher = push_test_version.with_options(refresh_cache=True) if job.options.refresh else None
    try:
        ensure_model(spec, ref, job.config.test_hardware)
        state = (pusher or push_test_version)(
            spec, ref, job.cog_dir, options, tested, build, return_state=True
        )
        version = state.result()
        reused = state.name == "Cached"
        latest = latest_version(spec, ref)
        if (latest is None or latest.id != version) and reused:
            reused = False
            get_run_logger().info(
                "cached test version %s is no longer the latest; pushing again", version
            )
            version = push_test_version.with_options(refresh_cache=True)(
                spec, ref, job.cog_dir, options, tested, build
            )
            latest = latest_version(spec, ref)
        if latest is None or latest.id != version:
            latest_id = latest.id if latest else "none"
            raise RuntimeError(
                f"pushed version {version} but the latest version of {ref} is {latest_id}"
            )
    except Exception as exc:  # noqa: BLE001 - a failed push is a failed stage, reported
        return Staged(StageResult(STAGE, "failed", str(exc)))
    stage = StageResult(
        STAGE, "passed", detail=f"{'reused cached' if reused else 'pushed'} version {version[:12]}"
    )
    stage = stage.warned(environment_check(spec, job.cog_dir))
    return Staged(stage, version, tested)
