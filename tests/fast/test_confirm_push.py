"""Confirm what landed (issue #20, point 6): after the final push the model's latest version,
read fresh, must be the version pushed, with the tested schema; only then is the deployment
updated. Otherwise the run says so in one line and ends "unconfirmed" (exit 4).

The rule itself (tasks.confirm) on plain data; then whole flows on the in-memory fake
platform, where `world.on_push` scripts what the platform does right after a push lands.
"""

from __future__ import annotations

import copy
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from flows.console import Console
from flows.runtime import EXIT_NO_PREFECT
from flows.safe_push_flow import verdict_line
from tasks.confirm import interface_differences, unconfirmed_line, why_unconfirmed
from tasks.core.errors import EXIT_CODES
from tasks.core.platform_data import VersionInfo
from tasks.core.retry import STAGE_RETRIES
from tests.fakes.platform import FakeWorld
from tests.helpers import cog_dir, openapi, prop, run_flow, stage, task_run_histories

MODEL, TEST = "acme/m", "acme/m-test"
DOC = openapi({"text": prop(default="hi")})
WIDER = openapi({"text": prop(default="hi"), "shout": prop("boolean", default=False)})
DEPLOYMENT = "acme/m-prod"


def upper(inputs):
    return str(inputs.get("text", "hi")).upper()


def config(**extra):
    return {
        "model": MODEL,
        "predict": {"test_cases": [{"inputs": {"text": "a"}, "exact_string": "A"}]},
        "deployment": {"name": "m-prod"},
        **extra,
    }


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return cog_dir(tmp_path)


@pytest.fixture
def live(world: FakeWorld) -> str:
    """The model users run today, served by the deployment; the test model pushes DOC."""
    version = world.add_version(MODEL, DOC, upper)
    world.deployments[DEPLOYMENT] = (MODEL, version)
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    return version


def after_push(world: FakeWorld, ref: str, action) -> list[int]:
    """Run `action(version_id)` right after a push to `ref` lands; returns the list that then
    holds how many latest-version reads had happened by that moment."""
    marks: list[int] = []

    def hook(pushed_ref: str, version: str) -> None:
        if pushed_ref == ref:
            marks.append(len(world.latest_reads))
            action(version)

    world.on_push = hook
    return marks


def reads_after(world: FakeWorld, marks: list[int], ref: str = MODEL) -> int:
    return world.latest_reads[marks[0] :].count(ref)


def names(report):
    return [s["name"] for s in report["stages"]]


# ---- the rule, on plain data --------------------------------------------------------------


def test_only_the_components_cog_generates_are_compared():
    boilerplate = copy.deepcopy(DOC)
    boilerplate["info"]["version"] = "0.2.0"  # a newer Cog runtime's own parts
    boilerplate["paths"] = {"/predictions": {"post": {"summary": "Predict"}}}
    boilerplate["components"]["schemas"]["Status"] = {"enum": ["starting", "processing"]}
    assert interface_differences(DOC, boilerplate) == []
    referenced = copy.deepcopy(DOC)  # the same input, its schema behind a $ref
    schemas = referenced["components"]["schemas"]
    schemas["Text"] = schemas["Input"]["properties"].pop("text")
    schemas["Input"]["properties"]["text"] = {"$ref": "#/components/schemas/Text"}
    assert interface_differences(DOC, referenced) == []
    assert interface_differences(DOC, WIDER) == ["Input"]
    trains = copy.deepcopy(DOC)
    trains["components"]["schemas"]["TrainingInput"] = {"type": "object", "properties": {}}
    assert interface_differences(DOC, trains) == ["TrainingInput"]
    described = copy.deepcopy(DOC)
    described["components"]["schemas"]["Output"]["description"] = "the text, upper case"
    assert interface_differences(DOC, described) == ["Output"]


def test_why_a_push_is_not_confirmed():
    assert why_unconfirmed(MODEL, "v1", VersionInfo("v1", DOC), DOC) is None
    assert why_unconfirmed(MODEL, "v1", VersionInfo("v1", WIDER), None) is None  # untested
    assert "has no versions" in (why_unconfirmed(MODEL, "v1", None, DOC) or "")
    other = why_unconfirmed(MODEL, "v1", VersionInfo("v2", DOC), DOC) or ""
    assert "latest version of acme/m is v2, not the one pushed" in other
    differs = why_unconfirmed(MODEL, "v1", VersionInfo("v1", WIDER), DOC) or ""
    assert "differs from the tested one (Input)" in differs


