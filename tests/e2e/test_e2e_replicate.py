"""End to end on the replicate platform, against the fake Replicate API and the stand-in cog.

The real `replicate` client talks HTTP to tests/fakes/replicate_server.py; pushes go through
the stand-in `cog` executable, which registers versions with the fake (their schema is the
example model's real one). The fake's "behaviours" play the part of the models on Replicate.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import helpers
from tests.helpers import CANARY, edit, set_config, stage, wait_for

MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"


hello = helpers.hello_behaviour


@pytest.fixture
def fake(hello_fake):
    return hello_fake


@pytest.fixture
def model_dir(hello_dir):
    return hello_dir


def run(model_dir: Path, *flags: str) -> tuple[int, dict]:
    """The shared e2e runner, on the replicate platform (the last --platform flag wins)."""
    return helpers.run(model_dir, "--platform", "replicate", *flags)


def test_first_push_passes_creates_test_model_and_pushes(fake, model_dir):
    code, report = run(model_dir)
    assert code == 0, report
    assert report["pushed"] is True and report["platform"] == "replicate"
    assert fake.models[TEST_MODEL]["visibility"] == "private"
    assert fake.models[TEST_MODEL]["hardware"] == "cpu"
    assert fake.latest_version_id(MODEL) == report["version"]
    fuzz = stage(report, "fuzz")["predictions"]
    assert len(fuzz) == 6 and all(p["url"] for p in fuzz)


def test_second_run_compares_with_the_live_version_and_updates_the_deployment(fake, model_dir):
    set_config(model_dir, deployment={"name": "hello-prod"})
    assert run(model_dir)[0] == 0
    dep = fake.deployments["acme/hello-prod"]
    first_version = fake.latest_version_id(MODEL)
    assert dep["current_release"]["version"] == first_version
    assert dep["current_release"]["configuration"]["min_instances"] == 1
    assert dep["current_release"]["configuration"]["max_instances"] == 20
    edit(model_dir / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello"  # tidy')
    code, report = run(model_dir)
    assert code == 0, report
    assert stage(report, "compare outputs")["status"] == "passed"
    assert fake.deployments["acme/hello-prod"]["current_release"]["version"] == report["version"]
    assert report["version"] != first_version


def test_failed_check_pushes_nothing_to_model_or_deployment(fake, model_dir):
    set_config(model_dir, deployment={"name": "hello-prod"})
    assert run(model_dir)[0] == 0
    live = fake.latest_version_id(MODEL)
    release = json.dumps(fake.deployments["acme/hello-prod"]["current_release"], sort_keys=True)
    fake.set_behaviour(TEST_MODEL, hello("Howdy"))
    edit(model_dir / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Howdy"')
    code, report = run(model_dir)
    assert code == 1
    assert stage(report, "compare outputs")["status"] == "failed"
    assert fake.latest_version_id(MODEL) == live
    after = json.dumps(fake.deployments["acme/hello-prod"]["current_release"], sort_keys=True)
    assert after == release


def test_transient_faults_still_reach_the_right_verdicts(fake, model_dir):
    fake.faults(0.2, kinds=("429", "500", "503", "drop"), seed=11, retry_after=0)
    code, report = run(model_dir)
    assert code == 0, report
    assert sum(fake.faults_injected.values()) > 0
    # and a real failure is still a failure under the same noise
    fake.set_behaviour(TEST_MODEL, hello("Howdy"))
    edit(model_dir / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Howdy"')
    code, report = run(model_dir, "--no-push")
    assert code == 1 and stage(report, "compare outputs")["status"] == "failed"


def test_prediction_past_timeout_is_canceled_on_the_server(fake, model_dir):
    fake.set_behaviour(TEST_MODEL, hello(), latency=30)
    set_config(
        model_dir,
        predict={"predict_timeout": 2, "test_cases": [{"inputs": {"name": "Ada"}}]},
    )
    code, report = run(model_dir, "--no-push")
    assert code == 1
    case = stage(report, "test cases")["predictions"][0]
    assert case["status"] == "timeout" and case["verdict"] == "failed"
    run_ = fake.runs[case["id"]]
    assert run_.status == "canceled"


def test_missing_model_is_a_usage_error_and_creates_nothing(fake, model_dir):
    set_config(model_dir, model="acme/absent", test_model="acme/absent-test")
    code, report = run(model_dir)
    assert code == 2
    assert "create it first" in report["error"]
    assert "acme/absent-test" not in fake.models


def test_rejected_token_is_caught_in_preflight(fake, model_dir, monkeypatch):
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_wrong")
    code, report = run(model_dir)
    assert code == 2
    assert TEST_MODEL not in fake.models and fake.latest_version_id(MODEL) is None


def test_canary_token_never_leaks(fake, model_dir, capfd):
    code, report = run(model_dir, "-vvv")
    assert code == 0
    fake.set_behaviour(TEST_MODEL, lambda inputs: (_ for _ in ()).throw(RuntimeError("kaput")))
    edit(model_dir / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hola"')
    code, report = run(model_dir, "-vvv")
    assert code == 1
    out, err = capfd.readouterr()
    assert CANARY not in out and CANARY not in err
    assert CANARY not in json.dumps(report)
    assert CANARY not in json.dumps(fake.requests, default=str)

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def everything() -> str:
        async with get_client() as client:
            flow_run = await client.read_flow_run(report["flow_run_id"])
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id])
                )
            )
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id]))
            )
            assert artifacts and logs
            return json.dumps(
                [flow_run.parameters, [a.data for a in artifacts], [line.message for line in logs]],
                default=str,
            )

    dumped = asyncio.run(everything())
    assert "kaput" in dumped  # the failure is there...
    assert CANARY not in dumped  # ...the token is not


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_run_cancels_every_prediction_in_flight(fake, model_dir, signum):
    """Ctrl-C or SIGTERM mid-run: every prediction still running is canceled, nothing pushed."""
    fake.set_behaviour(TEST_MODEL, hello(), latency=120)
    set_config(model_dir, parallel=3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.safe_push", "--platform", "replicate", "--no-push"],
        cwd=model_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def three_running() -> bool:
        running = [r for r in fake.runs.values() if r.status in ("starting", "processing")]
        return len(running) >= 3 or proc.poll() is not None

    wait_for(three_running, 90, "three predictions in flight", interval=0.2)
    assert proc.poll() is None, proc.communicate(timeout=30)[0][-2000:]
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=90)
    # canceled because we stopped, not because the 60 s prediction timeout ran out
    assert "did not finish within" not in output
    assert proc.returncode != 0
    assert "Traceback" not in output
    statuses = {r.id: r.status for r in fake.runs.values()}
    assert statuses and set(statuses.values()) == {"canceled"}, statuses
    assert fake.latest_version_id(MODEL) is None


def test_fail_fast_stops_at_the_first_failure_and_cancels_the_rest(fake, model_dir):
    def crashes_on_three(inputs: dict) -> str:
        if int(inputs.get("repeat", 1)) == 3:
            raise RuntimeError("cannot repeat three times")
        return hello()(inputs)

    fake.set_behaviour(TEST_MODEL, crashes_on_three, latency=2)
    set_config(model_dir, parallel=2, predict={"fuzz": {"iterations": 12}})
    code, report = run(model_dir, "--fail-fast", "--seed", "3")
    assert code == 1
    fuzz = stage(report, "fuzz")
    verdicts = [p["verdict"] for p in fuzz["predictions"]]
    assert "failed" in verdicts and "skipped" in verdicts
    started = [r for r in fake.runs.values() if r.model == TEST_MODEL]
    assert len(started) < 12  # queued predictions never started
    assert all(r.status in ("succeeded", "failed", "canceled") for r in started)
    assert fake.latest_version_id(MODEL) is None


@pytest.mark.parametrize("exists", [False, True])
def test_push_official_model_pushes_there_and_nothing_else(fake, model_dir, exists):
    if exists:
        fake.add_model("acme/hello-official", official=True, visibility="public")
    set_config(model_dir, official_model="acme/hello-official")
    code, report = run(model_dir, "--push-official-model")
    assert code == 0, report
    assert [s["name"] for s in report["stages"]] == ["preflight", "push official model"]
    assert fake.models["acme/hello-official"]["visibility"] == ("public" if exists else "private")
    assert fake.latest_version_id("acme/hello-official") == report["version"]
    assert TEST_MODEL not in fake.models and fake.latest_version_id(MODEL) is None
    assert not fake.runs


def test_no_push_wins_over_push_official_model(fake, model_dir):
    """As in the seed tool: with both flags the normal checks run and nothing is pushed."""
    set_config(model_dir, official_model="acme/hello-official")
    code, report = run(model_dir, "--push-official-model", "--no-push")
    assert code == 0, report
    assert report["pushed"] is False
    names = [s["name"] for s in report["stages"]]
    assert "push official model" not in names and "fuzz" in names
    assert "acme/hello-official" not in fake.models
    assert all(push["model"] == TEST_MODEL for push in fake.pushes), fake.pushes


def test_lost_answers_to_creates_never_start_a_second_prediction(fake, model_dir):
    """The server made the prediction but its answer was lost on the way back: the run finds
    and adopts it. Every prediction on the fake is one the report knows, and none twice."""
    fake.fail_next("POST", "/v1/predictions", "lose", "lose", "lose")
    code, report = run(model_dir, "--no-push")
    assert code == 0, report
    assert fake.faults_injected["lose"] == 3
    ids = [p["id"] for s in report["stages"] for p in s["predictions"] if p["id"]]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(r.id for r in fake.runs.values())


def test_the_push_window_runs_live_and_boots_the_test_version_at_once(fake, model_dir, monkeypatch):
    """A slow `cog push` (2 s here) and a cold boot per new instance: the live runs happen
    while the test model is pushed, and the first test-version run is created right after."""
    assert run(model_dir, "--fuzz-iterations", "0")[0] == 0  # the live version
    fake.cold_boot = 0.5
    fake.stop_instances()
    monkeypatch.setenv("FAKE_COG_DELAY", "2")
    edit(model_dir / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello"  # v2')
    before = set(fake.runs)
    code, report = run(model_dir, "--no-push", "--fuzz-iterations", "4")
    assert code == 0, report
    push = fake.pushes[-1]
    pushed_at = push["received_at"]
    new = [fake.runs[i] for i in fake.runs if i not in before]
    created = {run.id: _seconds(run.created_at) for run in new}
    live = [run for run in new if run.model == MODEL]
    test = [run for run in new if run.model == TEST_MODEL]
    assert live and all(created[run.id] < pushed_at for run in live)  # during the push
    assert test and all(created[run.id] >= pushed_at for run in test)
    first_test = min(created[run.id] for run in test)
    assert first_test - pushed_at < 3.0  # not after a wait for other work
    compared = stage(report, "compare outputs")["predictions"]
    assert len(live) == len(compared)  # each compared input ran once on live


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
