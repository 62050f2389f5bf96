"""Prefect task retries against the fake Replicate API: each fault a real API has, the task
run's state history Prefect records, and the requests that reached the server.

One retry layer per call (tasks.core.retry): a stage that is safe to repeat is retried by
Prefect and its calls make one attempt each; a create that may have landed is looked up and
adopted, never sent twice; a prediction the infrastructure ended runs once more as a new
prediction, and a model's own error never does.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tasks.core.retry import STAGE_RETRIES
from tasks.report.render import markdown_summary
from tests import helpers
from tests.helpers import copy_example, edit, set_config, stage, task_run_histories

MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"
VERSIONS = "/v1/models/{owner}/{name}/versions"
INTERRUPTED = "Prediction interrupted; please retry (code: PA)"


@pytest.fixture
def fake(hello_fake):
    return hello_fake


def run(model: Path, *flags: str) -> tuple[int, dict]:
    """On the replicate platform (against the fake)."""
    return helpers.run(model, "--platform", "replicate", *flags)


def retried(report: dict, call: str) -> dict:
    found = [r for r in report["retries"] if r["call"] == call]
    assert len(found) == 1, report["retries"]
    return found[0]


def one_retry_then_done(report: dict, name: str) -> list[str]:
    """The history of the one task run called `name` that Prefect retried."""
    histories = [h for h in task_run_histories(report["flow_run_id"], name) if "Retrying" in h]
    assert len(histories) == 1, histories
    history = histories[0]
    assert history[-1] == "Completed", history
    assert history.index("AwaitingRetry") < history.index("Retrying")
    return history


def test_a_429_on_a_version_look_up_waits_its_retry_after_and_is_retried(fake, hello_dir):
    fake.retry_after = 1
    fake.fail_next("GET", VERSIONS, "429")
    code, report = run(hello_dir, "--no-push", "--fuzz-iterations", "0")
    assert code == 0, report
    lookups = [r for r in fake.requests if r["pattern"] == VERSIONS]
    first, second = lookups[0], lookups[1]
    assert first["path"] == second["path"]  # the same look-up, sent again
    assert second["at"] - first["at"] >= 1.0  # Retry-After: 1 was honoured
    ref = "/".join(first["path"].split("/")[3:5])  # /v1/models/<owner>/<name>/versions
    record = retried(report, f"latest version of {ref}")
    assert record["attempts"] == 2 and "429" in record["failures"][0]
    one_retry_then_done(report, "latest version of")


def test_a_lost_answer_to_a_model_create_is_adopted_never_sent_twice(fake, hello_dir):
    """The create landed but its answer was lost: Prefect retries the model check, which
    finds the model and adopts it. One POST, one model."""
    fake.fail_next("POST", "/v1/models", "lose")
    code, report = run(hello_dir, "--no-push", "--fuzz-iterations", "0")
    assert code == 0, report
    assert fake.count("POST", "/v1/models") == 1
    assert fake.models[TEST_MODEL]["visibility"] == "private"
    assert retried(report, f"ensure model {TEST_MODEL}")["attempts"] == 2
    one_retry_then_done(report, f"ensure model {TEST_MODEL}")


def test_a_503_on_a_model_create_is_retried_and_creates_it_once(fake, hello_dir):
    fake.fail_next("POST", "/v1/models", "503")
    code, report = run(hello_dir, "--no-push", "--fuzz-iterations", "0")
    assert code == 0, report
    assert fake.count("POST", "/v1/models") == 2  # refused before it was processed
    assert TEST_MODEL in fake.models
    one_retry_then_done(report, f"ensure model {TEST_MODEL}")


def test_a_dropped_connection_on_the_deployment_update_is_retried(fake, hello_dir):
    set_config(hello_dir, deployment={"name": "hello-prod"})
    assert run(hello_dir, "--fuzz-iterations", "0")[0] == 0
    edit(hello_dir / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello"  # v2')
    fake.fail_next("PATCH", "/v1/deployments/{owner}/{name}", "drop")
    code, report = run(hello_dir, "--fuzz-iterations", "0")
    assert code == 0, report
    assert fake.count("PATCH", "/v1/deployments/{owner}/{name}") == 2
    assert fake.deployments["acme/hello-prod"]["current_release"]["version"] == report["version"]
    assert retried(report, "deployment acme/hello-prod")["attempts"] == 2
    one_retry_then_done(report, "deployment acme/hello-prod")
    summary = markdown_summary(report)
    assert "retried by Prefect: deployment acme/hello-prod \\(2 attempts; last failure:" in summary


def test_a_persistent_5xx_ends_after_the_bounded_retries(fake, hello_dir):
    fake.fail_next("POST", "/v1/models", *["500"] * (1 + STAGE_RETRIES))
    start = time.monotonic()
    code, report = run(hello_dir, "--no-push", "--fuzz-iterations", "0")
    assert code == 1, report
    assert fake.count("POST", "/v1/models") == 1 + STAGE_RETRIES
    assert stage(report, "push test model")["status"] == "failed"
    assert retried(report, f"ensure model {TEST_MODEL}")["attempts"] == 1 + STAGE_RETRIES
    assert time.monotonic() - start < 60


def _interrupted_once(behave):
    """A model Replicate interrupts the first time it runs a given greeting."""
    seen: set[str] = set()

    def run_it(inputs):
        name = str(inputs.get("name", "world"))
        if name not in seen:
            seen.add(name)
            raise RuntimeError(INTERRUPTED)
        return behave(inputs)

    return run_it


def test_an_interrupted_prediction_runs_once_more_as_a_new_prediction(fake, hello_dir):
    fake.set_behaviour(TEST_MODEL, _interrupted_once(helpers.hello_behaviour()))
    code, report = run(hello_dir, "--no-push", "--fuzz-iterations", "2")
    assert code == 0, report
    records = [p for s in report["stages"] for p in s["predictions"]]
    retried_runs = [p for p in records if p["attempts"]]
    assert retried_runs, records
    for record in retried_runs:
        assert record["verdict"] == "passed"
        [first] = record["attempts"]
        assert first["status"] == "failed" and "interrupted" in first["error"]
        assert first["id"] != record["id"]  # a new prediction, not a repeat of the request
    # every test-version run on the server is one the report knows: a record or an attempt
    test_runs = {r.id for r in fake.runs.values() if r.model == TEST_MODEL}
    known = {p["id"] for p in records} | {a["id"] for p in records for a in p["attempts"]}
    assert test_runs <= known
    assert len(test_runs) == len({p["id"] for p in records} & test_runs) + len(retried_runs)


def test_a_models_own_error_is_never_run_again(fake, hello_dir):
    def broken(inputs):
        raise ValueError("the model's own bug")

    fake.set_behaviour(TEST_MODEL, broken)
    code, report = run(hello_dir, "--no-push", "--fuzz-iterations", "0")
    assert code == 1, report
    records = [p for s in report["stages"] for p in s["predictions"]]
    assert records and not any(p["attempts"] for p in records)
    test_runs = [r for r in fake.runs.values() if r.model == TEST_MODEL]
    assert len(test_runs) == len({r.id for r in test_runs}) == len([p for p in records if p["id"]])


# ---- the local platform: a model server that dies under a run ----------------------------


@pytest.mark.parametrize("always", [False, True])
def test_a_local_model_server_that_dies_under_a_run_gets_one_new_run(tmp_path, registry, always):
    """The worker is killed mid-prediction once (as the OOM killer would): the run goes to a
    fresh server, the report shows both attempts. A server killed every time is a failure."""
    hello = copy_example("hello", tmp_path)
    marker = tmp_path / "killed-once"
    edit(
        hello / "predict.py",
        '        line = f"{self.greeting}',
        "        import os, signal\n"
        f"        if name == 'Crashy' and ({always} or not os.path.exists({str(marker)!r})):\n"
        f"            open({str(marker)!r}, 'w').close()\n"
        "            os.kill(os.getpid(), signal.SIGKILL)\n"
        '        line = f"{self.greeting}',
    )
    set_config(
        hello,
        predict={
            "test_cases": [{"inputs": {"name": "Crashy"}, "exact_string": "Hello, Crashy!"}],
            "fuzz": {"iterations": 0},
        },
    )
    code, report = helpers.run(hello, "--no-push")
    assert marker.exists()
    [case] = stage(report, "test cases")["predictions"]
    if always:  # the second run is the verdict: never a third
        assert code == 1 and case["verdict"] == "failed", report
    else:
        assert code == 0, report
        assert case["verdict"] == "passed" and case["output"] == "Hello, Crashy!"
    [first] = case["attempts"]
    assert first["status"] == "failed" and "crashed" in first["error"].lower()
    assert first["id"] != case["id"]


def test_a_503_on_the_account_check_retries_preflight_and_is_no_usage_error(fake, hello_dir):
    fake.fail_next("GET", "/v1/account", "503")
    code, report = run(hello_dir, "--no-push", "--fuzz-iterations", "0")
    assert code == 0, report
    assert fake.count("GET", "/v1/account") == 2
    assert retried(report, "preflight")["attempts"] == 2
    one_retry_then_done(report, "preflight")
