"""Check stages as Prefect tasks: schema lint, compatibility, output comparison, checkers.

The logic lives in schema_lint, schema_diff, compare and checkers; these thin tasks add
retries for the AI calls some of them make, and turn verdicts into stage records.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks import ai as ai_module
from tasks.checkers import check_output
from tasks.compare import compare_outputs
from tasks.predictions import run_verdict
from tasks.results import PredictionRecord, StageResult
from tasks.retry import retry_condition
from tasks.schema_diff import breaking, diff_schemas
from tasks.schema_lint import lint_schema

AI_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": [2, 10],
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_condition,
}


def make_ai(model: str | None) -> ai_module.AI | None:
    return ai_module.AI(model=model) if ai_module.ai_available() else None


@task(name="schema-lint")
def schema_lint(doc: dict[str, Any], train: bool, stage_name: str) -> StageResult:
    problems = lint_schema(doc, train=train)
    if problems:
        return StageResult(stage_name, "failed", "; ".join(problems))
    return StageResult(stage_name, "passed")


@task(name="schema-compatibility")
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
    return StageResult(stage_name, "failed", message, warnings=notes)


def describe_case(case: dict[str, Any]) -> str:
    for key, value in case.items():
        if key != "inputs" and value is not None:
            return f"{key} {value!r}"
    return "no checker (must not fail)"


@task(name="check-output", **AI_RETRIES)
def check_case(
    case: dict[str, Any], record: PredictionRecord, result: Any, ai_model: str | None
) -> PredictionRecord:
    """Apply the test case's checker to its run and fill in the verdict."""
    verdict = check_output(case, result, ai=make_ai(ai_model))
    record.verdict = (
        "unverified" if verdict.unverified else ("passed" if verdict.passed else "failed")
    )
    record.message = verdict.message
    return record


@task(name="compare-outputs", **AI_RETRIES)
def compare_runs(
    live: Any,
    test: Any,
    inputs: dict[str, Any],
    deterministic: bool,
    ai_model: str | None,
    timeout: float,
) -> PredictionRecord:
    """Same inputs on the live and the test version: the outputs must be equal or equivalent."""
    record = PredictionRecord(
        stage="compare outputs",
        label="live vs test",
        inputs=inputs,
        verdict="passed",
        status=test.status,
        seconds=test.seconds,
        id=test.id,
        url=test.url,
        output=test.output,
        remote_output=test.remote_output,
    )
    for name, result in (("live version", live), ("test version", test)):
        ok, why = run_verdict(result, timeout)
        if not ok and not (result.status == "succeeded" and why == "empty output"):
            record.verdict = "failed"
            record.message = f"{name} prediction failed ({result.url or result.id}): {why}"
            return record
    comparison = compare_outputs(
        live.output, test.output, deterministic=deterministic, ai=make_ai(ai_model)
    )
    record.message = "; ".join(comparison.messages)
    if comparison.verdict == "mismatch":
        record.verdict = "failed"
        record.message = (
            f"outputs differ from the live version ({live.url or live.id}): {record.message}"
        )
    elif comparison.verdict == "unverified":
        record.verdict = "unverified"
    return record
