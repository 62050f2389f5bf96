"""The push window (tasks.push_window): what does not need the test version runs while the
test model is pushed, is checked against the real schema afterwards, and is canceled when
the push fails or --fail-fast stops the run.

The fake platform's push takes `world.push_seconds`, so "during the push" is observable: every
run the fake starts has a start time, and every push its (start, end).
"""

from __future__ import annotations

import pytest

from tasks.core.openapi import input_schema
from tasks.fuzz.validate import validate_payload
from tests.helpers import cog_dir, openapi, prop, run_flow, stage

MODEL, TEST = "acme/w", "acme/w-test"
DOC = openapi({"text": prop(default="hi"), "seed": prop("integer", default=None)})
CASE = {"inputs": {"text": "a"}, "exact_string": "A"}


def upper(inputs):
    text = inputs.get("text", "hi")
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {text!r}")
    return text.upper()


def config(**predict):
    predict.setdefault("fuzz", {"iterations": 4})
    return {"model": MODEL, "parallel": 4, "predict": predict}


@pytest.fixture
def model_dir(tmp_path):
    return cog_dir(tmp_path)


def live_and_test(world, live_latency=0.0):
    world.add_version(MODEL, DOC, upper, latency=live_latency)
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)


def test_live_runs_and_the_fuzz_plan_are_done_during_the_push(world, model_dir):
    live_and_test(world)
    world.push_seconds = 1.5
    code, report = run_flow(world, model_dir, config(test_cases=[CASE], compare_inputs=4), seed=3)
    assert code == 0, report
    _, push_end = world.push_spans[0]
    live_runs = world.runs_on(MODEL)
    compared = stage(report, "compare outputs")["predictions"]
    sources = [p["label"] for p in compared]
    assert any("fuzz" in label for label in sources), sources  # the plan was ready in time
    assert len(live_runs) == len(compared)  # each input once on live: none run twice
    assert all(run.started < push_end for run in live_runs)
    # and nothing ran on the test version before it existed
    assert all(run.started >= push_end for run in world.runs_on(TEST))


def test_the_first_test_case_starts_before_the_schema_checks(world, model_dir):
    live_and_test(world)
    world.read_seconds = 1.0  # reading the test version's schema takes a while
    code, report = run_flow(world, model_dir, config(test_cases=[CASE]), seed=3)
    assert code == 0, report
    read_start, read_end = next((s, e) for ref, s, e in world.version_reads if ref == TEST)
    case_run = next(r for r in world.runs_on(TEST) if r.inputs == CASE["inputs"])
    assert case_run.started < read_end
    assert stage(report, "test cases")["status"] == "passed"


def test_a_wrong_schema_prediction_is_refit_to_the_real_schema(world, model_dir):
    live_and_test(world)
    # the platform predicts an integer `text`; the push says it is a string
    wrong = openapi({"text": prop("integer", default=1), "seed": prop("integer", default=None)})
    world.predict_schema(TEST, wrong)
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 6}), seed=5)
    assert code == 0, report
    real = input_schema(DOC)
    sent = [run.inputs for run in world.runs_on(TEST)]
    assert len(stage(report, "fuzz")["predictions"]) == 6
    assert sent and all(not validate_payload(inputs, real) for inputs in sent), sent


def test_without_a_prediction_the_plan_waits_for_the_push(world, model_dir):
    live_and_test(world)
    world.predict_schema(TEST, None)
    world.push_seconds = 0.5
    code, report = run_flow(world, model_dir, config(test_cases=[CASE]), seed=3)
    assert code == 0, report
    _, push_end = world.push_spans[0]
    assert len(stage(report, "fuzz")["predictions"]) == 4
    # the live version is still asked, but only after the real schema is known
    assert all(run.started >= push_end for run in world.runs_on(MODEL))


def test_a_failed_push_cancels_the_live_runs_it_started(world, model_dir):
    live_and_test(world, live_latency=30.0)
    world.push_seconds = 1.0
    world.fail_push(TEST, "the build broke")
    code, report = run_flow(world, model_dir, config(test_cases=[CASE]), seed=3)
    assert code == 1
    assert stage(report, "push test model")["status"] == "failed"
    live_runs = world.runs_on(MODEL)
    assert live_runs  # the window had started them
    assert all(run.status == "canceled" for run in live_runs), [r.status for r in live_runs]
    assert world.runs_on(TEST) == []
    assert report["pushed"] is False


def test_fail_fast_lints_before_the_push_and_a_lint_failure_starts_nothing(world, tmp_path):
    live_and_test(world)
    broken = cog_dir(tmp_path, predictor="import os\n\ndef predict(:\n")
    code, report = run_flow(world, broken, config(test_cases=[CASE]), fail_fast=True)
    assert code == 1
    assert stage(report, "code lint")["status"] == "failed"
    assert world.pushes == [] and world.runs == []
