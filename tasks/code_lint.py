"""Code lint stage: ruff on the predict/train file named in cog.yaml, as the seed tool does."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from prefect import task

from tasks.results import StageResult

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


def _lint_cache_key(context, parameters) -> str:
    path = Path(parameters["path"])
    return f"ruff-{file_hash(path)}-{path.name}"


@task(name="code-lint", cache_key_fn=_lint_cache_key, persist_result=True)
def code_lint(path: str, stage_name: str = "code lint") -> StageResult:
    findings = lint_file(Path(path))
    if findings:
        return StageResult(
            stage_name,
            "failed",
            f"ruff found problems in {Path(path).name}: " + " | ".join(findings),
        )
    return StageResult(stage_name, "passed")
