"""The safe_push flow on the in-memory fake platform: verdicts, fail-fast, reports, caching.

Every flow runs for real (Prefect flows, subflows, task runs, artifacts, the session's Prefect
server); only the model host is the fake, so each run takes about a second.
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import cog_dir, openapi, prop, run_flow, stage, wait_for

MODEL, TEST = "acme/m", "acme/m-test"
DOC = openapi({"text": prop(default="hi"), "seed": prop("integer", default=None)})


def upper(inputs):
    return str(inputs.get("text", "hi")).upper()


def config(**predict):
    predict.setdefault("fuzz", {"iterations": 3})
    return {"model": MODEL, "parallel": 2, "predict": predict}


CASE = {"inputs": {"text": "a"}, "exact_string": "A"}


@pytest.fixture
def model_dir(tmp_path):
    return cog_dir(tmp_path)


def live_model(world, fn=upper, doc=DOC):
    """The model users run today, and a test model that pushes `fn` too."""
    world.add_version(MODEL, doc, fn)
    world.set_schema(TEST, doc)
    world.set_behaviour(TEST, fn)


def names(report):
    return [s["name"] for s in report["stages"]]


def test_first_push_passes_and_pushes_what_was_tested(world, model_dir):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    code, report = run_flow(world, model_dir, config(test_cases=[CASE]), seed=1)
    assert code == 0, report
    assert names(report) == [
        "preflight",
        "code lint",
        "push test model",
        "schema lint",
        "schema compatibility",
        "compare outputs",
        "test cases",
        "fuzz",
        "push",
    ]
    # nothing to compare with yet: the report says so, rather than lacking the rows
    for skipped in ("schema compatibility", "compare outputs"):
        assert stage(report, skipped)["status"] == "skipped"
        assert (
            stage(report, skipped)["detail"]
            == f"no live version of {MODEL} yet: nothing to compare with"
        )
    assert report["pushed"] is True and world.latest(MODEL).id == report["version"]
    # what is pushed is the tested version's content
    assert world.latest(MODEL).digest == world.latest(TEST).digest
    assert len(stage(report, "fuzz")["predictions"]) == 3


def test_second_run_compares_with_the_live_version(world, model_dir):
    live_model(world)
    code, report = run_flow(world, model_dir, config(test_cases=[CASE]))
    assert code == 0, report
    assert stage(report, "schema compatibility")["status"] == "passed"
    compare = stage(report, "compare outputs")
    assert compare["status"] == "passed"
    assert compare["predictions"][0]["inputs"] == {"text": "a"}
    assert len(world.versions[MODEL]) == 2


def test_a_changed_output_fails_the_comparison_and_pushes_nothing(world, model_dir):
    live_model(world)
    world.set_behaviour(TEST, lambda inputs: str(inputs.get("text", "")).lower())
    code, report = run_flow(
        world, model_dir, config(test_cases=[{"inputs": {"text": "a", "seed": 1}}])
    )
    assert code == 1
    compare = stage(report, "compare outputs")
    assert compare["status"] == "failed" and "'A' became 'a'" in compare["error"]
    assert report["pushed"] is False and len(world.versions[MODEL]) == 1


def test_a_fuzz_input_that_makes_the_model_raise_fails_the_run(world, model_dir):
    world.set_schema(TEST, DOC)

    def fragile(inputs):
        if inputs.get("text") != "hi":
            raise IndexError("list index out of range")
        return "ok"

    world.set_behaviour(TEST, fragile)
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 4}), seed=3)
    assert code == 1
    fuzz = stage(report, "fuzz")
    failed = [p for p in fuzz["predictions"] if p["verdict"] == "failed"]
    assert failed and all("list index out of range" in p["message"] for p in failed)
    assert "Traceback" in failed[0]["logs"]
    assert MODEL not in world.versions


def test_a_breaking_schema_fails_compatibility_unless_ignored(world, model_dir):
    live_model(world)
    world.set_schema(TEST, openapi({"seed": prop("integer", default=None)}))
    code, report = run_flow(world, model_dir, config(fuzz={"iterations": 0}))
    assert code == 1
    compat = stage(report, "schema compatibility")
    assert compat["status"] == "failed" and "text" in compat["error"]
    code, report = run_flow(
        world,
        model_dir,
        {**config(fuzz={"iterations": 0}), "ignore_schema_compatibility": True},
        no_push=True,
    )
    assert code == 0, report
    assert stage(report, "schema compatibility")["status"] == "warning"


def test_an_undescribed_input_fails_schema_lint(world, model_dir):
    world.set_schema(TEST, openapi({"text": {"type": "string", "default": "x"}}))
    code, report = run_flow(world, model_dir, config())
    assert code == 1
    assert "'text' has no description" in stage(report, "schema lint")["error"]


def test_a_test_case_input_the_model_lacks_is_a_usage_error(world, model_dir):
    world.set_schema(TEST, DOC)
    code, report = run_flow(world, model_dir, config(test_cases=[{"inputs": {"prompt": "x"}}]))
    assert code == 2 and report["status"] == "error"
    assert "sends prompt" in stage(report, "inputs")["error"]
    assert world.runs == []


def test_fail_fast_stops_at_the_first_failure_and_skips_the_rest(world, model_dir):
    world.set_schema(TEST, DOC)
    release = threading.Event()

    def slow_unless_broken(inputs):
        if inputs.get("text") == "boom":
            raise RuntimeError("boom")
        release.wait(5)
        return "fine"

    world.set_behaviour(TEST, slow_unless_broken)
    cases = [{"inputs": {"text": "boom"}}]
    code, report = run_flow(
        world, model_dir, config(test_cases=cases, fuzz={"iterations": 6}), fail_fast=True, seed=1
    )
    release.set()
    assert code == 1
    assert stage(report, "test cases")["status"] == "failed"
    fuzz = stage(report, "fuzz")
    assert fuzz["status"] == "skipped"
    # at most the two workers' predictions started; the queued ones never ran
    assert len(world.runs_on(TEST)) <= 1 + 2


def test_a_seeded_passing_prediction_is_not_paid_for_twice(world, model_dir):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    cases = [{"inputs": {"text": "a", "seed": 7}, "exact_string": "A"}]
    flow_config = config(test_cases=cases, fuzz={"iterations": 0})
    assert run_flow(world, model_dir, flow_config, no_push=True)[0] == 0
    assert len(world.runs) == 1
    assert run_flow(world, model_dir, flow_config, no_push=True)[0] == 0
    assert len(world.runs) == 1  # replayed from Prefect's cache
    assert run_flow(world, model_dir, flow_config, no_push=True, refresh=True)[0] == 0
    assert len(world.runs) == 2


def test_no_push_checks_everything_and_pushes_nothing(world, model_dir):
    live_model(world)
    code, report = run_flow(world, model_dir, config(test_cases=[CASE]), no_push=True)
    assert code == 0 and report["pushed"] is False
    assert len(world.versions[MODEL]) == 1


def test_the_deployment_follows_the_pushed_version(world, model_dir):
    live_model(world)
    code, report = run_flow(world, model_dir, {**config(), "deployment": {"name": "m-prod"}})
    assert code == 0, report
    assert world.deployments["acme/m-prod"] == (MODEL, report["version"])


def test_a_failed_test_push_fails_its_stage_and_nothing_else_runs(world, model_dir):
    world.set_schema(TEST, DOC)
    world.fail_push(TEST, "no space left on device")
    code, report = run_flow(world, model_dir, config(test_cases=[CASE]))
    assert code == 1
    assert "no space left on device" in stage(report, "push test model")["error"]
    assert names(report)[-1] == "push test model" and world.runs == []


def test_json_report_and_junit_file(world, model_dir, tmp_path):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    out_json, out_xml = tmp_path / "out" / "report.json", tmp_path / "out" / "junit.xml"
    cases = [CASE, {"inputs": {"text": "b"}, "exact_string": "nope"}]
    code, report = run_flow(
        world,
        model_dir,
        config(test_cases=cases),
        report_json=str(out_json),
        junit_xml=str(out_xml),
    )
    assert code == 1
    written = json.loads(out_json.read_text())
    assert written["status"] == "failed" and written["pushed"] is False
    assert [s["name"] for s in written["stages"]] == names(report)
    suites = ET.parse(out_xml).getroot()
    failures = [c for c in suites.iter("testcase") if c.find("failure") is not None]
    assert any("test case 2" in c.get("name", "") for c in failures)


def test_a_live_version_pushed_during_the_run_is_checked_again(world, model_dir):
    live_model(world)
    narrower = openapi({"seed": prop("integer", default=None)})

    def push_a_new_live_version(inputs):
        if not world.versions[MODEL][-1:] or len(world.versions[MODEL]) == 1:
            world.add_version(MODEL, narrower, upper)
        return upper(inputs)

    world.set_behaviour(TEST, push_a_new_live_version)
    code, report = run_flow(world, model_dir, config(test_cases=[CASE], fuzz={"iterations": 0}))
    # the new live version lacks `text`, which the tested version still has: compatible,
    # so the recheck passes and the push goes ahead against the newer baseline
    recheck = [s for s in report["stages"] if s["name"].startswith("schema compatibility (against")]
    assert len(recheck) == 1 and recheck[0]["status"] == "passed", report
    assert code == 0


def test_trainings_run_into_the_destination(world, model_dir):
    doc = openapi({"text": prop(default="hi")})
    doc["components"]["schemas"]["TrainingInput"] = {
        "type": "object",
        "properties": {"steps": prop("integer", default=1, minimum=1, maximum=3)},
    }
    doc["components"]["schemas"]["TrainingOutput"] = {"type": "object", "properties": {}}
    world.set_schema(TEST, doc)
    (model_dir / "train.py").write_text("def train(steps: int = 1) -> str:\n    return 'w'\n")
    (model_dir / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\ntrain: "train.py:train"\n'
    )
    flow_config = {
        "model": MODEL,
        "train": {"test_cases": [{"inputs": {"steps": 2}}], "fuzz": {"iterations": 2}},
    }
    code, report = run_flow(world, model_dir, flow_config, seed=2)
    assert code == 0, report
    assert stage(report, "train test cases")["status"] == "passed"
    trainings = [r for r in world.runs if r.destination == "acme/m-test-dest"]
    assert len(trainings) == 3
    assert len(world.versions["acme/m-test-dest"]) == 3


def test_an_unchanged_directory_is_not_pushed_to_the_test_model_again(world, model_dir):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    flow_config = config(fuzz={"iterations": 0}, test_cases=[CASE])
    code, first = run_flow(world, model_dir, flow_config, no_push=True)
    assert code == 0 and stage(first, "push test model")["detail"].startswith("pushed")
    code, second = run_flow(world, model_dir, flow_config, no_push=True)
    assert stage(second, "push test model")["detail"] == (
        f"reused cached version {first['version'][:12]}"
    )
    assert len(world.versions[TEST]) == 1
    # a changed directory is pushed again ...
    (model_dir / "predict.py").write_text((model_dir / "predict.py").read_text() + "\n# edited\n")
    code, third = run_flow(world, model_dir, flow_config, no_push=True)
    assert stage(third, "push test model")["detail"].startswith("pushed")
    # ... and so is an unchanged one whose version is no longer the test model's latest
    world.add_version(TEST, DOC, upper)
    code, fourth = run_flow(world, model_dir, flow_config, no_push=True)
    assert stage(fourth, "push test model")["detail"].startswith("pushed")
    assert len(world.versions[TEST]) == 4


def _read_back(report):
    """The run's artifacts and task runs, as the Prefect API has them."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    async def read():
        async with get_client() as client:
            parent = await client.read_flow_run(report["flow_run_id"])
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[report["flow_run_id"]])
                )
            )
            children = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id])
                )
            )
            task_runs = []
            for child in children:
                task_runs += await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id={"any_": [child.id]})
                )
            return parent, artifacts, children, task_runs

    return asyncio.run(read())


