"""Preflight stage: every problem with the run's input, found before any side effect.

Safe to repeat (it only reads): a transient failure of the platform (a 503 on the account or
model check) is retried by Prefect, never reported as a problem with the input."""

from __future__ import annotations

from tasks.core.errors import SafePushError
from tasks.core.job import Job
from tasks.core.results import StageFailed, StageResult
from tasks.core.retry import is_transient
from tasks.core.usage_checks import local_problems
from tasks.platforms import get_platform
from tasks.platforms.cog_dir import link_problems
from tasks.retrying import retrying_task


def platform_problems(job: Job) -> list[str]:
    """Problems only the platform can reveal: credentials, missing models."""
    platform = get_platform(job.spec)
    try:
        platform.check_credentials()
    except SafePushError as exc:
        if is_transient(exc):
            raise  # not a problem with the input: Prefect retries the stage
        return [str(exc)]
    problems: list[str] = []
    checks_model = not platform.creates_models and not job.options.official_push
    if checks_model and platform.get_model(job.model) is None:
        problems.append(f"model {job.model} does not exist on {job.spec.kind}: create it first")
    return problems


@retrying_task(name="preflight", task_run_name="preflight")
def preflight(job: Job) -> StageResult:
    problems = (local_problems(job) + link_problems(job.cog_dir)) or platform_problems(job)
    if problems:
        raise StageFailed(StageResult("preflight", "failed", "; ".join(problems)))
    return StageResult("preflight", "passed")
