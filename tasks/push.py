"""Push stage: the tested Cog directory becomes a new version of the model users run.

What is pushed is exactly what was tested: the directory must still have the content digest
it had when the test version was pushed, or nothing is pushed. Where the platform can, it
promotes the tested version itself (the local platform registers the tested snapshot);
Replicate rebuilds from the unchanged directory. Never cached: it happens once per run, only
after every check passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import get_run_logger, task

from tasks.core.platform_data import PlatformSpec, PushOptions
from tasks.core.results import StageFailed, StageResult
from tasks.platforms import get_platform
from tasks.platforms.cog_dir import digest
from tasks.staging import push


@dataclass(frozen=True)
class Tested:
    """The version the checks ran on and the content digest of the directory it came from."""

    ref: str
    version: str
    content_digest: str


@task(name="push model", task_run_name="{stage_name}")
def push_version(
    spec: PlatformSpec,
    ref: str,
    cog_dir: str,
    options: PushOptions,
    tested: Tested,
    stage_name: str = "push",
) -> str:
    now = digest(cog_dir)
    if now != tested.content_digest:
        raise StageFailed(
            StageResult(
                stage_name,
                "failed",
                f"the Cog directory changed since it was tested (digest {tested.content_digest[:12]}"
                f" when {tested.ref}:{tested.version[:12]} was pushed, {now[:12]} now); "
                "nothing pushed",
            )
        )
    logger = get_run_logger()
    logger.info("pushing the tested %s:%s to %s", tested.ref, tested.version[:12], ref)
    version = get_platform(spec).promote(ref, cog_dir, options, tested.ref, tested.version)
    logger.info("pushed %s:%s", ref, version)
    return version


@task(name="push official model", task_run_name="push official model")
def push_official(spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions) -> str:
    """--push-official-model: the directory, pushed as it is, and nothing else."""
    return push(spec, ref, cog_dir, options)
