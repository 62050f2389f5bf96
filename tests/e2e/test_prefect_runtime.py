"""The Prefect runtime as a new user meets it: no PREFECT_API_URL, an empty HOME, a busy CPU.

These run the real CLI in subprocesses with a fresh tool home each, so every managed server
here is started for real, and stopped when its test ends.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from flows import prefect_server
from tests.e2e.new_user import cli, cmdline, hello_copy, marked_processes, new_user_env
from tests.fakes.busy_cpu import busy_cpu
from tests.helpers import wait_for


def test_first_run_in_a_fresh_home_on_a_busy_machine_passes(user):
    env = new_user_env(user)
    model = hello_copy(user)
    with busy_cpu(2):
        done = cli(model, env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "starting the local Prefect server" in done.stderr
    state = prefect_server.read_state(user / "tool" / "prefect-server")
    assert state is not None and prefect_server.pid_alive(state.pid)
    assert f"{state.ui_url}/runs/flow-run/" in done.stderr  # the run's UI link
    # The UI asks the server where the API is: the server's own port, not Prefect's 4200.
    with urllib.request.urlopen(f"{state.ui_url}/ui-settings", timeout=10) as response:
        assert json.load(response)["api_url"] == state.url
    # A second run reuses the server instead of starting one.
    again = cli(model, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "starting the local Prefect server" not in again.stderr
    assert prefect_server.read_state(user / "tool" / "prefect-server").pid == state.pid


def test_two_concurrent_first_runs_share_one_server(user):
    env = new_user_env(user)
    first, second = hello_copy(user / "a"), hello_copy(user / "b")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flows.safe_push", "--platform", "local", "--no-push"],
            cwd=model,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for model in (first, second)
    ]
    outputs = [proc.communicate(timeout=400) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    log = (user / "tool" / "prefect-server" / "server.log").read_text()
    assert log.count("--- starting on port") == 1
    urls = {
        re.search(r"(http://127\.0\.0\.1:\d+)/runs/flow-run/", err).group(1) for _, err in outputs
    }
    assert len(urls) == 1
    servers = [p for p in marked_processes(user.name) if "server start" in cmdline(p)]
    assert len(servers) == 1


def test_server_status_and_stop(user):
    env = new_user_env(user)
    state, started = prefect_server.ensure(prefect_server.server_dir(user / "tool"))
    assert started
    status = subprocess.run(
        [sys.executable, "-m", "flows.safe_push", "server", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0 and state.ui_url in status.stdout
    stop = subprocess.run(
        [sys.executable, "-m", "flows.safe_push", "server", "stop"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stop.returncode == 0 and "stopped" in stop.stdout
    wait_for(lambda: not prefect_server.pid_alive(state.pid), 20, "the server to stop")
    assert prefect_server.served_version(state.url, timeout=1) is None
    status = subprocess.run(
        [sys.executable, "-m", "flows.safe_push", "server", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 1 and "not running" in status.stdout


def test_a_server_of_another_version_or_a_dead_pid_is_replaced(user):
    folder = prefect_server.server_dir(user / "tool")
    state, _ = prefect_server.ensure(folder)
    stale = {**state.__dict__, "prefect_version": "0.0.1"}
    # A recorded server that is gone: its PID is dead and its port answers nobody.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    prefect_server.stop(folder)
    (folder / "server.json").write_text(
        json.dumps({**stale, "pid": dead.pid, "port": 1, "url": "http://127.0.0.1:1/api"})
    )
    replaced, started = prefect_server.ensure(folder)
    assert started and replaced.pid != dead.pid
    assert prefect_server.served_version(replaced.url) == prefect_server.prefect_version()


def test_no_server_that_can_be_had_is_one_line_and_exit_3(user):
    env = new_user_env(user, COG_SAFE_PUSH_SERVER_TIMEOUT="0.5")
    done = cli(hello_copy(user), env)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "no Prefect server" in last and "PREFECT_API_URL" in last and "--no-server" in last
    assert not [p for p in marked_processes(user.name) if "server start" in cmdline(p)]


def test_no_server_runs_on_a_temporary_server_that_is_gone_afterwards(user):
    env = new_user_env(user)
    done = cli(hello_copy(user), env, "--no-server", "--no-push")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "temporary Prefect server" in done.stderr
    assert not (user / "tool" / "prefect-server" / "server.json").exists()
    wait_for(lambda: not marked_processes(user.name), 20, "every process of the run to end")


SLOW_MODEL = """
import time
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Anything", default="x")) -> str:
        time.sleep(120)
        return text
"""

SLOW_IMPORT = """
import time
from cog import BasePredictor, Input

time.sleep(120)  # a model that downloads weights at import


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Anything", default="x")) -> str:
        return text
"""


def slow_model(where: Path, source: str) -> Path:
    model = where / "slow"
    model.mkdir()
    (model / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (model / "predict.py").write_text(source)
    (model / "cog-safe-push.yaml").write_text(
        "model: acme/slow\npredict:\n  predict_timeout: 300\n  fuzz:\n    iterations: 2\n"
    )
    return model


@pytest.mark.parametrize(
    "source, what",
    [(SLOW_MODEL, "cog.server.http"), (SLOW_IMPORT, "_schema_probe.py")],
    ids=["model server", "schema probe"],
)
def test_kill_9_leaves_no_process_behind_but_the_managed_server(user, source, what):
    env = new_user_env(user)
    model = slow_model(user, source)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", "--no-push"],
        cwd=model,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: [p for p in marked_processes(user.name) if what in cmdline(p)],
            300,
            f"a {what} process",
            0.5,
        )
    finally:
        proc.kill()
        proc.wait()
    wait_for(
        lambda: (
            [cmdline(p) for p in marked_processes(user.name) if "server start" not in cmdline(p)]
            == []
        ),
        30,
        "every process but the managed server to end",
        0.5,
    )
    # the managed server is the one process that stays, by design
    state = prefect_server.read_state(user / "tool" / "prefect-server")
    assert state is not None and prefect_server.pid_alive(state.pid)


def test_kill_9_in_no_server_mode_takes_the_temporary_server_down(user):
    env = new_user_env(user)
    model = slow_model(user, SLOW_MODEL)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", "--no-server"],
        cwd=model,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: [p for p in marked_processes(user.name) if "cog.server.http" in cmdline(p)],
            300,
            "the model server",
            0.5,
        )
        assert [p for p in marked_processes(user.name) if "server start" in cmdline(p)]
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: marked_processes(user.name) == [], 30, "every process of the run to end", 0.5)