def test_failed_checks_are_failed_runs_in_prefect_with_a_summary(world, model_dir):
    """The UI tells the truth: a prediction that fails its check is a Failed task run named
    for what it is, its subflow and the run are Failed, and the report is kept as artifacts."""
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    cases = [CASE, {"inputs": {"text": "b"}, "exact_string": "nope"}]
    code, report = run_flow(world, model_dir, config(test_cases=cases), seed=1)
    assert code == 1

    def settled():
        # Task run states reach the API as events, recorded a moment after the flow returns.
        found = _read_back(report)
        # A task run may be read back before its first state is: not settled yet either.
        done = all(run.state is not None and run.state.is_final() for run in found[3])
        return found if done else None

    parent, artifacts, children, task_runs = wait_for(settled, 30, "every task run to end")
    assert parent.state.is_failed()
    assert [c.state.is_failed() for c in children] == [True]
    by_name = {run.name: run for run in task_runs}
    failed = by_name["test case 2 (exact_string)"]
    assert failed.state.is_failed() and "nope" in failed.state.message
    assert by_name["test case 1 (exact_string)"].state.is_completed()
    fuzz_labels = [p["label"] for p in stage(report, "fuzz")["predictions"]]
    assert len(fuzz_labels) == 3 and all(
        by_name[label].state.is_completed() for label in fuzz_labels
    )
    kinds = {a.type for a in artifacts}
    assert {"markdown", "table"} <= kinds
    summary = next(a for a in artifacts if a.type == "markdown")
    assert "| test cases |" in summary.data and "failed" in summary.data


