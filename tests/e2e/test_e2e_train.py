"""The train flow end to end, on the local platform (real Cog trainings) and on the fake Replicate."""

from __future__ import annotations

import pytest

from tests.fakes.replicate_server import FakeFile
from tests.helpers import copy_example, edit, run, set_config, stage, versions

MODEL, TEST_MODEL, DEST = "examples/trainable", "examples/trainable-test", "examples/trainable-dest"


@pytest.fixture
def trainable(tmp_path, registry):
    return copy_example("trainable", tmp_path)


def test_train_and_predict_pass_and_push_the_test_model_once(trainable):
    code, report = run(trainable)
    assert code == 0, report
    names = [s["name"] for s in report["stages"]]
    assert names.count("push test model") == 1
    assert names.index("train test cases") < names.index("test cases")
    assert versions(TEST_MODEL) == [report["version"]]
    assert versions(MODEL) == [report["version"]]
    # every training gave the destination a new version whose weights are recorded
    trainings = (
        stage(report, "train test cases")["predictions"]
        + stage(report, "train fuzz")["predictions"]
    )
    assert len(trainings) == 5 and all(t["status"] == "succeeded" for t in trainings)
    assert all("weights.json" in str(t["output"]["weights"]) for t in trainings)
    assert len(versions(DEST)) >= 1


def test_training_input_that_lost_an_input_fails_compatibility(trainable):
    assert run(trainable)[0] == 0
    before = versions(MODEL)
    edit(
        trainable / "train.py",
        '    steps: int = Input(description="Training steps (more is slower)", ge=1, le=10, default=2),\n',
        "",
    )
    edit(trainable / "train.py", '"steps": steps', '"steps": 1')
    set_config(
        trainable,
        train={"train_timeout": 60, "test_cases": [{"inputs": {"greeting": "Hi"}}]},
    )
    code, report = run(trainable)
    assert code == 1
    compat = stage(report, "train schema compatibility")
    assert compat["status"] == "failed" and "steps" in compat["error"]
    assert versions(MODEL) == before


def test_a_training_that_raises_is_found_by_fuzzing(trainable):
    edit(
        trainable / "train.py",
        "    out = Path(",
        '    if steps == 10:\n        raise RuntimeError("diverged at ten steps")\n    out = Path(',
    )
    # 10 iterations: 5 edge cases, among them steps at its maximum, 10
    set_config(trainable, train={"train_timeout": 60, "fuzz": {"iterations": 10}}, predict=None)
    code, report = run(trainable, "--seed", "5")
    assert code == 1
    fuzz = stage(report, "train fuzz")
    failures = [p for p in fuzz["predictions"] if p["verdict"] == "failed"]
    assert failures and all(p["inputs"]["steps"] == 10 for p in failures)
    assert all("diverged at ten steps" in p["message"] for p in failures)
    assert versions(MODEL) == []


def test_trainings_on_replicate_create_the_destination_and_push_once(tmp_path, monkeypatch):
    """The same train+predict config against the fake Replicate API."""
    import os
    import sys

    from tests.fakes.replicate_server import FakeReplicate
    from tests.helpers import BIN, CANARY

    model_dir = copy_example("trainable", tmp_path)
    set_config(model_dir, model="acme/tr", test_model="acme/tr-test")
    set_config(
        model_dir,
        train={
            "destination": "acme/tr-dest",
            "destination_hardware": "gpu-t4",
            "train_timeout": 30,
            "test_cases": [
                {"inputs": {"greeting": "Howdy"}, "jq_query": '.weights | test("weights")'}
            ],
            "fuzz": {"iterations": 2},
        },
    )
    with FakeReplicate(token=CANARY) as fake:
        fake.add_model("acme/tr")
        fake.set_behaviour("acme/tr-test", lambda inputs: f"Hello, {inputs.get('name', 'world')}!")
        fake.set_training_behaviour(
            "acme/tr-test",
            lambda inputs: {"weights": FakeFile("weights.json", b'{"greeting": "x"}')},
        )
        for key, value in {
            "REPLICATE_API_TOKEN": CANARY,
            "REPLICATE_BASE_URL": fake.url,
            "FAKE_REPLICATE_URL": fake.url,
            "FAKE_COG_PYTHON": sys.executable,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "COG_SAFE_PUSH_HOME": str(tmp_path / "cache"),
        }.items():
            monkeypatch.setenv(key, value)
        code, report = run(model_dir, "--platform", "replicate")
        assert code == 0, report
        assert fake.models["acme/tr-dest"]["visibility"] == "private"
        assert fake.models["acme/tr-dest"]["hardware"] == "gpu-t4"
        assert len([p for p in fake.pushes if p["model"] == "acme/tr-test"]) == 1
        assert len([p for p in fake.pushes if p["model"] == "acme/tr"]) == 1
        trainings = [r for r in fake.runs.values() if r.kind == "training"]
        assert len(trainings) == 3 and all(r.destination == "acme/tr-dest" for r in trainings)
        case = stage(report, "train test cases")["predictions"][0]
        assert case["verdict"] == "passed"
        assert str(case["output"]["weights"]).startswith("file://")
