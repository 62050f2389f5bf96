"""Differential testing, flow by flow on the fake platform: edge cases, several comparison
inputs, determinism from evidence, pre-existing failures, latency, and what it all costs.

Each rule has a regression it must block and a safe change it must let through.
"""

from __future__ import annotations

import random
import string

import pytest

from tests.helpers import cog_dir, openapi, prop, run_flow, stage

MODEL, TEST = "acme/m", "acme/m-test"
DOC = openapi(
    {
        "text": prop(default="hello", maxLength=200),
        "punctuation": prop(default="!", enum=["!", ".", "?"]),
        "count": prop("integer", default=1, minimum=1, maximum=3),
    }
)
CASE = {"inputs": {"text": "Ada", "punctuation": "!"}, "exact_string": "Ada!"}


def greet(punctuation_default: str = "!"):
    def behave(inputs):
        text = inputs.get("text", "hello")
        return (text + inputs.get("punctuation", punctuation_default)) * int(inputs.get("count", 1))

    return behave


def config(**predict):
    predict.setdefault("fuzz", {"iterations": 6})
    predict.setdefault("test_cases", [CASE])
    return {"model": MODEL, "parallel": 2, "predict": predict}


@pytest.fixture
def model_dir(tmp_path):
    return cog_dir(tmp_path)


def live_and_candidate(world, live_fn, test_fn, doc=DOC, latency=(0.0, 0.0)):
    world.add_version(MODEL, doc, live_fn, latency=latency[0])
    world.set_schema(TEST, doc)
    world.set_behaviour(TEST, test_fn, latency=latency[1])


def by_label(report, name):
    return {p["label"]: p for p in stage(report, name)["predictions"]}


# --- 1. edge cases ----------------------------------------------------------------------


def crashes_on_empty(inputs):
    text = inputs.get("text", "hello")
    return text[0].upper() + text[1:] + inputs.get("punctuation", "!")


def refuses_empty(inputs):
    if inputs.get("text") == "":
        raise ValueError("text must not be empty")
    return greet()(inputs)


def test_a_first_push_that_crashes_on_an_edge_input_is_blocked(world, model_dir):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, crashes_on_empty)
    code, report = run_flow(world, model_dir, config(), seed=1)
    assert code == 1 and report["pushed"] is False
    fuzz = stage(report, "fuzz")
    crashed = [p for p in fuzz["predictions"] if p["verdict"] == "failed"]
    assert [p["inputs"].get("text") for p in crashed] == [""]
    assert crashed[0]["label"].startswith("edge ") and "text=''" in crashed[0]["label"]
    assert "crash (IndexError" in crashed[0]["message"]


def test_a_deliberate_refusal_of_an_edge_input_is_a_warning_and_pushes(world, model_dir):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, refuses_empty)
    code, report = run_flow(world, model_dir, config(), seed=1)
    assert code == 0 and report["pushed"] is True, report
    fuzz = stage(report, "fuzz")
    assert fuzz["status"] == "warning"
    assert any("text=''" in w and "refused on purpose" in w for w in fuzz["warnings"])


def test_edge_cases_take_half_the_iterations_and_the_rest_is_generated(world, model_dir):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, greet())
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 8}), seed=1)
    assert code == 0, report
    labels = [p["label"] for p in stage(report, "fuzz")["predictions"]]
    assert len(labels) == 8
    assert sum(label.startswith("edge ") for label in labels) == 4
    assert sum(label.startswith("fuzz ") for label in labels) == 4


# --- 2. several comparison inputs: a changed default -------------------------------------


def test_a_changed_default_is_caught_by_the_required_inputs_only_comparison(world, model_dir):
    live_and_candidate(world, greet("!"), greet("."))
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 0}))
    assert code == 1 and report["pushed"] is False
    compared = by_label(report, "compare outputs")
    assert compared["compare 1 (test case 1)"]["verdict"] == "passed"  # sets punctuation
    failed = compared["compare 2 (required inputs only)"]
    assert failed["verdict"] == "failed" and failed["inputs"] == {}
    assert "'hello!' became 'hello.'" in failed["message"]


def test_a_new_optional_input_that_keeps_the_old_behaviour_passes(world, model_dir):
    doc = openapi(
        {
            **DOC["components"]["schemas"]["Input"]["properties"],
            "shout": prop("boolean", default=False),
        }
    )

    def with_shout(inputs):
        out = greet()(inputs)
        return out.upper() if inputs.get("shout") else out

    world.add_version(MODEL, DOC, greet())
    world.set_schema(TEST, doc)
    world.set_behaviour(TEST, with_shout)
    code, report = run_flow(world, model_dir, config(), seed=2)
    assert code == 0 and report["pushed"] is True, report
    compare = stage(report, "compare outputs")
    assert compare["status"] == "passed" and len(compare["predictions"]) == 3


# --- 3. determinism from evidence -------------------------------------------------------