def test_a_new_builder_or_a_hidden_build_file_pushes_the_test_model_again(world, model_dir):
    """The test-push cache key sees what changes a build besides the directory's content:
    the builder's version (the `cog` CLI), and files cog.yaml names that .dockerignore hides
    from the content digest."""
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    (model_dir / "requirements.txt").write_text("numpy==2.0.0\n")
    (model_dir / ".dockerignore").write_text("requirements.txt\n")
    cog_yaml = model_dir / "cog.yaml"
    cog_yaml.write_text(
        cog_yaml.read_text().replace(
            "build:\n", "build:\n  python_requirements: requirements.txt\n"
        )
    )
    assert "python_requirements" in cog_yaml.read_text()
    flow_config = config(fuzz={"iterations": 0}, test_cases=[CASE])

    def detail() -> str:
        code, report = run_flow(world, model_dir, flow_config, no_push=True)
        assert code == 0, report
        return stage(report, "push test model")["detail"]

    assert detail().startswith("pushed")
    assert detail().startswith("reused cached")
    world.builder_version = "fake cog 1.1"  # `cog` was upgraded
    assert detail().startswith("pushed")
    assert detail().startswith("reused cached")
    (model_dir / "requirements.txt").write_text("numpy==2.1.0\n")  # ignored by Docker, not cog
    assert detail().startswith("pushed")
    assert len(world.versions[TEST]) == 3
