"""Preflight (problems found before any side effect) and the code lint stage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.config import Config, PredictConfig, TestCase, TrainConfig
from tasks.core.errors import UsageError
from tasks.core.job import Job
from tasks.core.options import RunOptions
from tasks.core.usage_checks import local_problems
from tasks.lint.ruff import find_config, lint_file, settings_for
from tasks.platforms import resolve_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello"


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


def lint(path):
    return lint_file(path, settings_for(path, path.parent))


def test_lint_passes_clean_code_and_ignores_e402(tmp_path):
    path = tmp_path / "predict.py"
    path.write_text('import os\n\nos.environ["X"] = "1"\nimport sys  # noqa: F401\n')
    assert lint(path) == []


COG_IDIOMS = """\
from typing import List, Optional
import os
from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(
        self,
        image: Path = Input(description="An image"),
        tags: List[str] = Input(description="Tags", default=[]),
        seed: Optional[int] = Input(description="Seed", default=None),
    ) -> Path:
        print(os.getcwd(), tags, seed)
        return image
"""


def test_cog_idioms_are_not_lint_failures(tmp_path):
    """B008 (Input() defaults), UP006/UP045 (List, Optional) and I001 (import order) are
    style, not bugs: without a ruff config of the model's own they are never reported."""
    path = tmp_path / "predict.py"
    path.write_text(COG_IDIOMS)
    assert lint(path) == []


def test_the_models_own_ruff_config_is_respected_and_changes_the_cache_key(tmp_path):
    path = tmp_path / "predict.py"
    path.write_text(COG_IDIOMS)
    before = settings_for(path, tmp_path)
    (tmp_path / "ruff.toml").write_text('[lint]\nselect = ["B008"]\n')
    after = settings_for(path, tmp_path)
    assert after.config == tmp_path / "ruff.toml" and after.config_hash != before.config_hash
    findings = lint_file(path, after)
    assert findings and all("B008" in f for f in findings)


def test_config_is_found_up_to_the_repository_root_and_no_further(tmp_path):
    repo = tmp_path / "repo"
    model = repo / "models" / "hello"
    model.mkdir(parents=True)
    (model / "predict.py").write_text("x = 1\n")
    (tmp_path / "ruff.toml").write_text("line-length = 10\n")  # above the repository
    (repo / ".git").mkdir()
    assert find_config(model, model) is None
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no [tool.ruff]
    assert find_config(model, model) is None
    (repo / "pyproject.toml").write_text("[tool.ruff]\nline-length = 88\n")
    assert find_config(model, model) == repo / "pyproject.toml"
    (model / ".ruff.toml").write_text("line-length = 99\n")
    assert find_config(model, model) == model / ".ruff.toml"


def test_lint_reports_every_finding(tmp_path):
    path = tmp_path / "predict.py"
    path.write_text("import os\nimport sys\n\n\ndef f():\n    return undefined_name\n")
    findings = lint(path)
    assert len(findings) == 3
    assert any("F401" in f and "os" in f for f in findings)
    assert any("F821" in f and "undefined_name" in f for f in findings)
