"""The command line as a user meets it: help, --help-config, and exit 2 with one clean line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hello"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COG_SAFE_PUSH_HOME": str(cwd / "registry")}
    return subprocess.run(
        [sys.executable, "-m", "flows.safe_push", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def model_dir(tmp_path) -> Path:
    target = tmp_path / "hello"
    shutil.copytree(EXAMPLE, target)
    return target


def test_help_shows_every_seed_flag(tmp_path):
    done = cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    for flag in (
        "--test-case",
        "--fuzz-fixed-inputs",
        "--fuzz-disabled-inputs",
        "--no-compare-outputs",
    ):
        assert flag in done.stdout


def test_help_config_prints_a_loadable_template(tmp_path):
    done = cli("--help-config", cwd=tmp_path)
    assert done.returncode == 0
    assert yaml.safe_load(done.stdout)["predict"]["fuzz"]["iterations"] == 10


@pytest.mark.parametrize(
    "config_text, fragment",
    [
        ("model: [oops\n", "malformed YAML"),
        ("model: acme/hello\nshiny: true\n", "unknown field 'shiny'"),
        ("model: noslash\n", "<owner>/<name>"),
    ],
)
def test_bad_config_exits_2_with_one_line_and_pushes_nothing(model_dir, config_text, fragment):
    (model_dir / "cog-safe-push.yaml").write_text(config_text)
    done = cli("--platform", "local", cwd=model_dir)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and fragment in errors[0]
    assert not (model_dir / "registry" / "models").exists()


def test_model_name_without_a_slash_on_the_command_line(model_dir):
    (model_dir / "cog-safe-push.yaml").unlink()
    done = cli("--platform", "local", "noslash", cwd=model_dir)
    assert done.returncode == 2
    assert "<owner>/<name>" in done.stderr and "Traceback" not in done.stderr


def test_missing_cog_yaml_is_a_usage_error(tmp_path):
    done = cli("--platform", "local", "acme/hello", cwd=tmp_path)
    assert done.returncode == 2 and "no cog.yaml" in done.stderr


def test_schema_diff_subcommand(tmp_path):
    def doc(props: dict) -> dict:
        return {
            "openapi": "3.0.2",
            "components": {
                "schemas": {
                    "Input": {"type": "object", "properties": props},
                    "Output": {"type": "string"},
                }
            },
        }

    old = {"prompt": {"type": "string", "description": "p"}, "steps": {"type": "integer"}}
    (tmp_path / "old.json").write_text(json.dumps(doc(old)))
    (tmp_path / "new.json").write_text(json.dumps(doc({"prompt": old["prompt"]})))
    done = cli("schema-diff", "old.json", "new.json", "--json", cwd=tmp_path)
    assert done.returncode == 1
    findings = json.loads(done.stdout)
    assert any(f["breaking"] and "steps" in f["path"] for f in findings)
    same = cli("schema-diff", "old.json", "old.json", cwd=tmp_path)
    assert same.returncode == 0
    assert cli("schema-diff", "old.json", "missing.json", cwd=tmp_path).returncode == 2


def test_verbose_levels_log_each_prediction(model_dir):
    flags = ("--platform", "local", "--no-push", "--fuzz-iterations", "1")
    quiet = cli(*flags, cwd=model_dir)
    assert quiet.returncode == 0
    assert " succeeded in " not in quiet.stdout + quiet.stderr
    loud = cli(*flags, "-vv", cwd=model_dir)
    assert loud.returncode == 0
    assert " succeeded in " in loud.stdout + loud.stderr
