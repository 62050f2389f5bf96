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

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello"


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, with a registry of its own and `env` added to the
    environment (a CI job's, say): no Replicate token unless `env` gives one."""
    environment = {k: v for k, v in os.environ.items() if k != "REPLICATE_API_TOKEN"}
    environment.update({"COG_SAFE_PUSH_HOME": str(cwd / "registry"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "flows.safe_push", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
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
    loud = cli(*flags, "-vv", "--refresh", cwd=model_dir)  # not the quiet run's verdict
    assert loud.returncode == 0
    assert " succeeded in " in loud.stdout + loud.stderr


DEEP = (
    "model: acme/hello\npredict:\n  test_cases:\n    - inputs:\n        deep: "
    + "[" * 5000
    + "]" * 5000
    + "\n"
)
BOMB = (
    "model: acme/hello\npredict:\n  test_cases:\n    - inputs:\n"
    "        a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    "        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "        f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
)
HUGE = "model: acme/hello\npredict:\n  test_cases:\n" + "".join(
    f"    - inputs: {{name: {'x' * 190}}}\n" for _ in range(3000)
)


@pytest.mark.parametrize(
    "config_text, flags, fragment",
    [
        (
            "model: acme/hello\ntrain:\n  destination: acme/hello\n",
            (),
            "train.destination must differ from model",
        ),
        (
            "model: acme/hello\ntrain:\n  destination: acme/hello-test\n",
            (),
            "train.destination must differ from test_model",
        ),
        (
            "model: acme/hello\ndeployment:\n  owner: '..'\n  name: x\n",
            (),
            "deployment owner/name",
        ),
        ("model: acme/hello\n", ("--report-json", "."), "is a directory"),
        ("model: acme/hello\n", ("--junit-xml", "cog.yaml/junit.xml"), "--junit-xml"),
        ('model: "acme/hello\\n"\n', (), "<owner>/<name>"),
        (f"model: acme/{'x' * 300}\n", (), "at most 100 characters"),
        ("model: acme/hello\npredict:\n  predict_timeout: 10000000000\n", (), "predict_timeout"),
        ("model: acme/hello\ntrain:\n  train_timeout: 10000000000\n", (), "train_timeout"),
        ("model: acme/hello\npredict:\n  fuzz:\n    iterations: 1000000000\n", (), "iterations"),
        ("model: acme/hello\n", ("--fuzz-iterations", "1000000000"), "iterations"),
        (DEEP, (), "nested too deeply"),
        (BOMB, (), "expands to more than"),
        (HUGE, (), "512 KB"),
    ],
    ids=[
        "destination is the model",
        "destination is the test model",
        "deployment owner",
        "report path is a directory",
        "junit path cannot be created",
        "newline in a model name",
        "over-long model name",
        "huge predict timeout",
        "huge train timeout",
        "huge fuzz iterations",
        "huge fuzz iterations flag",
        "deeply nested yaml",
        "yaml alias bomb",
        "config over the parameter limit",
    ],
)
def test_hostile_input_exits_2_with_one_line_before_any_side_effect(
    model_dir, config_text, flags, fragment
):
    (model_dir / "cog-safe-push.yaml").write_text(config_text)
    done = cli("--platform", "local", *flags, cwd=model_dir)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and fragment in errors[0], done.stderr[-2000:]
    assert len(errors[0]) < 1000
    assert not (model_dir / "registry" / "models").exists()


@pytest.mark.parametrize("name", ["cog-safe-push.yaml", "cog.yaml"])
def test_a_file_that_is_not_utf8_exits_2_naming_it(model_dir, name):
    (model_dir / name).write_bytes(b"model: acme/h\xe9llo\n\xff\xfe")
    done = cli("--platform", "local", cwd=model_dir)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{name} is not UTF-8" in done.stderr


def test_a_damaged_registry_file_exits_2_naming_it(model_dir):
    assert cli("--platform", "local", "--fuzz-iterations", "0", cwd=model_dir).returncode == 0
    model_json = model_dir / "registry" / "models" / "examples" / "hello" / "model.json"
    model_json.write_text(model_json.read_text()[:20])
    done = cli("--platform", "local", cwd=model_dir)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert str(model_json) in done.stderr and "damaged" in done.stderr


@pytest.mark.parametrize("token", [None, "", "   "])
def test_ci_without_a_token_refuses_to_fall_back_to_local(model_dir, token):
    """A CI job whose token secret is missing must not go green on a local "push"."""
    env = {"CI": "true", "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # never contacted
    if token is not None:
        env["REPLICATE_API_TOKEN"] = token
    done = cli(cwd=model_dir, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, done.stderr
    assert "REPLICATE_API_TOKEN" in errors[0] and "--platform local" in errors[0]
    assert not (model_dir / "registry").exists()  # no registry, no managed Prefect server


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_outside_ci_no_token_means_the_local_platform_and_the_final_line_says_so(model_dir, ci):
    flags = ("--no-push", "--fuzz-iterations", "1")
    done = cli(*flags, cwd=model_dir, env={"CI": ci}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    registry = model_dir / "registry"
    last = done.stderr.strip().splitlines()[-1]
    assert f"the local registry at {registry}" in last, last
    assert "nothing was pushed to Replicate" in last


def test_ci_with_an_explicit_local_platform_pushes_locally_and_says_where(model_dir):
    flags = ("--platform", "local", "--fuzz-iterations", "1")
    done = cli(*flags, cwd=model_dir, env={"CI": "true"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert "pushed examples/hello:" in last, last
    assert f"the local registry at {model_dir / 'registry'}" in last
    assert "nothing was pushed to Replicate" in last
