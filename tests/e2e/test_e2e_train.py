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
    # the example's trained version greets with the word its training taught it
    (on_trained,) = stage(report, "train test cases")["predictions"][0]["trained_predictions"]
    assert on_trained["verdict"] == "passed" and on_trained["output"] == "Howdy, Ada!"


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


# --- a training is only good if its result predicts (predictions on the trained version) ---


def _runs_on(registry, model: str) -> list[dict]:
    """The local registry's prediction runs on `model` (what really ran, and where)."""
    import json

    runs = [json.loads(p.read_text()) for p in (registry / "runs").glob("*.json")]
    return [r for r in runs if r["model"] == model and r["kind"] == "prediction"]


def _trained_config(cases, **section):
    return {
        "destination": DEST,
        "train_timeout": 60,
        "test_cases": cases,
        **section,
    }


def test_a_prediction_on_the_trained_version_runs_on_the_destination_and_passes(
    trainable, registry
):
    set_config(
        trainable,
        predict={"predict_timeout": 45},
        train=_trained_config(
            [
                {
                    "inputs": {"greeting": "Howdy", "steps": 1},
                    "jq_query": '.weights | test("weights.json")',
                    "predictions": [{"inputs": {"name": "Ada"}, "exact_string": "Howdy, Ada!"}],
                }
            ]
        ),
    )
    code, report = run(trainable)
    assert code == 0, report
    assert versions(MODEL) == [report["version"]]  # pushed
    (training,) = stage(report, "train test cases")["predictions"]
    assert training["verdict"] == "passed"
    dest_model, trained_id = training["trained_version"].split(":")
    assert dest_model == DEST and trained_id in versions(DEST)
    assert trained_id != report["version"]  # a new version: the test version's code, trained
    (on_trained,) = training["trained_predictions"]
    assert on_trained["label"] == "train test case 1 → prediction 1 (exact_string)"
    assert on_trained["verdict"] == "passed" and on_trained["output"] == "Howdy, Ada!"
    assert on_trained["version"] == trained_id
    assert "1 prediction(s) on the trained version" in training["message"]
    # it really ran on the destination's trained version, not on the test model
    (ran,) = _runs_on(registry, DEST)
    assert ran["id"] == on_trained["id"] and ran["version"] == trained_id
    assert ran["input"] == {"name": "Ada"} and ran["output"] == "Howdy, Ada!"


def test_a_failing_prediction_on_the_trained_version_fails_the_training_and_blocks_the_push(
    trainable, registry
):
    from tasks.report.render import failure_bullets, junit_xml, prediction_rows

    set_config(
        trainable,
        predict=None,
        train=_trained_config(
            [
                {
                    "inputs": {"greeting": "Howdy", "steps": 1},
                    "predictions": [
                        # the trained model greets with "Howdy": this one fails
                        {"inputs": {"name": "Ada"}, "exact_string": "Hello, Ada!"},
                        # an input the trained model does not take: a clear failure, not sent
                        {"inputs": {"colour": "red"}},
                    ],
                }
            ]
        ),
    )
    code, report = run(trainable)
    assert code == 1, report
    assert versions(MODEL) == [] and not report["pushed"]
    cases = stage(report, "train test cases")
    assert cases["status"] == "failed"
    (training,) = cases["predictions"]
    assert training["status"] == "succeeded" and training["verdict"] == "failed"
    trained_id = training["trained_version"].split(":")[1]
    named = f"{DEST}:{trained_id[:12]}"
    # the message says which prediction, on which trained version, failed and why
    assert training["message"].startswith(
        f"prediction 1 (exact_string) on the trained version {named} failed: "
    )
    assert "Howdy, Ada!" in training["message"]
    assert "prediction 2 (must succeed) failed too: sends colour" in training["message"]
    assert f"on the trained version {named} failed" in cases["error"]
    assert f"on the trained version {named} failed" in report["error"]
    first, second = training["trained_predictions"]
    assert first["verdict"] == "failed" and first["output"] == "Howdy, Ada!"
    assert second["verdict"] == "failed" and second["status"] == "not run"
    assert "which the trained version does not take; its inputs are: name" in second["message"]
    assert [r["input"] for r in _runs_on(registry, DEST)] == [{"name": "Ada"}]  # not sent
    # the report shows the training and its failed prediction together
    names = [row["name"] for row in prediction_rows(report)]
    assert names[:3] == [
        "train test case 1 (must succeed)",
        "train test case 1 → prediction 1 (exact_string)",
        "train test case 1 → prediction 2 (must succeed)",
    ]
    (bullet,) = failure_bullets(report)
    assert "train test case 1 (must succeed)" in bullet
    assert "train test case 1 → prediction 1 (exact_string)" in bullet  # linked to its run
    assert 'name="train test case 1 → prediction 1 (exact_string)"' in junit_xml(report)


