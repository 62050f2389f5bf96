"""Push stage: the tested Cog directory becomes a new version of the model users run.

What is pushed is exactly what was tested: the directory must still have the content digest
it had when the test version was pushed, or nothing is pushed. Where the platform can, it
promotes the tested version itself (the local platform registers the tested snapshot);
Replicate rebuilds from the unchanged directory. Never cached: it happens once per run, only
after every check passed.

Then the push is confirmed (`confirm_push`): a fresh read of the model's latest version must
be the version pushed, with the tested schema (tasks.confirm). A push that "succeeded" while
the API failed, or that someone else's push overtook, is not reported as a success.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from prefect import get_run_logger, task
from prefect.states import State

from tasks.confirm import unreadable, why_unconfirmed
from tasks.core.platform_data import PlatformSpec, PushOptions
from tasks.core.results import StageFailed, StageResult
from tasks.core.run_scope import current
from tasks.platforms import get_platform
from tasks.platforms.cog_dir import digest
from tasks.stage_runner import StageRunner, stage_from_state
from tasks.staging import push
from tasks.versions import latest_version, version_schema

CONFIRM_STAGE = "confirm push"


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
    scope = current()
    with scope.critical():  # a run that must give up lets a push under way finish first
        version = get_platform(spec).promote(ref, cog_dir, options, tested.ref, tested.version)
        scope.record_push(ref, version)
    logger.info("pushed %s:%s", ref, version)
    return version


@task(name="push official model", task_run_name="push official model")
def push_official(spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions) -> str:
    """--push-official-model: the directory, pushed as it is, and nothing else."""
    scope = current()
    with scope.critical():
        version = push(spec, ref, cog_dir, options)
        scope.record_push(ref, version)
    return version


@task(name="confirm push", task_run_name="{stage_name}")
def confirm_push(
    spec: PlatformSpec,
    ref: str,
    version: str,
    tested: Tested | None,
    stage_name: str = CONFIRM_STAGE,
) -> StageResult:
    """Fail (StageFailed) unless `ref`'s latest version, read fresh after the push, is
    `version` with the interface of the `tested` version; None (an official model's push,
    which nothing tested) checks the version only. The passed stage says what was confirmed."""

    def unconfirmed(why: str) -> StageFailed:
        return StageFailed(StageResult(stage_name, "failed", why))

    tested_schema = None
    if tested is not None:
        try:  # cached by version id: the checks read it already
            tested_schema = version_schema(spec, tested.ref, tested.version)
        except Exception as exc:  # noqa: BLE001 - the platform's error is the reason
            what = f"the schema of {tested.ref}:{tested.version}"
            raise unconfirmed(unreadable(what, exc)) from None
    try:
        latest = latest_version(spec, ref)  # never cached (tasks.versions)
    except Exception as exc:  # noqa: BLE001 - it failed after its stage retries
        raise unconfirmed(unreadable(f"the latest version of {ref}", exc)) from None
    why = why_unconfirmed(ref, version, latest, tested_schema)
    if why is not None:
        raise unconfirmed(why)
    what = "with the tested schema" if tested is not None else "(schema not compared: untested)"
    get_run_logger().info("confirmed: %s:%s is the latest version %s", ref, version, what)
    return StageResult(stage_name, "passed", detail=f"{version[:12]} is the latest {what}")


@dataclass(frozen=True)
class Landed:
    """A push stage's outcome: the stage, the version it made (None: nothing was pushed) and,
    when that version could not be confirmed, the failed confirmation stage."""

    stage: StageResult
    version: str | None
    unconfirmed: StageResult | None = None


def push_confirmed(
    runner: StageRunner,
    name: str,
    push: Callable[[], State],
    confirm: Callable[[str], State],
) -> Landed:
    """Run the push stage `name` (`push` returns its task's final state), then `confirm` the
    version it made. The confirmation is a stage of the report only when it fails; a
    confirmed push says so in its own detail, so a run that passed lists the stages it did."""
    states: list[State] = []
    failed: list[StageResult] = []

    def body() -> StageResult:
        states.append(push())
        stage = stage_from_state(states[0], name)
        if stage.failed or not states[0].is_completed():
            return stage
        runner.begin(CONFIRM_STAGE)  # shown while it runs: API retries may take a while
        version = states[0].result()
        check = stage_from_state(confirm(version), CONFIRM_STAGE)
        if check.failed:
            failed.append(check)
            return replace(stage, detail=f"pushed {version[:12]}; not confirmed")
        runner.dismiss(CONFIRM_STAGE)
        return replace(stage, detail=f"confirmed: {check.detail}" if check.detail else None)

    stage = runner.run(name, body)
    if stage.failed or not states or not states[0].is_completed():
        return Landed(stage, None)
    version = states[0].result()
    unconfirmed = runner.finish(failed[0]) if failed else None
    return Landed(stage, version, unconfirmed)
