"""Results that stay true, end to end on the local platform with real Cog models: which inputs
the comparison uses, what is cached (and what is not), and what artifacts keep."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import copy_example, run, set_config, stage, versions

pytestmark = pytest.mark.usefixtures("registry")

MODELS = Path(__file__).resolve().parents[1] / "models"

COUNTED = """
import os
from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(
        self,
        image: Path = Input(description="An image"),
        seed: int = Input(description="Random seed", default=0),
    ) -> str:
        with open(os.environ["COG_TEST_CALLS"], "a") as calls:
            calls.write("call\\n")
        flaky = os.environ["COG_TEST_FLAKY"]
        if os.path.exists(flaky):  # fails once, like a worker that lost its GPU
            os.remove(flaky)
            raise RuntimeError("CUDA error: device lost")
        return f"{os.path.getsize(image)} bytes"
"""


def calls(path: Path) -> int:
    return len(path.read_text().split()) if path.exists() else 0


@pytest.fixture
def counted(tmp_path, monkeypatch):
    folder = tmp_path / "counted"
    folder.mkdir()
    (folder / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(COUNTED)
    image = tmp_path / "input.png"
    Image.new("RGB", (8, 8), "red").save(image)
    (folder / "cog-safe-push.yaml").write_text(
        "model: acme/counted\npredict:\n  test_cases:\n"
        f"    - inputs: {{image: {image.as_uri()}, seed: 1}}\n"
    )
    monkeypatch.setenv("COG_TEST_CALLS", str(tmp_path / "calls.txt"))
    monkeypatch.setenv("COG_TEST_FLAKY", str(tmp_path / "flaky"))
    return folder, image, tmp_path / "calls.txt", tmp_path / "flaky"


def test_comparison_uses_a_case_that_is_expected_to_succeed(tmp_path):
    """With the error_contains case first, the comparison still runs on inputs that work on
    both versions: an unchanged rerun passes."""
    hello = copy_example("hello", tmp_path)
    config = set_config(hello)
    cases = config["predict"]["test_cases"]
    set_config(hello, predict={**config["predict"], "test_cases": [cases[2], *cases[:2]]})
    assert run(hello, "--fuzz-iterations", "0")[0] == 0
    code, report = run(hello, "--fuzz-iterations", "0")
    assert code == 0, report
    compare = stage(report, "compare outputs")
    assert compare["status"] == "passed"
    assert compare["predictions"][0]["inputs"].get("repeat") != 7


def test_a_failed_seeded_prediction_is_never_replayed_from_the_cache(counted):
    folder, _, calls_file, flaky = counted
    flaky.touch()
    code, report = run(folder, "--no-push", "--fuzz-iterations", "0")
    assert code == 1 and "device lost" in stage(report, "test cases")["error"]
    code, report = run(folder, "--no-push", "--fuzz-iterations", "0")
    assert code == 0, report  # it ran again, and the infrastructure had recovered
    assert calls(calls_file) == 2
    # a passing seeded prediction is cached: the third run does not call the model
    code, _ = run(folder, "--no-push", "--fuzz-iterations", "0")
    assert code == 0 and calls(calls_file) == 2


def test_a_changed_input_file_is_a_new_prediction_and_refresh_ignores_the_cache(counted):
    folder, image, calls_file, _ = counted
    assert run(folder, "--no-push", "--fuzz-iterations", "0")[0] == 0
    assert run(folder, "--no-push", "--fuzz-iterations", "0")[0] == 0
    assert calls(calls_file) == 1  # same URL, same content: cached
    Image.new("RGB", (16, 16), "blue").save(image)  # same URL, new content
    code, report = run(folder, "--no-push", "--fuzz-iterations", "0")
    assert code == 0 and calls(calls_file) == 2
    assert "bytes" in stage(report, "test cases")["predictions"][0]["output"]
    code, _ = run(folder, "--no-push", "--fuzz-iterations", "0", "--refresh")
    assert code == 0 and calls(calls_file) == 3


def test_image_outputs_are_kept_in_the_artifacts(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    folder = tmp_path / "files"
    shutil.copytree(MODELS / "files", folder)
    image = tmp_path / "in.png"
    Image.new("RGB", (40, 30), "green").save(image)
    (folder / "cog-safe-push.yaml").write_text(
        f"model: acme/files\npredict:\n  test_cases:\n    - inputs: {{image: {image}}}\n"
    )
    code, report = run(folder, "--fuzz-iterations", "0", "--no-push")
    assert code == 0, report

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[report["flow_run_id"]])
                )
            )

    found = {a.key: a for a in asyncio.run(artifacts()) if a.key}
    images = found["acme-files-images"].data
    assert "![test cases / test case 1 \\(must succeed\\)](data:image/jpeg;base64," in images
    assert "file://" not in images and "http" not in images


def test_a_removed_input_is_reported_as_breaking_or_ignored(tmp_path):
    """Cog's runtime ignores an input it does not know, so the message says what happens
    honestly: callers break or have the input ignored."""
    hello = copy_example("hello", tmp_path)
    assert run(hello, "--fuzz-iterations", "0")[0] == 0
    text = (hello / "predict.py").read_text()
    start = text.index("        punctuation: str = Input(")
    end = text.index("        repeat: int")
    (hello / "predict.py").write_text(text[:start] + text[end:].replace("{punctuation}", "!"))
    set_config(hello, predict={"test_cases": [{"inputs": {"name": "Ada"}}]})
    code, report = run(hello, "--fuzz-iterations", "0")
    assert code == 1
    compat = stage(report, "schema compatibility")
    assert "punctuation" in compat["error"]
    assert "callers that send it will break or have it ignored" in compat["error"]
    assert len(versions("examples/hello")) == 1
    assert os.environ.get("COG_SAFE_PUSH_HOME")
