"""Preflight (problems found before any side effect) and the code lint stage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tasks.code_lint import lint_file
from tasks.cog_yaml import read_cog_yaml
from tasks.config import Config, PredictConfig, TestCase, TrainConfig
from tasks.core.usage_checks import local_problems
from tasks.errors import UsageError
from tasks.job import Job
from tasks.options import RunOptions
from tasks.platforms import resolve_spec

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hello"


@pytest.fixture
def model_dir(tmp_path) -> Path:
    target = tmp_path / "hello"
    shutil.copytree(EXAMPLE, target)
    return target


def job(model_dir: Path, config: Config, platform: str = "local", **options) -> Job:
    return Job(
        config=config,
        options=RunOptions(**options),
        spec=resolve_spec(platform),
        cog_dir=str(model_dir),
    )


def test_a_good_job_has_no_problems(model_dir):
    assert local_problems(job(model_dir, Config(model="acme/hello"))) == []


def test_every_problem_is_reported_at_once(model_dir, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    (model_dir / "predict.py").unlink()
    config = Config(
        model="noslash",
        dockerfile="Dockerfile.missing",
        predict=PredictConfig(test_cases=[TestCase(inputs={}, match_prompt="a cat")]),
    )
    problems = local_problems(job(model_dir, config, push_official_model=True))
    text = "\n".join(problems)
    assert "<owner>/<name>" in text
    assert "--push-official-model needs official_model" in text
    assert "predict.py named in cog.yaml does not exist" in text
    assert "Dockerfile.missing" in text
    assert "ANTHROPIC_API_KEY" in text
    assert len(problems) == 5


def test_uncompilable_jq_query_is_caught_before_anything_runs(model_dir):
    config = Config(
        model="a/b", predict=PredictConfig(test_cases=[TestCase(inputs={}, jq_query=".[[[")])
    )
    problems = local_problems(job(model_dir, config))
    assert len(problems) == 1 and problems[0].startswith("predict test case 1: ")


def test_train_section_needs_a_train_entry(model_dir):
    problems = local_problems(job(model_dir, Config(model="a/b", train=TrainConfig())))
    assert any("no 'train' entry" in p for p in problems)


def test_replicate_platform_needs_token_and_cog(model_dir, monkeypatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    monkeypatch.setenv("PATH", str(model_dir))  # no cog executable here
    problems = local_problems(job(model_dir, Config(model="a/b"), platform="replicate"))
    assert any("REPLICATE_API_TOKEN is not set" in p for p in problems)
    assert any("cog executable is not on PATH" in p for p in problems)


def test_fuzz_generator_ai_needs_a_key(model_dir, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    problems = local_problems(job(model_dir, Config(model="a/b"), fuzz_generator="ai"))
    assert problems and "ANTHROPIC_API_KEY" in problems[0]


def test_cog_yaml_errors(tmp_path):
    with pytest.raises(UsageError, match="no cog.yaml"):
        read_cog_yaml(tmp_path)
    (tmp_path / "cog.yaml").write_text("predict: predict.py\n")
    with pytest.raises(UsageError, match="file.py:Name"):
        read_cog_yaml(tmp_path)
    (tmp_path / "cog.yaml").write_text("predict: 'predict.py:Predictor'\ntrain: 'train.py:train'\n")
    cog = read_cog_yaml(tmp_path)
    assert cog.file_of("predict").name == "predict.py" and cog.file_of("train").name == "train.py"


def test_lint_passes_clean_code_and_ignores_e402(tmp_path):
    path = tmp_path / "predict.py"
    path.write_text('import os\n\nos.environ["X"] = "1"\nimport sys  # noqa: F401\n')
    assert lint_file(path) == []


def test_lint_reports_every_finding(tmp_path):
    path = tmp_path / "predict.py"
    path.write_text("import os\nimport sys\n\n\ndef f():\n    return undefined_name\n")
    findings = lint_file(path)
    assert len(findings) == 3
    assert any("F401" in f and "os" in f for f in findings)
    assert any("F821" in f and "undefined_name" in f for f in findings)
