"""Check stages as Prefect tasks: schema lint, compatibility and output comparison.

The logic lives in schema_lint, schema_diff and compare; these thin tasks turn verdicts into
records, and end Failed when their check fails (the record rides on the exception).
"""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks.ai import AIError, make_ai
from tasks.compare import compare_outputs
from tasks.results import PredictionFailed, PredictionRecord, StageFailed, StageResult
from tasks.schema_diff import breaking, diff_schemas
from tasks.schema_lint import lint_schema


@task(name="schema lint", task_run_name="{stage_name}")
def schema_lint(doc: dict[str, Any], train: bool, stage_name: str) -> StageResult:
    problems = lint_schema(doc, train=train)
    if problems:
        raise StageFailed(StageResult(stage_name, "failed", "; ".join(problems)))
    return StageResult(stage_name, "passed")


@task(name="schema compatibility", task_run_name="{stage_name}")
def compatibility(
    old_doc: dict[str, Any], new_doc: dict[str, Any], train: bool, ignore: bool, stage_name: str
) -> StageResult:
    findings = diff_schemas(old_doc, new_doc, train=train)
    broken = breaking(findings)
    notes = [f.message for f in findings if not f.breaking]
    if not broken:
        return StageResult(stage_name, "passed", warnings=notes)
    message = f"{len(broken)} breaking change(s): " + "; ".join(f.message for f in broken)
    if ignore:
        return StageResult(stage_name, "warning", warnings=[f"ignored: {message}", *notes])
    raise StageFailed(StageResult(stage_name, "failed", message, warnings=notes))


def describe_case(case: dict[str, Any]) -> str:
    """`exact_string` etc.: the checker a test case uses, for its task run's name."""
    for key, value in case.items():
        if key != "inputs" and value is not None:
            return key
    return "must succeed"


@task(name="compare outputs", task_run_name="{stage_name}")
def compare(
    live: PredictionRecord,
    test: PredictionRecord,
    deterministic: bool,
    ai_model: str | None,
    stage_name: str,
) -> PredictionRecord:
    """Same inputs on the live and the test version: the outputs must be equal or equivalent."""
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
