"""Running predictions/trainings as Prefect tasks, and the verdicts on their outcomes.

Caching: a prediction whose inputs carry a seed is deterministic, so its result is cached by
(platform, model, version, inputs): a rerun after a fix does not pay for it again. Timeouts and
cancellations are raised rather than returned, so a failed state is never cached.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import get_run_logger, task

from tasks import abort
from tasks.openapi import schema_hash
from tasks.platforms import PlatformSpec, RunResult, get_platform
from tasks.retry import retry_condition


class RunNotCompleted(Exception):
    """A run that timed out or was canceled: reported, never cached, never retried."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"{result.status}: {result.error or ''}".strip())
        self.result = result


def is_deterministic(inputs: dict[str, Any]) -> bool:
    return inputs.get("seed") is not None


def _prediction_cache_key(context: Any, parameters: dict[str, Any]) -> str | None:
    inputs = parameters["inputs"]
    if parameters.get("destination") or not is_deterministic(inputs):
        return None
    spec: PlatformSpec = parameters["spec"]
    where = spec.base_url or spec.registry or spec.kind
    return "prediction-" + schema_hash(
        [spec.kind, where, parameters["ref"], parameters["version_id"], inputs]
    )


@task(
    name="run-model",
    retries=3,
    retry_delay_seconds=[1, 4, 10],
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_condition,
    cache_key_fn=_prediction_cache_key,
    persist_result=True,
)
def run_model(
    spec: PlatformSpec,
    ref: str,
    version_id: str,
    inputs: dict[str, Any],
    timeout: float,
    destination: str | None = None,
    stop_on_failure: bool = False,
) -> RunResult:
    """One prediction (or, with a destination, one training) on the platform.

    With `stop_on_failure` (--fail-fast), a run that fails outright stops the whole run from
    here, in the worker, so no queued prediction starts while the flow catches up.
    """
    if abort.stopped():
        raise RunNotCompleted(
            RunResult(id="", status="canceled", error=f"not started: {abort.reason()}")
        )
    platform = get_platform(spec)
    if destination:
        result = platform.train(ref, version_id, destination, inputs, timeout)
    else:
        result = platform.predict(ref, version_id, inputs, timeout)
    if spec.verbosity >= 2:
        get_run_logger().info(
            "%s %s in %.1fs%s",
            result.id or "run",
            result.status,
            result.seconds,
            f"; logs:\n{result.logs[-4000:]}" if result.logs else "",
        )
    if stop_on_failure and not run_verdict(result, timeout)[0] and not abort.stopped():
        abort.request_stop(f"--fail-fast after a failed prediction ({result.url or result.id})")
        platform.cancel_all()
    if result.status in ("timeout", "canceled"):
        raise RunNotCompleted(result)
    return result


def outcome(future: Any) -> RunResult:
    """The RunResult behind a finished run_model future, whatever its final state."""
    started = time.monotonic()
    try:
        return future.result()
    except RunNotCompleted as exc:
        return exc.result
    except Exception as exc:  # noqa: BLE001 - an unexpected error is a failed run, reported
        return RunResult(
            id="",
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            seconds=time.monotonic() - started,
        )


def is_empty(output: Any) -> bool:
    return output is None or output == "" or output == [] or output == {}


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
