"""Variants: several configs in one invocation, each a safe-push subflow, run at once within
one --parallel budget; all pushed or none (unless --push-passed-variants); one report. On
the local platform (real Cog runs) and on the fake Replicate API."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import copy_example, hello_behaviour, run, versions

pytestmark = pytest.mark.usefixtures("registry")


def write_variant(
    model_dir: Path, name: str, model: str, greeting: str = "Hello", **changes: Any
) -> Path:
    """A variant config in model_dir/configs: the hello example's, for `model`, whose first
    test case expects `greeting`."""
    config = yaml.safe_load((model_dir / "cog-safe-push.yaml").read_text())
    config.update(model=model, test_model=f"{model}-test", **changes)
    config["predict"]["test_cases"][0]["exact_string"] = f"{greeting}, Ada!"
    path = model_dir / "configs" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def fleet(tmp_path) -> Path:
    """The hello example with two variants: small passes, large expects another greeting."""
    model_dir = copy_example("hello", tmp_path)
    write_variant(model_dir, "small", "fleet/hello-small")
    write_variant(model_dir, "large", "fleet/hello-large", greeting="Howdy")
    return model_dir


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in report["variants"]}


def test_one_failed_variant_pushes_nothing_and_the_report_covers_both(fleet):
    code, report = run(fleet, "--config", "configs", "--seed", "1")
    assert code == 1
    by_name = rows(report)
    assert set(by_name) == {"small", "large"}
    assert by_name["large"]["status"] == "failed" and by_name["large"]["failed"] == ["test cases"]
    # small passed its checks, waited for large, and was held back
    assert by_name["small"]["status"] == "passed" and not by_name["small"]["pushed"]
    assert "large failed" in by_name["small"]["held"]
    assert versions("fleet/hello-small") == [] and versions("fleet/hello-large") == []
    # both were tested (a test version each), and each stage is named for its variant
    assert versions("fleet/hello-small-test") and versions("fleet/hello-large-test")
    names = [s["name"] for s in report["stages"]]
    assert "small · push" in names and "large · test cases" in names
    assert report["pushed"] is False and report["status"] == "failed"
    assert report["push_policy"] == "all variants or none"


def test_push_passed_variants_pushes_the_one_that_passed(fleet):
    code, report = run(
        fleet,
        "--config",
        "configs/small.yaml",
        "--config",
        "configs/large.yaml",
        "--push-passed-variants",
    )
    assert code == 1  # a variant failed: the invocation fails all the same
    by_name = rows(report)
    assert by_name["small"]["pushed"] and not by_name["large"]["pushed"]
    assert versions("fleet/hello-small") == [by_name["small"]["version"]]
    assert versions("fleet/hello-large") == []


def test_all_variants_pass_and_each_is_pushed_once(fleet, tmp_path):
    write_variant(fleet, "large", "fleet/hello-large")  # now expects what the model says
    junit = tmp_path / "junit.xml"
    code, report = run(fleet, "--config", "configs", "--junit-xml", str(junit))
    assert code == 0, report.get("error")
    for name, row in rows(report).items():
        assert row["status"] == "passed" and row["pushed"], name
        assert versions(row["model"]) == [row["version"]]
    # one JUnit file for both, every suite under its variant's name
    text = junit.read_text()
    assert 'testsuite name="small · test cases"' in text
    assert 'testsuite name="large · test cases"' in text


def test_bad_variants_are_refused_before_anything_runs(fleet, capsys):
    write_variant(fleet, "twin", "fleet/hello-small")  # a second config for the same model
    code, report = run(fleet, "--config", "configs")
    assert code == 2 and report == {}
    assert "fleet/hello-small (small and twin)" in capsys.readouterr().err  # names the pair
    assert versions("fleet/hello-small-test") == []
    code, _ = run(fleet, "--config", "configs", "fleet/other")
    assert code == 2
    code, _ = run(fleet, "--config", "configs/small.yaml", "--push-passed-variants")
    assert code == 2


# --- the fake Replicate API ----------------------------------------------------------------


def _overlap(runs: list[Any]) -> int:
    """The most runs the server had going at one moment."""
    edges = []
    for item in runs:
        if item.started_at and item.completed_at:
            edges.append((datetime.fromisoformat(item.started_at.replace("Z", "+00:00")), 1))
            edges.append((datetime.fromisoformat(item.completed_at.replace("Z", "+00:00")), -1))
    most = busy = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        busy += step
        most = max(most, busy)
    return most


def meeting(mine: threading.Event, other: threading.Event, greeting: str = "Hello") -> Any:
    """The hello behaviour, whose first run waits (20 s at most) until the other variant's
    test model has started one: so the variants' predictions surely overlap in time, and
    only the shared budget keeps them to --parallel at once."""
    hello = hello_behaviour(greeting)
    first = threading.Lock()

    def behave(inputs: dict[str, Any]) -> str:
        mine.set()
        if first.acquire(blocking=False):
            other.wait(20)
        return hello(inputs)

    return behave


@pytest.fixture
def fleet_on_replicate(monkeypatch, tmp_path):
    from tests.fakes.replicate_server import FakeReplicate
    from tests.helpers import CANARY, use_fake_replicate

    started = {"small": threading.Event(), "large": threading.Event()}
    with FakeReplicate(token=CANARY, latency=0.3) as server:
        for name, other in (("small", "large"), ("large", "small")):
            server.add_model(f"acme/{name}", hardware="cpu")
            server.set_behaviour(f"acme/{name}", hello_behaviour())
            server.set_behaviour(f"acme/{name}-test", meeting(started[name], started[other]))
        use_fake_replicate(monkeypatch, server.url, tmp_path / "cache")
        model_dir = copy_example("hello", tmp_path)
        for name in ("small", "large"):
            write_variant(model_dir, name, f"acme/{name}", parallel=2)
        yield server, model_dir, started


def replicate_run(model_dir: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    return run(model_dir, *flags, platform="replicate")


def test_variants_on_replicate_share_one_parallel_budget_and_both_push(fleet_on_replicate):
    server, model_dir, _ = fleet_on_replicate
    code, report = replicate_run(
        model_dir, "--config", "configs", "--parallel", "2", "--fuzz-generator", "schema"
    )
    assert code == 0, report.get("error")
    by_name = rows(report)
    for name in ("small", "large"):
        assert by_name[name]["pushed"], name
        assert [v["id"] for v in server.versions[f"acme/{name}"]][0] == by_name[name]["version"]
    predictions = server.runs_of("prediction")
    both = {run.model for run in predictions}
    assert {"acme/small-test", "acme/large-test"} <= both
    # two variants at --parallel 2 each would run four at once without the shared budget
    assert report["budget"] == {"parallel": 2, "most_at_once": 2}
    assert _overlap(predictions) == 2


def test_a_failed_variant_on_replicate_pushes_neither(fleet_on_replicate):
    server, model_dir, started = fleet_on_replicate
    server.set_behaviour(
        "acme/large-test", meeting(started["large"], started["small"], greeting="Howdy")
    )
    before = {m: len(server.versions.get(m, [])) for m in ("acme/small", "acme/large")}
    code, report = replicate_run(model_dir, "--config", "configs", "--fuzz-generator", "schema")
    assert code == 1
    by_name = rows(report)
    assert by_name["large"]["status"] == "failed" and by_name["small"]["held"]
    assert {m: len(server.versions.get(m, [])) for m in before} == before


# --- one nightly schedule for a fleet ------------------------------------------------------


def test_the_nightly_deployment_checks_every_variant_and_pushes_none(fleet, prefect_server):
    import os
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.deployments import run_deployment

    from tasks.platforms.local.registry import LocalRegistry
    from tests.e2e.test_deployments import _finished, _stop
    from tests.helpers import ROOT, wait_for

    write_variant(fleet, "large", "fleet/hello-large")  # both pass
    home = fleet.parent / "serve-home"
    env = {
        **os.environ,
        "COG_SAFE_PUSH_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    log = fleet.parent / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deployments.serve", "--model-dir", str(fleet),
             "--config", str(fleet / "configs"), "--platform", "local",
             "--fuzz-generator", "schema", "--poll-seconds", "1", "--name-suffix=-fleet"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(lambda: "being served" in log.read_text() or proc.poll() is not None, 90,
                 "the deployments to be served")  # fmt: skip
        assert proc.poll() is None, log.read_text()[-3000:]
        run = run_deployment(
            "safe-push-variants/nightly-fleet",
            parameters={"options": {"platform": "local", "no_push": False, "seed": 1}},
            timeout=240,
            poll_interval=1,
            as_subflow=False,
        )
        run = wait_for(lambda: _finished(run.id), 60, "the nightly run to finish")
        assert run.state.is_completed(), (run.state, log.read_text()[-3000:])
        with get_client(sync_client=True) as client:
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id])
                )
            )
        names = sorted(child.name for child in children)
        assert len(names) == 2 and all("fleet/hello-" in name for name in names), names
        registry = LocalRegistry(home)
        for model in ("fleet/hello-small", "fleet/hello-large"):
            assert registry.list_versions(model) == []  # the nightly run never pushes
            assert registry.list_versions(f"{model}-test")  # but it tested both
    finally:
        _stop(proc)


def test_a_variant_with_bad_input_makes_the_run_an_error_and_pushes_nothing(fleet):
    write_variant(fleet, "large", "fleet/hello-large")  # passes
    bad = fleet / "configs" / "small.yaml"
    config = yaml.safe_load(bad.read_text())
    config["predict"]["test_cases"][0]["inputs"]["colour"] = "blue"  # hello takes no colour
    bad.write_text(yaml.safe_dump(config))
    code, report = run(fleet, "--config", "configs")
    assert code == 2  # the most urgent of the variants' outcomes: bad input
    by_name = rows(report)
    assert by_name["small"]["status"] == "error" and "colour" in json.dumps(report["stages"])
    assert by_name["large"]["status"] == "passed" and by_name["large"]["held"]
    assert versions("fleet/hello-small") == [] and versions("fleet/hello-large") == []


def test_fail_fast_stops_the_other_variants_once_one_failed(fleet_on_replicate):
    """All or none, and one variant failed: nothing will be pushed, so under --fail-fast the
    others stop at once instead of spending predictions on a verdict that changes nothing."""
    server, model_dir, started = fleet_on_replicate
    server.set_behaviour(
        "acme/large-test", meeting(started["large"], started["small"], greeting="Howdy")
    )
    small = model_dir / "configs" / "small.yaml"
    config = yaml.safe_load(small.read_text())
    config["predict"]["fuzz"]["iterations"] = 40  # 12 s of predictions at 0.3 s, 2 at once
    small.write_text(yaml.safe_dump(config))
    code, report = replicate_run(
        model_dir, "--config", "configs", "--fail-fast", "--fuzz-generator", "schema"
    )
    assert code == 1
    by_name = rows(report)
    assert by_name["large"]["status"] == "failed"
    assert not by_name["small"]["pushed"]
    stopped = by_name["small"]["error"] or by_name["small"]["held"] or ""
    assert "--fail-fast after variant large failed" in stopped
    ran = [r for r in server.runs_of("prediction") if r.model == "acme/small-test"]
    assert len(ran) < 3 + 40  # its test cases and fuzz inputs did not all run
