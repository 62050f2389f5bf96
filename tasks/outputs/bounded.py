"""Prediction records and stages as they are stored: their outputs bounded by the one limit
and the one cut of tasks.core.bounded (see there for both)."""

from __future__ import annotations

from dataclasses import replace

from tasks.core.bounded import bound, bound_text
from tasks.core.results import PredictionRecord, StageResult


def stored_record(record: PredictionRecord) -> PredictionRecord:
    """A record as the report and Prefect's result storage keep it: its outputs bounded
    (the same object is cut once), its error, logs and message bounded as text."""
    output = bound(record.output)
    remote = output if record.remote_output is record.output else bound(record.remote_output)
    return replace(
        record,
        output=output,
        remote_output=remote,
        error=bound_text(record.error),
        logs=bound_text(record.logs) or "",
        message=bound_text(record.message) or "",
    )


def stored_stage(stage: StageResult) -> StageResult:
    """A stage as the report keeps it: every prediction as `stored_record` keeps it."""
    if not stage.predictions:
        return stage
    return replace(stage, predictions=tuple(stored_record(p) for p in stage.predictions))