def test_section_predictions_run_on_every_trained_version_that_names_none(trainable, registry):
    set_config(
        trainable,
        predict=None,
        train=_trained_config(
            [
                {"inputs": {"greeting": "Howdy", "steps": 1}},
                {
                    "inputs": {"greeting": "Hi", "steps": 1},
                    "predictions": [{"inputs": {"name": "Bob"}, "exact_string": "Hi, Bob!"}],
                },
                {"inputs": {"greeting": "Hey", "steps": 1}, "predictions": []},
                {"inputs": {"greeting": "Yo", "steps": 2}},
            ],
            predictions=[{"inputs": {"name": "Ada"}, "jq_query": 'endswith(", Ada!")'}],
        ),
    )
    code, report = run(trainable)
    assert code == 0, report
    howdy, hi, hey, yo = stage(report, "train test cases")["predictions"]
    assert [p["output"] for p in howdy["trained_predictions"]] == ["Howdy, Ada!"]
    assert [p["output"] for p in hi["trained_predictions"]] == ["Hi, Bob!"]
    assert hey["trained_predictions"] == []
    assert [p["output"] for p in yo["trained_predictions"]] == ["Yo, Ada!"]
    trained = {p["trained_version"] for p in (howdy, hi, hey, yo)}
    assert len(trained) == 4  # each training made a version of its own
    ran = {(r["version"], r["output"]) for r in _runs_on(registry, DEST)}
    assert ran == {
        (t["trained_version"].split(":")[1], p["output"])
        for t in (howdy, hi, yo)
        for p in t["trained_predictions"]
    }


def test_a_failed_training_runs_no_predictions_on_its_version(trainable, registry):
    edit(
        trainable / "train.py",
        "    out = Path(",
        '    if greeting == "Boom":\n        raise RuntimeError("diverged")\n    out = Path(',
    )
    set_config(
        trainable,
        predict=None,
        train=_trained_config(
            [{"inputs": {"greeting": "Boom", "steps": 1}}],
            predictions=[{"inputs": {"name": "Ada"}}],
        ),
    )
    code, report = run(trainable)
    assert code == 1, report
    assert versions(MODEL) == []
    (training,) = stage(report, "train test cases")["predictions"]
    assert training["verdict"] == "failed" and "diverged" in training["message"]
    assert training["trained_version"] is None
    (skipped,) = training["trained_predictions"]
    assert skipped["verdict"] == "skipped"
    assert skipped["message"] == "not run: the training failed"
    assert _runs_on(registry, DEST) == []


def _fake_replicate_trainable(tmp_path, monkeypatch, fake, cases, **section):
    from tests.helpers import use_fake_replicate

    model_dir = copy_example("trainable", tmp_path)
    set_config(model_dir, model="acme/tr", test_model="acme/tr-test", predict=None)
    set_config(
        model_dir,
        train={"destination": "acme/tr-dest", "train_timeout": 30, "test_cases": cases, **section},
    )
    fake.add_model("acme/tr")

    def training(inputs):
        if inputs.get("greeting") == "Boom":
            raise RuntimeError("diverged")
        return {"weights": FakeFile("weights.json", b'{"greeting": "Howdy"}')}

    fake.set_training_behaviour("acme/tr-test", training)
    use_fake_replicate(monkeypatch, fake.url, tmp_path / "cache")
    return model_dir


