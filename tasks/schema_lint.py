"""Schema lint stage: the rules of tasks.schema.lint on the test version's schema."""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks.core.results import StageFailed, StageResult
from tasks.schema.lint import lint_schema


@task(name="schema lint", task_run_name="{stage_name}")
def schema_lint(doc: dict[str, Any], train: bool, stage_name: str) -> StageResult:
    problems = lint_schema(doc, train=train)
    if problems:
        raise StageFailed(StageResult(stage_name, "failed", "; ".join(problems)))
    return StageResult(stage_name, "passed")
