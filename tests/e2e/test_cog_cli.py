"""Pushing with the `cog` CLI: command line, output parsing, and the stand-in cog end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.core.errors import PlatformError, UsageError
from tasks.core.platform_data import PushOptions
from tasks.platforms.replicate import cog_cli
from tests.fakes.replicate_server import FakeReplicate

ROOT = Path(__file__).resolve().parents[2]
FAKE_BIN = ROOT / "tests" / "fakes" / "bin"
DIGEST = "3f" * 32
SCHEMA = {
    "openapi": "3.0.2",
    "components": {
        "schemas": {
            "Input": {"type": "object", "properties": {"text": {"type": "string"}}},
            "Output": {"type": "string"},
        }
    },
}


def test_command_line_for_each_option():
    image = "r8.im/acme/hello"
    assert cog_cli.build_command(image, PushOptions()) == ["cog", "push", image]
    options = PushOptions(dockerfile="Dockerfile.gpu", fast_push=True, use_cog_base_image=False)
    assert cog_cli.build_command(image, options) == [
        "cog",
        "push",
        image,
        "--dockerfile",
        "Dockerfile.gpu",
        "--x-fast",
        "--use-cog-base-image=false",
    ]
    # Only an explicit False turns the base image off (None means cog's default).
    assert "--use-cog-base-image=false" not in cog_cli.build_command(
        image, PushOptions(use_cog_base_image=True)
    )
    assert cog_cli.image_name("acme/hello") == image
    assert cog_cli.image_name(image) == image


def test_version_id_from_both_output_styles():
    assert cog_cli.parse_version_id(f"latest: digest: sha256:{DIGEST} size: 1775") == DIGEST
    assert cog_cli.parse_version_id(f"New Version: r8.im/acme/hello@sha256:{DIGEST}\n") == DIGEST
    assert cog_cli.parse_version_id(f"New Version: {DIGEST}") == DIGEST
    assert cog_cli.parse_version_id("Pushing image 'r8.im/acme/hello'...") is None
    assert cog_cli.parse_version_id(f"sha256:{DIGEST[:40]} truncated") is None
    other = "ab" * 32
    lines = [f"latest: digest: sha256:{other} size: 1", f"New Version: r8.im/a/b@sha256:{DIGEST}"]
    assert cog_cli.version_from_output(lines) == DIGEST


@pytest.fixture
def fake(monkeypatch):
    with FakeReplicate(token="r8_cog_cli") as server:
        server.add_model("acme/hello")
        monkeypatch.setenv("FAKE_REPLICATE_URL", server.url)
        monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
        yield server


@pytest.fixture
def cog_dir(tmp_path):
    directory = tmp_path / "hello"
    (directory / ".cog").mkdir(parents=True)
    (directory / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
    )
    (directory / ".cog" / "openapi_schema.json").write_text(json.dumps(SCHEMA))
    return directory


@pytest.mark.parametrize("fast", [False, True])
def test_push_with_the_stand_in_cog(fake, cog_dir, capfd, fast):
    version_id = cog_cli.push(
        "r8.im/acme/hello", str(cog_dir), PushOptions(fast_push=fast), stream=True
    )
    assert version_id == fake.latest_version_id("acme/hello")
    assert fake.pushes[-1]["fast"] is fast and fake.pushes[-1]["cog_dir"] == str(cog_dir)
    assert fake.versions["acme/hello"][0]["openapi_schema"] == SCHEMA
    streamed = capfd.readouterr().err
    expected = f"New Version: r8.im/acme/hello@sha256:{version_id}" if fast else "latest: digest"
    assert expected in streamed and "Building Docker image" in streamed


def test_push_quietly_passes_flags_through(fake, cog_dir, capfd):
    (cog_dir / "Dockerfile.custom").write_text("FROM python:3.11\n")
    options = PushOptions(dockerfile="Dockerfile.custom", use_cog_base_image=False)
    cog_cli.push("acme/hello", str(cog_dir), options)
    assert capfd.readouterr().err == ""
    pushed = fake.pushes[-1]
    assert pushed["dockerfile"] == "Dockerfile.custom" and pushed["use_cog_base_image"] is False


def test_schema_file_override(fake, cog_dir, tmp_path, monkeypatch):
    other = json.loads(json.dumps(SCHEMA))
    other["components"]["schemas"]["Output"] = {"type": "integer"}
    override = tmp_path / "schema.json"
    override.write_text(json.dumps(other))
    monkeypatch.setenv("FAKE_COG_SCHEMA_FILE", str(override))
    cog_cli.push("acme/hello", str(cog_dir), PushOptions())
    assert fake.versions["acme/hello"][0]["openapi_schema"] == other


def test_missing_cog_is_a_usage_error(cog_dir, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(UsageError, match="cog executable not found on PATH; install Cog"):
        cog_cli.push("acme/hello", str(cog_dir), PushOptions())


def test_failed_push_carries_the_command_and_last_lines(fake, cog_dir, monkeypatch):
    monkeypatch.setenv("FAKE_COG_FAIL", "1")
    with pytest.raises(PlatformError) as info:
        cog_cli.push("acme/hello", str(cog_dir), PushOptions(fast_push=True))
    message = str(info.value)
    assert "`cog push r8.im/acme/hello --x-fast` failed with exit code 1" in message
    assert "Failed to build Docker image" in message and "failed to solve" in message
    assert len(message.split("Last output:\n", 1)[1].splitlines()) <= cog_cli.TAIL_LINES
    assert fake.latest_version_id("acme/hello") is None  # nothing was registered


def test_push_to_a_missing_model_or_outside_a_cog_dir_fails(fake, cog_dir, tmp_path):
    with pytest.raises(PlatformError, match="does not exist"):
        cog_cli.push("acme/nobody", str(cog_dir), PushOptions())
    with pytest.raises(PlatformError, match="cog.yaml not found"):
        cog_cli.push("acme/hello", str(tmp_path), PushOptions())


def test_push_that_prints_no_version_is_an_error(cog_dir, tmp_path):
    quiet = tmp_path / "bin"
    quiet.mkdir()
    script = quiet / "cog"
    script.write_text("#!/bin/sh\necho 'Image pushed, probably'\n")
    script.chmod(0o755)
    with pytest.raises(PlatformError, match="printed no version id"):
        cog_cli.push("acme/hello", str(cog_dir), PushOptions(), executable=str(script))


def test_stand_in_runs_on_any_python3(fake, cog_dir):
    """The stand-in is stdlib-only: a system python3 without our packages can run it."""
    for python in {sys.executable, shutil.which("python3", path="/usr/bin:/bin")} - {None}:
        done = subprocess.run(
            [python, str(FAKE_BIN / "cog"), "push", "r8.im/acme/hello"],
            cwd=cog_dir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert cog_cli.version_from_output(done.stdout.splitlines()) == fake.latest_version_id(
            "acme/hello"
        )


def test_schema_from_the_project_generator(fake, tmp_path):
    source = (ROOT / "tasks" / "platforms" / "local" / "cog_schema.py").read_text()
    if "__main__" not in source:
        pytest.skip("tasks.platforms.local.cog_schema has no command-line entry point yet")
    directory = tmp_path / "gen"
    directory.mkdir()
    (directory / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (directory / "predict.py").write_text(
        "from cog import BasePredictor, Input\n\n\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self, text: str = Input(description='Text')) -> str:\n"
        "        return 'hello ' + text\n"
    )
    version_id = cog_cli.push("acme/hello", str(directory), PushOptions())
    schema = fake.versions["acme/hello"][0]["openapi_schema"]
    assert version_id == fake.latest_version_id("acme/hello")
    assert "text" in schema["components"]["schemas"]["Input"]["properties"]
