"""End to end on the local platform: the real CLI, real Prefect flows, real Cog models.

Nothing of our own is mocked. Each test gets a fresh registry, so "the live model" is
whatever an earlier run in the same test pushed.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e import copy_example, edit, run, set_config, stage, versions

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
    # no live version yet: nothing to compare against
    assert "schema compatibility" not in names
    cases = stage(report, "test cases")["predictions"]
    assert [c["verdict"] for c in cases] == ["passed", "passed", "passed"]
    # the error_contains case passed because the prediction failed as expected
    assert cases[2]["status"] == "failed"
    assert len(stage(report, "fuzz")["predictions"]) == 6


def test_identical_schema_passes_against_the_live_version(hello):
    assert run(hello)[0] == 0
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello"  # refactor')
    code, report = run(hello)
    assert code == 0, report
    assert stage(report, "schema compatibility")["status"] == "passed"
    compare = stage(report, "compare outputs")
    assert compare["status"] == "passed"
    assert compare["predictions"][0]["inputs"]["name"] == "Ada"
    assert len(versions(HELLO)) == 2


def test_missing_description_fails_schema_lint_and_pushes_nothing(hello):
    edit(hello / "predict.py", 'description="How many times to greet", ', "")
    code, report = run(hello)
    assert code == 1
    lint = stage(report, "schema lint")
    assert lint["status"] == "failed" and "repeat" in lint["error"]
    assert report["pushed"] is False
    assert versions(HELLO) == []


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


def test_ignore_schema_compatibility_turns_the_failure_into_a_warning(hello):
    assert run(hello)[0] == 0
    edit(hello / "predict.py", "ge=1, le=3", "ge=1, le=2")
    code, report = run(
        hello, "--ignore-schema-compatibility", "--no-push", "--fuzz-iterations", "0"
    )
    assert code == 0, report
    compat = stage(report, "schema compatibility")
    assert compat["status"] == "warning" and any("repeat" in w for w in compat["warnings"])


def test_changed_output_fails_output_comparison(hello):
    assert run(hello)[0] == 0
    before = versions(HELLO)
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Howdy"')
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
    set_config(hello, predict={"fuzz": {"iterations": 6}})
    code, report = run(hello, "--seed", "3")
    assert code == 1
    fuzz = stage(report, "fuzz")
    assert fuzz["status"] == "failed"
    failures = [p for p in fuzz["predictions"] if p["verdict"] == "failed"]
    assert failures and all(p["inputs"]["repeat"] == 3 for p in failures)
    assert all("cannot repeat three times" in p["message"] for p in failures)
    assert all(p["id"] for p in failures)
    assert versions(HELLO) == []


def test_no_push_runs_every_check_and_pushes_nothing(hello):
    code, report = run(hello, "--no-push")
    assert code == 0
    assert report["pushed"] is False and report["version"]
    assert versions(HELLO) == []
    assert versions("examples/hello-test") == [report["version"]]


def test_unchanged_rerun_does_not_push_the_test_model_again(hello):
    code, first = run(hello, "--no-push")
    assert code == 0
    assert stage(first, "push test model")["detail"].startswith("pushed")
    code, second = run(hello, "--no-push")
    assert code == 0
    assert (
        stage(second, "push test model")["detail"]
        == f"reused cached version {first['version'][:12]}"
    )
    assert len(versions("examples/hello-test")) == 1
    # a change in the directory invalidates the cache
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello"  # edited')
    code, third = run(hello, "--no-push")
    assert code == 0 and stage(third, "push test model")["detail"].startswith("pushed")


def test_reports_junit_xml_and_prefect_artifacts(hello, tmp_path):
    import asyncio
    from xml.etree import ElementTree as ET

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from tasks.artifacts import artifact_key

    junit = tmp_path / "junit.xml"
    code, report = run(hello, "--junit-xml", str(junit))
    assert code == 0
    root = ET.parse(junit).getroot()
    predictions = sum(len(s["predictions"]) for s in report["stages"])
    assert int(root.get("tests")) == len(report["stages"]) + predictions
    assert root.get("failures") == "0"

    async def artifacts():
        async with get_client() as client:
            own = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[report["flow_run_id"]])
                )
            )
            progress = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[artifact_key(HELLO, "fuzz-progress")])
                )
            )
            return own, progress

    own, progress = asyncio.run(artifacts())
    kinds = {a.type for a in own}
    assert {"markdown", "table"} <= kinds
    summary = next(a for a in own if a.type == "markdown")
    assert "cog-safe-push ✅ passed" in summary.data and "| fuzz |" in summary.data
    assert progress and progress[0].data == 100.0


def test_failed_predictions_are_failed_task_runs_in_the_prefect_api(hello):
    """The UI tells the truth: a prediction that fails its check is a Failed task run named
    for what it is, its subflow is Failed, and passing predictions are Completed."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    edit(
        hello / "predict.py",
        "        line = ",
        '        if repeat == 3:\n            raise RuntimeError("cannot repeat three times")\n        line = ',
    )
    set_config(hello, predict={"fuzz": {"iterations": 6}})
    code, report = run(hello, "--seed", "3")
    assert code == 1
    failed_labels = {
        p["label"] for p in stage(report, "fuzz")["predictions"] if p["verdict"] == "failed"
    }
    assert failed_labels

    async def task_runs():
        async with get_client() as client:
            parent = await client.read_flow_run(report["flow_run_id"])
            children = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id])
                )
            )
            runs = []
            for child in children:
                runs += await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id={"any_": [child.id]})
                )
            return parent, children, runs

    parent, children, runs = asyncio.run(task_runs())
    assert parent.state.is_failed()
    predict_runs = [c for c in children if c.flow_id and c.state.is_failed()]
    assert predict_runs, [(c.name, c.state.type) for c in children]
    by_name = {run.name: run for run in runs}
    for label in failed_labels:
        assert by_name[label].state.is_failed(), (label, by_name[label].state)
        assert "cannot repeat three times" in by_name[label].state.message
        assert "\\\\" not in by_name[label].state.message
    passed = [p["label"] for p in stage(report, "fuzz")["predictions"] if p["verdict"] == "passed"]
    assert all(by_name[label].state.is_completed() for label in passed)
    assert not [name for name in by_name if re.match(r"^[a-z-]+-[0-9a-f]{3}$", name)], sorted(
        by_name
    )
