"""The prediction stage: one prediction (or training) and the verdict on it, as one task run.

Each run of `predict` is named for what it is ("fuzz 7", "test case 2 (exact_string)",
"compare: live") and ends Failed when its verdict is a failure, so the Prefect UI shows which
predictions broke. The record travels either as the return value or inside the
PredictionFailed exception, so the flow reports every failure however the run ended.

Caching: a prediction whose inputs carry a seed is deterministic, so its passing record is
cached by (platform, model, version, inputs, judge); a rerun after a fix does not pay for it
again. Failed, timed-out and canceled runs are never cached (only Completed task runs are),
and neither are expected-error cases, trainings or unseeded predictions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from prefect import get_run_logger, task
from prefect.runtime import task_run
from prefect.states import Cancelled
from prefect.utilities.urls import url_for

from tasks.ai.client import AIError, make_ai
from tasks.core.errors import SafePushError
from tasks.core.platform_data import PlatformSpec, RunResult
from tasks.core.results import PredictionFailed, PredictionRecord
from tasks.core.run_scope import current
from tasks.outputs.checkers import check_output
from tasks.outputs.files import content_keyed
from tasks.platforms import get_platform
from tasks.policies import KeyedBy, where

JudgeKind = Literal["run", "fuzz", "case"]
CACHE_EXPIRATION = timedelta(days=7)


@dataclass(frozen=True)
class Judge:
    """How a prediction is judged: "run" (must succeed: one side of a comparison), "fuzz"
    (must succeed with a non-empty output) or "case" (the test case's checker)."""

    kind: JudgeKind
    case: dict[str, Any] = field(default_factory=dict)
    ai_model: str | None = None

    @property
    def expects_error(self) -> bool:
        return self.kind == "case" and self.case.get("error_contains") is not None


def is_deterministic(inputs: dict[str, Any]) -> bool:
    return inputs.get("seed") is not None


def _cache_material(parameters: dict[str, Any]) -> Any:
    """What decides a seeded prediction's record: the version, the inputs (files by their
    content, so a changed file is a new prediction), and how it is judged. None (never
    cached) for trainings, expected-error cases, unseeded inputs, or unreadable files."""
    judge: Judge = parameters["judge"]
    inputs = parameters["inputs"]
    if parameters.get("destination") or judge.expects_error or not is_deterministic(inputs):
        return None
    try:
        keyed_inputs = content_keyed(inputs)
    except SafePushError:
        return None
    spec: PlatformSpec = parameters["spec"]
    return [
        *where(spec),
        parameters["ref"],
        parameters["version_id"],
        keyed_inputs,
        judge.kind,
        judge.case,
        judge.ai_model if judge.case.get("match_prompt") else None,
    ]


def is_empty(output: Any) -> bool:
    return output is None or output == "" or output == [] or output == {}


def empty_input(inputs: dict[str, Any]) -> bool:
    """Every text, list and object input is empty: then an empty output may be right."""
    sized = [v for v in inputs.values() if isinstance(v, str | list | dict)]
    return bool(sized) and all(is_empty(v) for v in sized)


def run_verdict(result: RunResult, timeout: float) -> tuple[bool, str]:
    """The seed tool's fuzz verdict: an error, a timeout or an empty output fails."""
    if result.status == "timeout":
        return False, f"timed out after {timeout:g}s"
    if result.status == "canceled":
        return False, result.error or "canceled"
    if result.status != "succeeded":
        return False, f"error: {result.error or 'no error message'}"
    if is_empty(result.output):
        return False, "empty output"
    return True, ""


def judge_result(
    judge: Judge, result: RunResult, timeout: float, inputs: dict[str, Any] | None = None
) -> tuple[str, str]:
    """(verdict, message) for a finished run: passed, failed or unverified."""
    if judge.kind == "fuzz":
        ok, why = run_verdict(result, timeout)
        if not ok and why == "empty output" and empty_input(inputs):
            return "unverified", "empty output for an empty input (may be right)"
        return ("passed", "") if ok else ("failed", why)
    if judge.kind == "run":
        ok, why = run_verdict(result, timeout)
        if ok or (result.status == "succeeded" and why == "empty output"):
            return "passed", ""
        return "failed", why
    try:
        verdict = check_output(judge.case, result, ai=make_ai(judge.ai_model))
    except AIError as exc:  # the AI could not decide after its own retries: not a pass
        return "failed", f"checker error: {exc}"
    if verdict.unverified:
        return "unverified", verdict.message
    return ("passed" if verdict.passed else "failed"), verdict.message


def browsable_url(url: str | None) -> str | None:
    """A link a browser can open: the platform's page for the run (Replicate), else this task
    run's page in the Prefect UI (a local run's record is a file on the runner)."""
    if url and url.startswith(("http://", "https://")):
        return url
    return url_for("task-run", obj_id=task_run.id) if task_run.id else None


def _record(stage: str, label: str, inputs: dict[str, Any], result: RunResult) -> PredictionRecord:
    return PredictionRecord(
        stage=stage,
        label=label,
        inputs=inputs,
        verdict="passed",
        status=result.status,
        seconds=result.seconds,
        id=result.id or None,
        url=browsable_url(result.url),
        output=result.output,
        remote_output=result.remote_output,
        error=result.error,
        logs=result.logs,
    )


@task(
    name="prediction",
    task_run_name="{label}",
    cache_policy=KeyedBy(material=_cache_material, prefix="prediction"),
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
)
def predict(
    spec: PlatformSpec,
    ref: str,
    version_id: str,
    inputs: dict[str, Any],
    timeout: float,
    judge: Judge,
    *,
    stage: str,
    label: str,
    destination: str | None = None,
    fail_fast: bool = False,
) -> PredictionRecord:
    """Run one prediction (with `destination`: one training) and judge it.

    With `fail_fast`, a failed verdict stops the whole run from here, in the worker, so no
    queued prediction starts while the flow catches up.
    """
    scope = current()
    if scope.stopped():
        skipped = PredictionRecord(stage, label, inputs, "skipped", "canceled")
        skipped.message = f"not started: {scope.reason}"
        return Cancelled(message=skipped.message, data=skipped)  # type: ignore[return-value]
    platform = get_platform(spec)
    started = time.monotonic()
    if destination:
        result = platform.train(ref, version_id, destination, inputs, timeout)
    else:
        result = platform.predict(ref, version_id, inputs, timeout)
    record = _record(stage, label, inputs, result)
    if result.status == "canceled" and scope.stopped():
        record.verdict, record.message = "skipped", f"canceled: {scope.reason}"
        scope.observer.prediction_done(stage, True)
        return Cancelled(message=record.message, data=record)  # type: ignore[return-value]
    record.verdict, record.message = judge_result(judge, result, timeout, inputs)  # type: ignore[assignment]
    if spec.verbosity >= 2:
        get_run_logger().info(
            "%s: %s %s in %.1fs%s",
            label,
            result.id or "run",
            result.status,
            time.monotonic() - started,
            f"; logs:\n{result.logs[-4000:]}" if result.logs else "",
        )
    failed = record.verdict == "failed"
    scope.observer.prediction_done(stage, not failed)
    if failed:
        if fail_fast and not scope.stopped():
            scope.request_stop(f"--fail-fast after {label} failed")
            scope.cancel_inflight()
        raise PredictionFailed(record)
    return record
