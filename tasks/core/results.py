"""Plain records of what each stage found. Everything the report and artifacts show comes from here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from tasks.core.errors import CheckFailed

StageStatus = Literal["passed", "failed", "warning", "skipped"]
# "warning": it did not pass cleanly but does not block (a deliberate rejection of an edge
# input, a failure the live version shares); "unverified": nothing could decide.
Verdict = Literal["passed", "failed", "unverified", "warning", "skipped"]


@dataclass(frozen=True)
class PredictionRecord:
    """One prediction or training and the verdict on it. Frozen: a new verdict is a new
    record (`with_verdict`), so a record a task returned never changes under the flow."""

    stage: str
    label: str
    inputs: dict[str, Any]
    verdict: Verdict
    status: str  # the run's status: succeeded, failed, canceled, timeout
    seconds: float = 0.0
    id: str | None = None
    url: str | None = None
    version: str | None = None
    message: str = ""
    # Whole in memory (the comparison needs it); every stored copy (report, artifacts,
    # Prefect's result storage) is bounded by tasks.outputs.bounded.stored_record.
    output: Any = None
    remote_output: Any = None
    error: str | None = None  # the run's own error message, whole
    logs: str = ""  # the model's logs (and traceback) for this run
    predict_seconds: float | None = None  # the model's own time (no queue, no cold boot)
    # Earlier runs of the same inputs that ended for an infrastructure reason, each as
    # {id, url, status, error}: the report shows every attempt, not only the last.
    attempts: tuple[dict[str, Any], ...] = ()
    # Other runs this verdict rests on, each as {name, url, id}: a comparison's record links
    # to the comparison itself, and here to the test and live runs it compared.
    related: tuple[dict[str, Any], ...] = ()
    # A training: the version it produced ("owner/name:id"), and the predictions run on that
    # version (tasks.trained_predictions), each a record of its own. A failed one fails the
    # training: a training is only good if its result predicts.
    trained_version: str | None = None
    trained_predictions: tuple[PredictionRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_verdict(self, verdict: Verdict, message: str, **changes: Any) -> PredictionRecord:
        return replace(self, verdict=verdict, message=message, **changes)


@dataclass(frozen=True)
class StageResult:
    """What one stage found. Frozen; `replace` (or the helpers below) makes a changed copy."""

    name: str
    status: StageStatus
    error: str | None = None
    warnings: tuple[str, ...] = ()
    predictions: tuple[PredictionRecord, ...] = ()
    seconds: float = 0.0
    detail: str | None = None  # what a passing stage did, e.g. "reused cached version"
    kind: Literal["check", "usage"] = "check"  # a failed "usage" stage is bad input: exit 2

    def __post_init__(self) -> None:
        # Accept any iterable from callers; keep tuples, so the record cannot be changed.
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "predictions", tuple(self.predictions))

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def timed(self, seconds: float) -> StageResult:
        return replace(self, seconds=seconds)

    def warned(self, warnings: Iterable[str]) -> StageResult:
        """The stage with more warnings; a passing stage with any becomes a "warning"."""
        added = tuple(warnings)
        if not added:
            return self
        status: StageStatus = "warning" if self.status == "passed" else self.status
        return replace(self, warnings=self.warnings + added, status=status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "error": self.error,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "kind": self.kind,
            "predictions": [p.to_dict() for p in self.predictions],
        }


def stage_from_records(name: str, records: list[PredictionRecord], seconds: float) -> StageResult:
    """A stage fails when any of its predictions failed; every failure is listed.

    Runs canceled because the run was stopping (--fail-fast) are "skipped", not failures.
    """
    if not records:
        return StageResult(name, "passed", seconds=seconds)
    if all(r.verdict == "skipped" for r in records):
        return StageResult(name, "skipped", None, [], records, seconds, "stopped early")
    failures = [r for r in records if r.verdict == "failed"]
    unverified = [r for r in records if r.verdict in ("unverified", "warning")]
    warnings = [
        f"{r.label}: {'unverified: ' if r.verdict == 'unverified' else ''}{r.message}"
        for r in unverified
    ]
    if failures:
        lines = [f"{r.label} [{r.url or r.id or 'no reference'}]: {r.message}" for r in failures]
        error = f"{len(failures)} of {len(records)} failed: " + " | ".join(lines)
        return StageResult(name, "failed", error, warnings, records, seconds)
    status: StageStatus = "warning" if unverified else "passed"
    return StageResult(name, status, None, warnings, records, seconds)


_FAILED_PREFIX = re.compile(r"^\s*(?:async\s+)?prediction failed:\s*", re.IGNORECASE)


def clean_error(text: str | None) -> str | None:
    """A run's error without the runtime's "Prediction failed: " prefixes (Cog's runtime adds
    one per layer), so reports do not say it three times."""
    if not text:
        return text
    while _FAILED_PREFIX.match(text):
        text = _FAILED_PREFIX.sub("", text, count=1)
    return text or None


def first_line(text: str | None, limit: int = 300) -> str:
    """The first line of a message, cut to `limit` characters with a visible "…"."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


class StageFailed(CheckFailed):
    """A stage's check failed: its task run ends Failed, and the flow still gets the record."""

    def __init__(self, stage: StageResult) -> None:
        super().__init__(first_line(f"{stage.name}: {stage.error or 'failed'}"))
        self.stage = stage

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.stage,))


class PredictionFailed(CheckFailed):
    """A prediction whose verdict is a failure: the task run ends Failed with its record."""

    def __init__(self, record: PredictionRecord) -> None:
        super().__init__(first_line(f"{record.label}: {record.message or record.status}"))
        self.record = record

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.record,))