def test_an_unconfirmed_report_ends_in_one_line_that_is_no_success():
    report = {
        "status": "unconfirmed",
        "pushed": True,
        "version": "f" * 64,
        "model": MODEL,
        "error": "could not read the latest version of acme/m after the push: HTTP 500\nmore",
        "stages": [],
    }
    line = unconfirmed_line(report)
    assert line == (
        "pushed, but not confirmed: could not read the latest version of acme/m after the "
        f"push: HTTP 500; version acme/m:{'f' * 64}"
    )
    assert verdict_line(report) == f"cog-safe-push: {line}"
    out = io.StringIO()
    Console(stream=out).summary(report)
    last = out.getvalue().strip().splitlines()[-1]
    assert last == f"cog-safe-push: {line}"
    assert EXIT_CODES["unconfirmed"] == 4
    others = {"passed", "failed", "error", "aborted"}
    assert 4 not in {EXIT_CODES[name] for name in others} | {EXIT_NO_PREFECT, 130}


# ---- whole flows on the fake platform -----------------------------------------------------


def test_a_confirmed_push_updates_the_deployment_after_one_fresh_read(world, live, model_dir):
    marks = after_push(world, MODEL, lambda version: None)
    code, report = run_flow(world, model_dir, config())
    assert code == 0 and report["status"] == "passed", report
    assert report["pushed"] is True and report["version"] == world.latest(MODEL).id
    assert reads_after(world, marks) == 1  # confirmed by reading it, once
    push = stage(report, "push")
    assert push["status"] == "passed" and "confirmed" in (push["detail"] or "")
    assert "tested schema" in push["detail"]
    assert "confirm push" not in names(report)  # a passing confirmation is the push's detail
    assert world.deployments[DEPLOYMENT] == (MODEL, report["version"])


def test_the_confirmation_reads_fresh_even_with_results_persisted(world, live, model_dir):
    """With result persistence on, Prefect's default cache policy would hand the
    confirmation the latest version read before the push (same task, inputs and run)."""
    from prefect.settings import PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings

    marks = after_push(world, MODEL, lambda version: None)
    with temporary_settings(updates={PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}):
        code, report = run_flow(world, model_dir, config())
    assert code == 0 and report["status"] == "passed", report
    assert reads_after(world, marks) == 1
    assert world.deployments[DEPLOYMENT] == (MODEL, report["version"])


def test_a_passing_api_failure_after_the_push_is_retried_by_prefect_and_confirms(
    world, live, model_dir
):
    """One 500 on the confirming read: Prefect retries the look-up task (AwaitingRetry,
    Retrying, Completed), the push is confirmed, and the report names the retry."""
    marks = after_push(world, MODEL, lambda version: world.fail_latest(MODEL, 1, "HTTP 500"))
    code, report = run_flow(world, model_dir, config())
    assert code == 0, report
    assert reads_after(world, marks) == 2
    assert stage(report, "push")["status"] == "passed" and report["status"] == "passed"
    assert world.deployments[DEPLOYMENT] == (MODEL, report["version"])
    assert report["retries"] == [
        {
            "call": f"latest version of {MODEL}",
            "attempts": 2,
            "failures": [f"GET the latest version of {MODEL}: HTTP 500"],
        }
    ]
    histories = task_run_histories(report["flow_run_id"], f"latest version of {MODEL}")
    retried = [h for h in histories if "Retrying" in h]
    assert len(retried) == 1 and retried[0][-1] == "Completed"
    assert retried[0].index("AwaitingRetry") < retried[0].index("Retrying")