def test_a_deterministic_live_output_must_be_matched_exactly(world, model_dir):
    """No seed anywhere, no AI key: yet live answers the same twice, so the candidate that
    lost its last word is a mismatch, not "unverified"."""

    def story(inputs):
        return "once upon a time there was " + inputs.get("text", "hello")

    def lossy(inputs):
        return story(inputs).rsplit(" ", 1)[0]

    live_and_candidate(world, story, lossy)
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 0}, test_cases=[]))
    assert code == 1
    failed = [
        p for p in stage(report, "compare outputs")["predictions"] if p["verdict"] == "failed"
    ]
    assert failed
    assert "the live version gives this text every time" in failed[0]["message"]
    # the second live run that proved it is on the record
    assert [r for r in world.runs_on(MODEL) if r.inputs == failed[0]["inputs"]][1:]


def test_a_random_live_output_is_judged_by_its_own_variation(world, model_dir):
    """Made-up words, as a chatty model's: one sample of live's variation is a steady
    yardstick for them (about 1 in 20,000 such comparisons falls outside it; six words from
    a vocabulary of eight fall outside 8% of the time and leave it to the AI)."""
    letters = string.ascii_letters + string.digits

    def word():
        return "".join(random.choice(letters) for _ in range(random.randint(3, 8)))

    def random_words(inputs):
        return " ".join(word() for _ in range(20))

    live_and_candidate(world, random_words, random_words)
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 0}, test_cases=[]))
    assert code == 0 and report["pushed"] is True, report
    compare = stage(report, "compare outputs")
    assert compare["status"] == "passed"
    assert all("varies from run to run" in p["message"] for p in compare["predictions"])


def test_a_random_output_replaced_by_an_empty_one_fails(world, model_dir):
    def random_words(inputs):
        return " ".join(random.choice(["a", "b", "c", "d"]) for _ in range(5))

    live_and_candidate(world, random_words, lambda inputs: " ")
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 0}, test_cases=[]))
    assert code == 1
    assert "empty where the current one has text" in stage(report, "compare outputs")["error"]


# --- 4. pre-existing failures -----------------------------------------------------------


def test_a_crash_the_live_version_shares_is_a_warning_unless_configured_to_block(world, model_dir):
    live_and_candidate(world, crashes_on_empty, crashes_on_empty)
    code, report = run_flow(world, model_dir, config(), seed=1)
    assert code == 0 and report["pushed"] is True, report
    fuzz = stage(report, "fuzz")
    assert fuzz["status"] == "warning"
    assert any("pre-existing" in w and "text=''" in w for w in fuzz["warnings"])
    live_and_candidate(world, crashes_on_empty, crashes_on_empty)
    code, report = run_flow(world, model_dir, config(fail_on_preexisting=True), seed=1)
    assert code == 1 and report["pushed"] is False
    assert "pre-existing" in stage(report, "fuzz")["error"]


def test_a_crash_the_live_version_does_not_have_is_a_regression(world, model_dir):
    live_and_candidate(world, greet(), crashes_on_empty)
    code, report = run_flow(world, model_dir, config(), seed=1)
    assert code == 1
    assert "regression: the live version succeeds on this input" in stage(report, "fuzz")["error"]


def test_refusing_an_input_the_live_version_takes_is_a_regression(world, model_dir):
    live_and_candidate(world, greet(), refuses_empty)
    code, report = run_flow(world, model_dir, config(), seed=1)
    assert code == 1
    assert "now refuses it" in stage(report, "fuzz")["error"]


# --- 6. latency -------------------------------------------------------------------------


def test_a_much_slower_candidate_warns_and_blocks_when_configured(world, model_dir):
    live_and_candidate(world, greet(), greet(), latency=(0.02, 0.2))
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 4}), seed=3)
    assert code == 0 and report["pushed"] is True, report
    latency = stage(report, "latency")
    assert latency["status"] == "warning" and "slower than live" in latency["warnings"][0]
    live_and_candidate(world, greet(), greet(), latency=(0.02, 0.2))
    code, report = run_flow(
        world, model_dir, config(fuzz={"iterations": 4}, fail_on_slowdown=True), seed=3
    )
    assert code == 1 and stage(report, "latency")["status"] == "failed"


def test_a_faster_candidate_passes_the_latency_check(world, model_dir):
    live_and_candidate(world, greet(), greet(), latency=(0.1, 0.02))
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 4}), seed=3)
    assert code == 0, report
    latency = stage(report, "latency")
    assert latency["status"] == "passed" and "median of 3 inputs" in latency["detail"]


# --- 7. costs ---------------------------------------------------------------------------


def test_the_comparison_reuses_test_runs_and_says_what_it_cost(world, model_dir):
    live_and_candidate(world, greet(), greet())
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 4}), seed=4)
    assert code == 0, report
    compare = stage(report, "compare outputs")
    assert len(compare["predictions"]) == 3
    assert "3 input(s) compared at a cost of 3 live prediction(s)" in compare["detail"]
    assert "1 test prediction(s) of its own; 2 test run(s) shared" in compare["detail"]
    # the test case ran once on the test version, for its check and the comparison both
    case_runs = [r for r in world.runs_on(TEST) if r.inputs == CASE["inputs"]]
    assert len(case_runs) == 1
    # identical outputs need no second run of live
    assert len(world.runs_on(MODEL)) == 3
