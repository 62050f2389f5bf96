"""Code lint stage: ruff on the predict/train file named in cog.yaml (tasks.lint.ruff).

Cached by the file's content, the ruff version and the effective configuration: adding a
ruff.toml, or upgrading ruff, lints again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from tasks.core.results import StageFailed, StageResult
from tasks.lint.ruff import file_hash, lint_file, settings_for
from tasks.policies import KeyedBy


def _lint_material(parameters: dict[str, Any]) -> list[str]:
    path = Path(parameters["path"])
    settings = settings_for(path, Path(parameters["cog_dir"]))
    return [path.name, file_hash(path), settings.ruff_version, settings.config_hash]


@task(
    name="code lint",
    task_run_name="{stage_name}",
    cache_policy=KeyedBy(material=_lint_material),
    persist_result=True,
)
def code_lint(path: str, cog_dir: str, stage_name: str = "code lint") -> StageResult:
    file = Path(path)
    settings = settings_for(file, Path(cog_dir))
    findings = lint_file(file, settings)
    if findings:
        message = f"ruff ({settings.describe()}) found problems in {file.name}: " + " | ".join(
            findings
        )
        raise StageFailed(StageResult(stage_name, "failed", message))
    return StageResult(stage_name, "passed", detail=settings.describe())
