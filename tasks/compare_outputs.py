"""Compare-outputs stage: the same inputs on the live and the test version must give equal or
equivalent outputs (tasks.outputs.compare). The two predictions are task runs of their own
("compare: live", "compare: test"); the `compare` task judges their outputs.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks.ai.client import AIError, make_ai
from tasks.core.results import PredictionFailed, PredictionRecord, stage_from_records
from tasks.fuzz.compare_inputs import compare_inputs
from tasks.outputs.compare import compare_outputs
from tasks.outputs.verdict import Judge
from tasks.predictions import Predictions, has_seed, record_from_future
from tasks.stage_runner import Pending, StageRunner


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
            failed = record.with_verdict(
                "failed",
                f"{name} prediction failed: {side.message}",
                error=side.error,
                logs=side.logs,
            )
            raise PredictionFailed(failed)
    try:
        comparison = compare_outputs(
            live.output, test.output, deterministic=deterministic, ai=make_ai(ai_model)
        )
    except AIError as exc:
        return record.with_verdict("unverified", f"the AI could not judge: {exc}")
    message = "; ".join(comparison.messages)
    if comparison.verdict == "mismatch":
        raise PredictionFailed(
            record.with_verdict("failed", f"outputs differ from the live version: {message}")
        )
    return record.with_verdict(
        "unverified" if comparison.verdict == "unverified" else "passed", message
    )


def submit_comparison(
    runner: StageRunner,
    predictions: Predictions,
    live_ref: str,
    live_version: str,
    live_doc: dict[str, Any],
    test_version: str,
    new_doc: dict[str, Any],
) -> Pending:
    """Run the comparison input on both versions now; judge them when collected."""
    view, job = predictions.view, predictions.job
    name = view.stage("compare outputs")
    runner.begin(name, 2)
    inputs = compare_inputs(view, live_doc, new_doc, job.options.seed)
    judge = Judge("run")
    live_future = predictions.submit(live_ref, live_version, inputs, judge, name, "compare: live")
    test_future = predictions.submit(
        job.test_model, test_version, inputs, judge, name, "compare: test"
    )

    def collect() -> Any:
        live = record_from_future(live_future, name, "compare: live", inputs)
        test = record_from_future(test_future, name, "compare: test", inputs)
        if "skipped" in (live.verdict, test.verdict):
            skipped = test if test.verdict == "skipped" else live
            return stage_from_records(name, [skipped], 0.0)
        state = compare(live, test, has_seed(inputs), job.options.ai_model, name, return_state=True)
        record = state.result(raise_on_failure=False)
        if isinstance(record, PredictionFailed):
            record = record.record
        elif not isinstance(record, PredictionRecord):
            record = PredictionRecord(name, "live vs test", inputs, "failed", "error")
            record = record.with_verdict("failed", f"comparison error: {state.message}")
        return stage_from_records(name, [record], 0.0)

    return Pending(name, collect)
