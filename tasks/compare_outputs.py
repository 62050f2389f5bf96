"""Compare-outputs stage: the same inputs on the live and the test version must give equal or
equivalent outputs (tasks.outputs.compare). The two predictions are task runs of their own
("compare: live", "compare: test"); this task judges their outputs."""

from __future__ import annotations

from prefect import task

from tasks.ai.client import AIError, make_ai
from tasks.core.results import PredictionFailed, PredictionRecord
from tasks.outputs.compare import compare_outputs


@task(name="compare outputs", task_run_name="{stage_name}")
def compare(
    live: PredictionRecord,
    test: PredictionRecord,
    deterministic: bool,
    ai_model: str | None,
    stage_name: str,
) -> PredictionRecord:
    record = PredictionRecord(
        stage=stage_name,
        label="live vs test",
        inputs=test.inputs,
        verdict="passed",
        status=test.status,
        seconds=test.seconds,
        id=test.id,
        url=test.url,
        output=test.output,
        remote_output=test.remote_output,
    )
    for name, side in (("live version", live), ("test version", test)):
        if side.verdict == "failed":
            record.verdict = "failed"
            record.message = f"{name} prediction failed: {side.message}"
            record.error, record.logs = side.error, side.logs
            raise PredictionFailed(record)
    try:
        comparison = compare_outputs(
            live.output, test.output, deterministic=deterministic, ai=make_ai(ai_model)
        )
    except AIError as exc:
        record.verdict, record.message = "unverified", f"the AI could not judge: {exc}"
        return record
    record.message = "; ".join(comparison.messages)
    if comparison.verdict == "mismatch":
        record.verdict = "failed"
        record.message = f"outputs differ from the live version: {record.message}"
        raise PredictionFailed(record)
    if comparison.verdict == "unverified":
        record.verdict = "unverified"
    return record
