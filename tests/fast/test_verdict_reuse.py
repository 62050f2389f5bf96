"""Verdict reuse (tasks.verdicts): an unchanged rerun spends no prediction, and anything that
could change the verdict runs the checks again."""

from __future__ import annotations

import time

import pytest

from tasks.core.results import StageResult
from tasks.verdicts import VERDICT_TTL, is_fresh, recall, remember
from tests.helpers import cog_dir, edit, openapi, prop, run_flow, stage

MODEL, TEST = "acme/v", "acme/v-test"
DOC = openapi({"text": prop(default="hi")})
CASE = {"inputs": {"text": "a"}, "exact_string": "A"}


def upper(inputs):
    return str(inputs.get("text", "hi")).upper()


def config(**predict):
    predict.setdefault("fuzz", {"iterations": 3})
    predict.setdefault("test_cases", [CASE])
    return {"model": MODEL, "parallel": 2, "predict": predict}


@pytest.fixture
def model_dir(tmp_path):
    return cog_dir(tmp_path)


@pytest.fixture
def live(world):
    world.add_version(MODEL, DOC, upper)
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    return world


def test_an_unchanged_rerun_reuses_the_verdict_and_runs_nothing(live, model_dir):
    code, first = run_flow(live, model_dir, config(), no_push=True)
    assert code == 0, first
    ran = len(live.runs)
    assert ran > 0
    code, again = run_flow(live, model_dir, config(), no_push=True)
    assert code == 0, again
    assert len(live.runs) == ran  # no prediction at all
    for name in ("schema lint", "test cases", "fuzz", "compare outputs"):
        assert stage(again, name)["detail"].startswith("reused"), stage(again, name)
        assert stage(again, name)["status"] == stage(first, name)["status"]
    # the final push still pushes exactly the tested version
    code, pushed = run_flow(live, model_dir, config())
    assert code == 0 and pushed["pushed"] is True
    assert len(live.runs) == ran
    assert live.latest(MODEL).digest == live.latest(TEST).digest


@pytest.mark.parametrize(
    "change",
    ["refresh", "config", "code", "live version"],
)
def test_what_could_change_the_verdict_runs_the_checks_again(live, model_dir, change):
    code, _ = run_flow(live, model_dir, config(), no_push=True)
    assert code == 0
    ran = len(live.runs)
    options: dict = {"no_push": True}
    settings = config()
    if change == "refresh":
        options["refresh"] = True
    elif change == "config":
        settings = config(fuzz={"iterations": 2})
    elif change == "code":
        edit(model_dir / "predict.py", "return text", "return text  # changed")
    else:
        live.add_version(MODEL, DOC, upper)
    code, again = run_flow(live, model_dir, settings, **options)
    assert code == 0, again
    assert len(live.runs) > ran
    assert not (stage(again, "test cases")["detail"] or "").startswith("reused")


def test_a_failed_verdict_is_never_reused(live, model_dir):
    live.set_behaviour(TEST, lambda inputs: "wrong")
    code, _ = run_flow(live, model_dir, config(), no_push=True)
    assert code == 1
    ran = len(live.runs)
    code, again = run_flow(live, model_dir, config(), no_push=True)
    assert code == 1
    assert len(live.runs) > ran
    assert stage(again, "test cases")["status"] == "failed"


def test_a_stored_verdict_expires_and_survives_garbage(tmp_path, monkeypatch):
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(tmp_path))
    remember("k" * 64, [StageResult("fuzz", "passed", detail="6 inputs")], "http://ui/run/1")
    found = recall("k" * 64)
    assert found is not None and found.stages[0].name == "fuzz"
    assert "http://ui/run/1" in found.line()
    later = time.time() + VERDICT_TTL.total_seconds() + 60
    assert recall("k" * 64, now=later) is None
    assert not is_fresh(100.0, 50.0)  # a clock that went back does not make it fresh
    (tmp_path / "verdicts" / ("k" * 64 + ".json")).write_text("{not json")
    assert recall("k" * 64) is None


def test_live_runs_seen_to_repeat_are_replayed_without_a_seed(live, model_dir):
    # the test version answers differently: live is asked twice, and repeats itself exactly
    live.set_behaviour(TEST, lambda inputs: "different")
    code, first = run_flow(live, model_dir, config(fuzz={"iterations": 0}), no_push=True)
    assert code == 1
    compared = stage(first, "compare outputs")["predictions"]
    assert compared and all(p["verdict"] == "failed" for p in compared)
    # the fix: the same live inputs are not paid for again
    live.set_behaviour(TEST, upper)
    edit(model_dir / "predict.py", "return text", "return text  # fixed")
    before = len(live.runs_on(MODEL))
    code, fixed = run_flow(live, model_dir, config(fuzz={"iterations": 0}), no_push=True)
    assert code == 0, fixed
    assert len(live.runs_on(MODEL)) == before
    assert stage(fixed, "compare outputs")["status"] == "passed"


def test_live_runs_that_vary_are_never_replayed(live, model_dir):
    counter = iter(range(1000))
    live.add_version(MODEL, DOC, lambda inputs: f"take {next(counter)}")
    code, _ = run_flow(live, model_dir, config(fuzz={"iterations": 0}), no_push=True)
    before = len(live.runs_on(MODEL))
    edit(model_dir / "predict.py", "return text", "return text  # again")
    run_flow(live, model_dir, config(fuzz={"iterations": 0}), no_push=True)
    assert len(live.runs_on(MODEL)) > before


def test_a_fail_fast_rerun_reuses_every_checked_stage(live, model_dir):
    code, first = run_flow(live, model_dir, config(), no_push=True, fail_fast=True)
    assert code == 0, first
    code, again = run_flow(live, model_dir, config(), no_push=True, fail_fast=True)
    assert code == 0, again
    checked = [s["name"] for s in first["stages"] if s["name"] not in ("code lint",)]
    reused = [s["name"] for s in again["stages"] if (s["detail"] or "").startswith("reused:")]
    assert "schema lint" in reused
    assert set(reused) == set(checked) - {"preflight", "push test model", "push"}
