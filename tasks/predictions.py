"""The prediction stage: one prediction (or training) and the verdict on it, as one task run.

Each run of `predict` is named for what it is ("fuzz 7", "test case 2 (exact_string)",
"compare: live") and ends Failed when its verdict is a failure, so the Prefect UI shows which
predictions broke. The record travels either as the return value or inside the
PredictionFailed exception, so the flow reports every failure however the run ended. The
verdict itself is pure logic (tasks.outputs.verdict).

Caching: a prediction whose inputs carry a seed is cached by (platform, model, version,
inputs, judge) when it passed; a rerun after a fix does not pay for it again. So is a live
run without a seed, replayed only once live was seen to repeat itself on those inputs
(tasks.repeatable). Failed,
timed-out and canceled runs are never cached (only Completed task runs are), and neither are
expected-error cases, trainings, unseeded predictions or repeat runs (`fresh`).

Bounded storage: Prefect keeps this task's results (cache entries, and the PredictionFailed
of a failed run) through `BoundedPickle`, which stores each record as
tasks.outputs.bounded.stored_record keeps it: an output over OUTPUT_LIMIT becomes its cut
marker. A cut output could no longer be compared exactly, so a run whose output is over the
limit is never cached (`_keep_out_of_cache`): a rerun runs it again, and every comparison
sees whole outputs. The record this task returns in memory keeps the whole output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from prefect import get_run_logger, task, unmapped
from prefect.futures import PrefectFuture
from prefect.runtime import task_run
from prefect.serializers import PickleSerializer
from prefect.states import Cancelled
from prefect.transactions import get_transaction
from prefect.utilities.urls import url_for
from pydantic import Field

from tasks.core.bounded import fits
from tasks.core.budget import budget_slot
from tasks.core.config import ModeView
from tasks.core.errors import SafePushError, machine_fault
from tasks.core.job import Job
from tasks.core.platform_data import PlatformSpec, RunResult
from tasks.core.results import PredictionFailed, PredictionRecord
from tasks.core.run_scope import current
from tasks.fuzz.compare_inputs import payload_key
from tasks.outputs.bounded import stored_record
from tasks.outputs.files import content_keyed
from tasks.outputs.trained import trained_version
from tasks.outputs.verdict import Judge, judge_result
from tasks.platforms import get_platform
from tasks.policies import KeyedBy, where

CACHE_EXPIRATION = timedelta(days=7)


def has_seed(inputs: dict[str, Any]) -> bool:
    return inputs.get("seed") is not None


def _cache_material(parameters: dict[str, Any]) -> Any:
    """What decides a seeded prediction's record: the version, the inputs (files by their
    content, so a changed file is a new prediction), and how it is judged. None (never
    cached) for trainings, expected-error cases, unseeded inputs, fresh runs (a second run
    asked for to see whether the model repeats itself), or unreadable files."""
    judge: Judge = parameters["judge"]
    inputs = parameters["inputs"]
    if parameters.get("fresh") or parameters.get("destination"):
        return None
    if judge.expects_error or not (has_seed(inputs) or parameters.get("keep")):
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
        judge.ai_provider if judge.case.get("match_prompt") else None,
    ]


def stored(value: Any) -> Any:
    """What Prefect's result storage keeps of a `predict` result: a record (or the record a
    PredictionFailed carries) with its outputs bounded; anything else as it is."""
    if isinstance(value, PredictionRecord):
        return stored_record(value)
    if isinstance(value, PredictionFailed):
        return PredictionFailed(stored_record(value.record))
    return value


class BoundedPickle(PickleSerializer):
    """Prefect's pickle serializer, over `stored(obj)`: a persisted prediction never holds
    more than OUTPUT_LIMIT bytes of any output (nor a 50 MB pickle of one)."""

    type: str = Field(default="cog-safe-push-bounded-pickle", frozen=True)

    def dumps(self, obj: Any) -> bytes:
        return super().dumps(stored(obj))


def _keep_out_of_cache(result: RunResult) -> None:
    """An output over the limit would be cached cut, and a cut output cannot be compared
    exactly: this run's result is not written to the cache at all. Nor is a run the
    infrastructure ended: a rerun must run it, not replay the interruption."""
    if (
        not result.infra
        and fits(result.output)
        and (result.remote_output is result.output or fits(result.remote_output))
    ):
        return
    transaction = get_transaction()
    if transaction is not None:
        transaction.write_on_commit = False


def browsable_url(url: str | None) -> str | None:
    """A link a browser can open: the platform's page for the run (Replicate), else this task
    run's page in the Prefect UI (a local run's record is a file on the runner)."""
    if url and url.startswith(("http://", "https://")):
        return url
    return url_for("task-run", obj_id=task_run.id) if task_run.id else None


def _record(
    stage: str,
    label: str,
    inputs: dict[str, Any],
    result: RunResult,
    version: str,
    destination: str | None = None,
) -> PredictionRecord:
    """The run's record; a training's names the version it produced (tasks.outputs.trained)."""
    return PredictionRecord(
        stage=stage,
        label=label,
        inputs=inputs,
        verdict="passed",
        status=result.status,
        seconds=result.seconds,
        id=result.id or None,
        url=browsable_url(result.url),
        version=version,
        output=result.output,
        remote_output=result.remote_output,
        error=result.error,
        logs=result.logs,
        predict_seconds=result.predict_seconds,
        trained_version=trained_version(result, destination) if destination else None,
    )


def _attempt(result: RunResult) -> dict[str, Any]:
    """An earlier run for the report: where it is, and how it ended."""
    error = (result.error or "").splitlines()[0][:300] if result.error else None
    return {"id": result.id, "url": result.url, "status": result.status, "error": error}


@task(
    name="prediction",
    task_run_name="{label}",
    cache_policy=KeyedBy(material=_cache_material, prefix="prediction"),
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
    result_serializer=BoundedPickle(),
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
    fresh: bool = False,
    keep: bool = False,
) -> PredictionRecord:
    """Run one prediction (with `destination`: one training) and judge it.

    With `fail_fast`, a failed verdict stops the whole run from here, in the worker, so no
    queued prediction starts while the flow catches up. `fresh` only keeps it out of the
    cache (see _cache_material); `keep` caches it even without a seed (a live run, replayed
    once live is seen to repeat itself: tasks.repeatable).
    """
    scope = current()
    if scope.stopped():
        skipped = PredictionRecord(stage, label, inputs, "skipped", "canceled")
        skipped = skipped.with_verdict("skipped", f"not started: {scope.reason}")
        return Cancelled(message=skipped.message, data=skipped)  # type: ignore[return-value]
    platform = get_platform(spec)
    started = time.monotonic()

    def run_once() -> RunResult:
        try:
            with budget_slot():  # the invocation's shared --parallel budget (variants)
                if destination:
                    return platform.train(ref, version_id, destination, inputs, timeout)
                return platform.predict(ref, version_id, inputs, timeout)
        except OSError as exc:
            fault = machine_fault(exc)
            if fault is not None:  # not the model's failure: the run stops, aborted
                scope.note_fault(fault)
            raise

    result = run_once()
    earlier: list[dict[str, Any]] = []
    if result.infra and not scope.stopped():
        # Ended by the infrastructure, not the model: one new run of the same inputs (a
        # model's own error is never run again; a second interruption is the verdict).
        get_run_logger().warning(
            "%s: %s ended for a reason outside the model (%s); running it once more",
            label,
            result.id or "the run",
            (result.error or result.status).splitlines()[0][:200],
        )
        earlier.append(_attempt(result))
        result = run_once()
    _keep_out_of_cache(result)
    record = _record(stage, label, inputs, result, version_id, destination)
    if earlier:
        record = replace(record, attempts=tuple(earlier))
    if result.status == "canceled" and scope.stopped():
        record = record.with_verdict("skipped", f"canceled: {scope.reason}")
        scope.observer.prediction_done(stage, True)
        return Cancelled(message=record.message, data=record)  # type: ignore[return-value]
    verdict, message = judge_result(judge, result, timeout, inputs)
    record = record.with_verdict(verdict, message)
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


def record_from_future(
    future: PrefectFuture, stage: str, label: str, inputs: dict[str, Any]
) -> PredictionRecord:
    """The record of a finished prediction task, whatever its final state."""
    future.wait()
    value = future.state.result(raise_on_failure=False)
    if isinstance(value, PredictionRecord):
        return value
    if isinstance(value, PredictionFailed):
        return value.record
    return PredictionRecord(
        stage, label, inputs, "failed", "error", message=f"{type(value).__name__}: {value}"
    )


@dataclass(frozen=True)
class Predictions:
    """How one mode of a job submits predictions to the shared pool of `parallel` workers:
    its timeout, its destination (trainings), fail-fast and --refresh applied once."""

    job: Job
    view: ModeView

    def _with_ai(self, judge: Judge) -> Judge:
        """A test case's judge with the run's AI provider: resolved once per job
        (tasks.core.ai_provider), and so part of a cached verdict's key."""
        if judge.kind != "case" or judge.ai_provider is not None:
            return judge
        return replace(judge, ai_provider=self.job.ai_provider)

    def _task(self, replay: bool = True) -> Any:
        if self.job.options.refresh or not replay:
            return predict.with_options(refresh_cache=True)
        return predict

    def submit(
        self,
        ref: str,
        version: str,
        inputs: dict[str, Any],
        judge: Judge,
        stage: str,
        label: str,
        *,
        fresh: bool = False,
        stops_run: bool = True,
        keep: bool = False,
        replay: bool = True,
    ) -> PrefectFuture:
        """`stops_run` False: under --fail-fast this run's failure does not stop the run (a
        live version's run: its failure is evidence, not a failed check). `keep`: cache the
        result even without a seed; `replay` False: run anew (and cache) even if cached."""
        return self._task(replay).submit(
            self.job.spec,
            ref,
            version,
            inputs,
            self.view.timeout,
            self._with_ai(judge),
            stage=stage,
            label=label,
            destination=self.view.destination,
            fail_fast=self.job.options.fail_fast and stops_run,
            fresh=fresh,
            keep=keep,
        )

    def map(
        self,
        ref: str,
        version: str,
        payloads: list[dict[str, Any]],
        judges: list[Judge],
        stage: str,
        labels: list[str],
    ) -> list[PrefectFuture]:
        return list(
            self._task().map(
                unmapped(self.job.spec),
                unmapped(ref),
                unmapped(version),
                payloads,
                unmapped(self.view.timeout),
                [self._with_ai(judge) for judge in judges],
                stage=unmapped(stage),
                label=labels,
                destination=unmapped(self.view.destination),
                fail_fast=unmapped(self.job.options.fail_fast),
            )
        )


@dataclass
class SharedRuns:
    """Test-version runs that other stages may reuse rather than pay for again: the
    comparison takes the test side of a test case or a fuzz input from here."""

    _runs: dict[str, tuple[PrefectFuture, str]] = field(default_factory=dict)

    def add(self, inputs: dict[str, Any], future: PrefectFuture, label: str) -> None:
        self._runs.setdefault(payload_key(inputs), (future, label))

    def get(self, inputs: dict[str, Any]) -> tuple[PrefectFuture, str] | None:
        return self._runs.get(payload_key(inputs))
