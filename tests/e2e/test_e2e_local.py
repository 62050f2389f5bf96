"""End to end on the local platform: the real CLI, real Prefect flows, real Cog models.

Nothing of our own is mocked. Each test gets a fresh registry, so "the live model" is
whatever an earlier run in the same test pushed.
"""

from __future__ import annotations

import pytest

from tests.helpers import copy_example, edit, run, set_config, stage, versions

pytestmark = pytest.mark.usefixtures("registry")

HELLO = "examples/hello"


@pytest.fixture
def hello(tmp_path):
    return copy_example("hello", tmp_path)


def test_first_push_of_a_new_model_passes_and_pushes(hello):
    code, report = run(hello)
    assert code == 0, report
    assert report["status"] == "passed" and report["pushed"] is True
    assert versions(HELLO) == [report["version"]]
    names = [s["name"] for s in report["stages"]]
    assert names[:3] == ["preflight", "code lint", "push test model"]
    assert "fuzz" in names and "test cases" in names and names[-1] == "push"
    # no live version yet: nothing to compare against, and the report says so
    assert stage(report, "schema compatibility")["status"] == "skipped"
    assert stage(report, "compare outputs")["status"] == "skipped"
    cases = stage(report, "test cases")["predictions"]
    assert [c["verdict"] for c in cases] == ["passed", "passed", "passed"]
    # the error_contains case passed because the prediction failed as expected
    assert cases[2]["status"] == "failed"
    assert len(stage(report, "fuzz")["predictions"]) == 6


def test_removed_input_fails_compatibility_naming_it(hello):
    assert run(hello)[0] == 0
    before = versions(HELLO)
    edit(
        hello / "predict.py",
        '        repeat: int = Input(description="How many times to greet", ge=1, le=3, default=1),\n',
        "",
    )
    edit(hello / "predict.py", "[line] * repeat", "[line]")
    set_config(
        hello,
        predict={
            "test_cases": [{"inputs": {"name": "Ada", "seed": 1}, "exact_string": "Hello, Ada!"}]
        },
    )
    code, report = run(hello)
    assert code == 1
    compat = stage(report, "schema compatibility")
    assert compat["status"] == "failed" and "repeat" in compat["error"]
    assert "repeat" in report["error"]
    assert versions(HELLO) == before


def test_a_refactor_passes_and_a_changed_output_fails_against_the_live_version(hello):
    assert run(hello)[0] == 0
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello"  # refactor')
    code, report = run(hello)
    assert code == 0, report
    assert stage(report, "schema compatibility")["status"] == "passed"
    compare = stage(report, "compare outputs")
    assert compare["status"] == "passed"
    assert compare["predictions"][0]["inputs"]["name"] == "Ada"
    before = versions(HELLO)
    assert len(before) == 2
    edit(hello / "predict.py", 'self.greeting = "Hello"  # refactor', 'self.greeting = "Howdy"')
    code, report = run(hello)
    assert code == 1
    compare = stage(report, "compare outputs")
    assert compare["status"] == "failed"
    assert "Hello" in compare["error"] and "Howdy" in compare["error"]
    # every failure is reported, not only the first: the exact_string case fails too
    assert stage(report, "test cases")["status"] == "failed"
    assert versions(HELLO) == before


def test_input_that_makes_the_model_raise_is_found_by_fuzzing(hello):
    edit(
        hello / "predict.py",
        "        line = ",
        '        if repeat == 3:\n            raise RuntimeError("cannot repeat three times")\n        line = ',
    )
    # 8 iterations: 4 edge cases, among them repeat at its maximum, 3
    set_config(hello, predict={"fuzz": {"iterations": 8}})
    code, report = run(hello, "--seed", "3")
    assert code == 1
    fuzz = stage(report, "fuzz")
    assert fuzz["status"] == "failed"
    failures = [p for p in fuzz["predictions"] if p["verdict"] == "failed"]
    assert failures and all(p["inputs"]["repeat"] == 3 for p in failures)
    assert all("cannot repeat three times" in p["message"] for p in failures)
    assert all(p["id"] for p in failures)
    assert versions(HELLO) == []


def test_no_push_wins_over_push_official_model(hello):
    """As in the seed tool: with both flags the normal checks run and nothing is pushed."""
    set_config(hello, official_model="examples/hello-official")
    code, report = run(hello, "--push-official-model", "--no-push")
    assert code == 0, report
    assert report["pushed"] is False
    names = [s["name"] for s in report["stages"]]
    assert "push official model" not in names and "fuzz" in names
    assert versions("examples/hello-official") == [] and versions(HELLO) == []
