"""The one way a stage is run and recorded, in every flow: timed, shown, logged, kept.

A stage either runs at once (`run`), or submits its predictions now and is collected later
(`begin` ... `finish`), so that the stages of one flow share the prediction workers. Either
way it ends in `finish`: the person watching sees it end, the run's log says how, and under
--fail-fast a failure stops what is still queued and cancels what is in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from prefect import get_run_logger
from prefect.states import State

from tasks.core.results import PredictionRecord, StageFailed, StageResult
from tasks.core.run_scope import RunScope


def stage_from_state(state: State, name: str) -> StageResult:
    """The stage a task's final state stands for: its StageResult (carried by StageFailed when
    the task ended Failed), "passed" for a task that completed with another value, or the
    error of a task that failed unexpectedly."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, StageResult):
        return value
    if isinstance(value, StageFailed):
        return value.stage
    if state.is_completed():
        return StageResult(name, "passed")
    error = str(value) if isinstance(value, BaseException) else (state.message or "failed")
    return StageResult(name, "failed", error)


@dataclass
class Pending:
    """A stage whose predictions are submitted; `collect` waits for them and judges them
    (and may report a second stage that follows from the first, e.g. latency)."""

    name: str
    collect: Callable[[], StageResult | list[StageResult]]


class StageRunner:
    """The stages of one flow so far, and whether to keep going."""

    def __init__(self, scope: RunScope, fail_fast: bool) -> None:
        self.scope = scope
        self.fail_fast = fail_fast
        self.stages: list[StageResult] = []
        self._started: dict[str, float] = {}

    @property
    def failed(self) -> bool:
        return any(stage.failed for stage in self.stages)

    @property
    def stopped(self) -> bool:
        """--fail-fast stopped the run after a failed stage: run nothing more."""
        return self.fail_fast and self.failed

    def begin(self, name: str, total: int | None = None) -> None:
        """A stage starts: shown now, timed from now."""
        self._started[name] = time.monotonic()
        self.scope.observer.stage_started(name, total)

    def judged(self, record: PredictionRecord) -> None:
        """One item of a begun stage has its verdict, decided in the flow rather than by a
        prediction task that reports itself (a comparison): the live display counts it now,
        as the report will (a skipped item did not run, so it is not done)."""
        if record.verdict != "skipped":
            self.scope.observer.prediction_done(record.stage, record.verdict != "failed")

    def run(self, name: str, body: Callable[[], StageResult | State]) -> StageResult:
        """Run a stage now; `body` returns its result, or the final state of its task."""
        self.begin(name)
        outcome = body()
        stage = outcome if isinstance(outcome, StageResult) else stage_from_state(outcome, name)
        return self.finish(stage)

    def finish(self, stage: StageResult) -> StageResult:
        """Record a finished stage (timed from `begin`) and return it as recorded; under
        --fail-fast a failure also stops the run here (see `stopped`)."""
        started = self._started.pop(stage.name, None)
        if started is not None and not stage.seconds:
            stage = stage.timed(time.monotonic() - started)
        self.stages.append(stage)
        self.scope.record_stage(stage)
        self.scope.observer.stage_finished(
            stage.name, stage.status, stage.seconds, self._counts(stage)
        )
        logger = get_run_logger()
        log = logger.error if stage.failed else logger.info
        log("%s: %s%s", stage.name, stage.status, f" - {stage.error}" if stage.error else "")
        for warning in stage.warnings:
            logger.warning("%s: %s", stage.name, warning)
        if stage.failed and self.fail_fast:
            self.scope.request_stop(f"--fail-fast after {stage.name} failed")
            self.scope.cancel_inflight()
        return stage

    def dismiss(self, name: str) -> None:
        """A begun stage that turned out to be nothing worth reporting (a free lease): the
        person watching sees it end; the report does not list it."""
        started = self._started.pop(name, None)
        seconds = time.monotonic() - started if started is not None else 0.0
        self.scope.observer.stage_finished(name, "passed", seconds)

    def skip(self, name: str) -> None:
        """A stage that never ran because the run stopped early."""
        self._started.pop(name, None)
        self.stages.append(StageResult(name, "skipped", detail=f"skipped: {self.scope.reason}"))
        self.scope.record_stage(self.stages[-1])
        self.scope.observer.stage_finished(name, "skipped", 0.0)

    def collect(self, pending: list[Pending]) -> None:
        """Collect submitted stages in order; after a fail-fast stop, the rest are skipped
        (their queued predictions return at once, canceled)."""
        for index, item in enumerate(pending):
            collected = item.collect()
            for stage in collected if isinstance(collected, list) else [collected]:
                self.finish(stage)
            if self.stopped:
                for rest in pending[index + 1 :]:
                    rest.collect()
                    self.skip(rest.name)
                return

    @staticmethod
    def _counts(stage: StageResult) -> tuple[int, int] | None:
        """(done, failed) as the report counts them, from the stage's own records: the
        final table and the JSON report list exactly these, so the three agree. The live
        events only approximate them while the stage runs: a cached prediction never
        reports itself, a fuzz failure live shares becomes a warning once live is asked,
        and a prediction canceled by --fail-fast is skipped, which is not done."""
        if not stage.predictions:
            return None
        failed = sum(1 for p in stage.predictions if p.verdict == "failed")
        done = sum(1 for p in stage.predictions if p.verdict != "skipped")
        return done, failed