def test_predictions_on_replicate_run_on_the_destination_version_the_training_made(
    tmp_path, monkeypatch
):
    from tests.fakes.replicate_server import FakeReplicate
    from tests.helpers import CANARY

    with FakeReplicate(token=CANARY) as fake:
        model_dir = _fake_replicate_trainable(
            tmp_path,
            monkeypatch,
            fake,
            [{"inputs": {"greeting": "Howdy"}}],
            predictions=[{"inputs": {"name": "Ada"}, "exact_string": "Howdy, Ada!"}],
        )
        # every version of the destination greets as the training taught it
        fake.set_behaviour("acme/tr-dest", lambda inputs: f"Howdy, {inputs.get('name')}!")
        code, report = run(model_dir, "--platform", "replicate")
        assert code == 0, report
        assert len([p for p in fake.pushes if p["model"] == "acme/tr"]) == 1
        trained_id = fake.latest_version_id("acme/tr-dest")
        (training,) = stage(report, "train test cases")["predictions"]
        assert training["trained_version"] == f"acme/tr-dest:{trained_id}"
        (on_trained,) = training["trained_predictions"]
        assert on_trained["verdict"] == "passed" and on_trained["version"] == trained_id
        (ran,) = fake.predictions_of(trained_id)
        assert ran.model == "acme/tr-dest" and ran.input == {"name": "Ada"}
        assert ran.id == on_trained["id"]


def test_a_failing_prediction_on_a_replicate_trained_version_blocks_the_push(tmp_path, monkeypatch):
    from tests.fakes.replicate_server import FakeReplicate
    from tests.helpers import CANARY

    with FakeReplicate(token=CANARY) as fake:
        model_dir = _fake_replicate_trainable(
            tmp_path,
            monkeypatch,
            fake,
            [
                {"inputs": {"greeting": "Howdy"}},
                {"inputs": {"greeting": "Boom"}},  # its training fails: nothing runs on it
            ],
            predictions=[{"inputs": {"name": "Ada"}, "exact_string": "Howdy, Ada!"}],
        )
        # the trained versions did not learn the greeting
        fake.set_behaviour("acme/tr-dest", lambda inputs: f"Hello, {inputs.get('name')}!")
        code, report = run(model_dir, "--platform", "replicate")
        assert code == 1, report
        assert [p for p in fake.pushes if p["model"] == "acme/tr"] == []
        trained_id = fake.latest_version_id("acme/tr-dest")
        howdy, boom = stage(report, "train test cases")["predictions"]
        assert howdy["verdict"] == "failed"
        assert howdy["message"] == (
            f"prediction 1 (exact_string) on the trained version acme/tr-dest:{trained_id[:12]} "
            'failed: expected "Howdy, Ada!", got "Hello, Ada!"'
        )
        assert boom["verdict"] == "failed" and "diverged" in boom["message"]
        assert boom["trained_predictions"][0]["verdict"] == "skipped"
        assert len(fake.versions["acme/tr-dest"]) == 1  # the failed training made none
        (ran,) = [r for r in fake.runs.values() if r.kind == "prediction"]
        assert ran.model == "acme/tr-dest" and ran.version == trained_id


def test_predictions_in_a_predict_test_case_exit_2_in_one_line(trainable, registry, capsys):
    set_config(
        trainable,
        predict={"test_cases": [{"inputs": {"name": "Ada"}, "predictions": [{"inputs": {}}]}]},
    )
    code, report = run(trainable)
    assert code == 2 and report == {}
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in errors[0]
    assert "predict test case 1 has 'predictions', which only a train test case takes" in errors[0]
    assert versions(TEST_MODEL) == []


def test_a_match_prompt_on_a_trained_version_needs_the_ai_before_anything_runs(
    trainable, registry, capsys, monkeypatch
):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    set_config(
        trainable,
        predict=None,
        train=_trained_config(
            [{"inputs": {"greeting": "Howdy", "steps": 1}}],
            predictions=[{"inputs": {"name": "Ada"}, "match_prompt": "a greeting"}],
        ),
    )
    code, _ = run(trainable)
    assert code == 2
    assert "needs the AI" in capsys.readouterr().err
    assert versions(TEST_MODEL) == []
