"""Compatibility stage: the new schema against the live version's, by tasks.schema.diff.

`--ignore-schema-compatibility` turns breaking findings into warnings.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks.core.results import StageFailed, StageResult
from tasks.schema.diff import breaking, diff_schemas


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
