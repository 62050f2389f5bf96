"""Code lint stage: ruff on the predict/train file named in cog.yaml, as the seed tool does."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from prefect import task

from tasks.caching import KeyedBy
from tasks.results import StageFailed, StageResult

# E402 (imports below top) is normal in Cog predictors that set env vars before importing.
RUFF_ARGS = ("check", "--no-cache", "--output-format", "concise", "--ignore", "E402")


def ruff_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "ruff", *RUFF_ARGS, str(path)]


def lint_file(path: Path) -> list[str]:
    """Ruff's findings for one file, one line each; empty when clean."""
    if not path.is_file():
        return [f"{path}: file not found"]
    proc = subprocess.run(ruff_command(path), capture_output=True, text=True, cwd=path.parent)
    if proc.returncode == 0:
        return []
    prefix = f"{path.name}:"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(prefix)]
    return lines or [proc.stderr.strip() or f"ruff exited {proc.returncode}"]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def _lint_material(parameters: dict) -> list[str]:
    path = Path(parameters["path"])
    return ["ruff", path.name, file_hash(path), parameters["stage_name"]]


@task(
    name="code lint",
    task_run_name="{stage_name}",
    cache_policy=KeyedBy(material=_lint_material),
    persist_result=True,
)
def code_lint(path: str, stage_name: str = "code lint") -> StageResult:
    findings = lint_file(Path(path))
    if findings:
        raise StageFailed(
            StageResult(
                stage_name,
                "failed",
                f"ruff found problems in {Path(path).name}: " + " | ".join(findings),
            )
        )
    return StageResult(stage_name, "passed")