def test_an_api_failure_after_the_push_is_unconfirmed_and_leaves_the_deployment(
    world, live, model_dir, tmp_path
):
    failing = 1 + STAGE_RETRIES  # every attempt Prefect makes
    marks = after_push(world, MODEL, lambda version: world.fail_latest(MODEL, failing, "HTTP 500"))
    out_json, out_xml = tmp_path / "report.json", tmp_path / "junit.xml"
    code, report = run_flow(
        world, model_dir, config(), report_json=str(out_json), junit_xml=str(out_xml)
    )
    assert code == 4, report
    pushed = world.latest(MODEL).id
    assert report["status"] == "unconfirmed" and report["pushed"] is True
    assert report["version"] == pushed and world.pushes[-1] == (MODEL, pushed)
    assert reads_after(world, marks) == failing
    assert report["retries"] == [
        {
            "call": f"latest version of {MODEL}",
            "attempts": failing,
            "failures": [f"GET the latest version of {MODEL}: HTTP 500"] * STAGE_RETRIES,
        }
    ]
    confirm = stage(report, "confirm push")
    assert confirm["status"] == "failed"
    assert "could not read the latest version of acme/m after the push" in confirm["error"]
    assert "HTTP 500" in confirm["error"]
    assert stage(report, "push")["detail"] == f"pushed {pushed[:12]}; not confirmed"
    assert stage(report, "deployment")["status"] == "skipped"
    assert world.deployments[DEPLOYMENT] == (MODEL, live)  # not moved to an unconfirmed push
    assert f"deployment {DEPLOYMENT} not updated" in report["error"]
    line = verdict_line(report)
    assert line.startswith("cog-safe-push: pushed, but not confirmed: could not read")
    assert line.endswith(f"; version {MODEL}:{pushed}") and "\n" not in line
    written = json.loads(out_json.read_text())
    assert (written["status"], written["pushed"], written["version"]) == (
        "unconfirmed",
        True,
        pushed,
    )
    cases = ET.parse(out_xml).getroot().iter("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["confirm push"]
    with get_client(sync_client=True) as client:  # the Prefect UI says the same
        state = client.read_flow_run(report["flow_run_id"]).state
    assert state is not None and state.is_failed() and state.message == line


def test_another_version_that_became_latest_is_unconfirmed(world, live, model_dir):
    others: list[str] = []
    after_push(world, MODEL, lambda version: others.append(world.add_version(MODEL, DOC, upper)))
    code, report = run_flow(world, model_dir, config())
    assert code == 4 and report["status"] == "unconfirmed", report
    pushed = world.pushes[-1][1]
    assert report["pushed"] is True and report["version"] == pushed != others[0]
    error = stage(report, "confirm push")["error"]
    assert f"the latest version of acme/m is {others[0]}, not the one pushed" in error
    assert world.deployments[DEPLOYMENT] == (MODEL, live)


def test_a_pushed_schema_that_differs_from_the_tested_one_is_unconfirmed(world, live, model_dir):
    def rebuilt_differently(version: str) -> None:
        world.latest(MODEL).schema = WIDER  # e.g. a rebuild that resolved another package

    after_push(world, MODEL, rebuilt_differently)
    code, report = run_flow(world, model_dir, config())
    assert code == 4 and report["status"] == "unconfirmed", report
    assert report["version"] == world.latest(MODEL).id
    assert "differs from the tested one (Input)" in stage(report, "confirm push")["error"]
    assert world.deployments[DEPLOYMENT] == (MODEL, live)


def test_a_pushed_schema_that_differs_only_in_cog_boilerplate_is_confirmed(world, live, model_dir):
    def newer_runtime(version: str) -> None:
        landed = copy.deepcopy(DOC)
        landed["info"]["version"] = "0.2.0"
        world.latest(MODEL).schema = landed

    marks = after_push(world, MODEL, newer_runtime)
    code, report = run_flow(world, model_dir, config())
    assert code == 0 and report["status"] == "passed", report
    assert reads_after(world, marks) == 1
    assert world.deployments[DEPLOYMENT] == (MODEL, report["version"])


@pytest.mark.parametrize("lands", [True, False], ids=["confirmed", "overtaken"])
def test_an_official_model_push_is_confirmed_by_its_version_alone(world, model_dir, lands):
    official = "acme/m-official"
    world.set_schema(official, DOC)

    def overtaken(version: str) -> None:
        if not lands:
            world.add_version(official, WIDER, upper)

    marks = after_push(world, official, overtaken)
    code, report = run_flow(
        world, model_dir, config(official_model=official), push_official_model=True
    )
    assert reads_after(world, marks, official) == 1
    if lands:
        assert code == 0 and report["status"] == "passed", report
        assert names(report) == ["preflight", "push official model"]
        assert "schema not compared" in stage(report, "push official model")["detail"]
    else:
        assert code == 4 and report["status"] == "unconfirmed", report
        assert report["pushed"] is True and report["version"] == world.pushes[-1][1]
        assert stage(report, "confirm push")["status"] == "failed"
        assert "not the one pushed" in report["error"]
