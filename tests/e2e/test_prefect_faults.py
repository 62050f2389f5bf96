"""Faults of the Prefect side, on real managed servers in fresh homes: the server dies mid-run,
a killed run leaves its lease behind, a configured API is down, the database is damaged.

The verdict never depends on the server staying up: each of these ends in one line and a
known exit code, or recovers by itself and says how.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flows import prefect_server
from tasks.platforms.local.registry import LocalRegistry
from tests.e2e.new_user import cli, cmdline, hello_copy, marked_processes, new_user_env
from tests.helpers import copy_example, run, wait_for

SLOW_HELLO = """
import time
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        name: str = Input(description="Who to greet", default="world", max_length=200),
        seed: int | None = Input(description="Random seed", default=None),
    ) -> str:
        time.sleep(2)
        return f"Hello, {name}!"
"""


def slow_hello(where: Path, iterations: int = 40) -> Path:
    """A model whose predictions take 2 s each, so that a run is surely mid-way when hit."""
    model = where / "slow-hello"
    model.mkdir(parents=True)
    (model / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (model / "predict.py").write_text(SLOW_HELLO)
    (model / "cog-safe-push.yaml").write_text(
        "model: acme/slow-hello\nparallel: 2\npredict:\n  predict_timeout: 120\n"
        f"  fuzz:\n    iterations: {iterations}\n"
    )
    return model


def start(model: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", *args],
        cwd=model,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def model_servers(mark: str) -> list[int]:
    return [p for p in marked_processes(mark) if "cog.server.http" in cmdline(p)]


def versions(home: Path, model: str) -> list[str]:
    """The versions the user's local registry holds for `model`."""
    if not (home / "tool" / "models").is_dir():
        return []
    return [v["id"] for v in LocalRegistry(home / "tool").list_versions(model)]


def test_a_server_that_dies_mid_run_ends_the_run_with_exit_3_and_a_report(user):
    env = new_user_env(user)
    model = slow_hello(user)
    report, junit = user / "report.json", user / "junit.xml"
    proc = start(model, env, "--report-json", str(report), "--junit-xml", str(junit))
    try:
        wait_for(lambda: model_servers(user.name), 300, "a model server", 0.5)
        time.sleep(4)  # predictions in flight
        state = prefect_server.read_state(user / "tool" / "prefect-server")
        assert state is not None
        killed = time.monotonic()
        os.killpg(state.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        ended = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, err[-3000:]
    assert ended < 15, ended
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "stopped answering" in last and "nothing pushed" in last and "run again" in last
    assert state.url in last
    noise = [line for line in err.splitlines() if "EventsWorker" in line or "connect" in line]
    assert noise == []  # no stream of Prefect's retry errors
    data = json.loads(report.read_text())
    assert data["status"] == "aborted" and data["pushed"] is False
    assert data["stages"][-1]["name"] == "prefect server"
    assert "push test model" in [s["name"] for s in data["stages"]]  # what it knew
    assert "<failure" in junit.read_text()
    assert versions(user, "acme/slow-hello") == []
    wait_for(lambda: not model_servers(user.name), 15, "the model servers to end", 0.5)

    # The next run starts a new server and takes over the dead run's lease at once.
    (model / "cog-safe-push.yaml").write_text(
        "model: acme/slow-hello\npredict:\n  predict_timeout: 120\n  fuzz:\n    iterations: 0\n"
    )
    again = cli(model, env, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "took over a stale lease of acme/slow-hello" in again.stderr
    assert f"pid {proc.pid} on " in again.stderr and "its process is gone" in again.stderr
    assert len(versions(user, "acme/slow-hello")) == 1


def test_a_run_killed_with_sigkill_leaves_no_lease_behind(user):
    env = new_user_env(user)
    model = slow_hello(user)
    proc = start(model, env)
    try:
        wait_for(lambda: model_servers(user.name), 300, "a model server", 0.5)
    finally:
        proc.kill()
        proc.communicate()
    (model / "cog-safe-push.yaml").write_text(
        "model: acme/slow-hello\npredict:\n  predict_timeout: 120\n  fuzz:\n    iterations: 0\n"
    )
    began = time.monotonic()
    follower = start(model, env, "--report-json", str(user / "report.json"))
    took_over = None
    assert follower.stderr is not None
    for line in follower.stderr:  # the line comes before any check runs
        if "took over a stale lease" in line:
            took_over = time.monotonic() - began
            break
    out, err = follower.communicate(timeout=300)
    assert follower.returncode == 0, err[-3000:]
    assert took_over is not None and took_over < 30, took_over
    lease = next(
        s
        for s in json.loads((user / "report.json").read_text())["stages"]
        if s["name"] == "model lease"
    )
    assert f"pid {proc.pid}" in lease["detail"] and "its process is gone" in lease["detail"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_configured_api_that_is_down_is_exit_3_naming_it_and_the_fixes(user):
    url = f"http://127.0.0.1:{_closed_port()}/api"
    env = new_user_env(user, PREFECT_API_URL=url)
    began = time.monotonic()
    done = cli(hello_copy(user), env)
    assert done.returncode == 3, done.stderr[-3000:]
    assert time.monotonic() - began < 30
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert url in last and "does not answer" in last
    assert "start" in last and "unset PREFECT_API_URL" in last and "--no-server" in last
    assert not (user / "tool" / "prefect-server" / "server.json").exists()


def test_no_server_wins_over_a_configured_api_that_is_down(user):
    url = f"http://127.0.0.1:{_closed_port()}/api"
    env = new_user_env(user, PREFECT_API_URL=url)
    done = cli(hello_copy(user, fuzz=0), env, "--no-server", "--no-push")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "temporary Prefect server" in done.stderr


def test_a_damaged_server_database_is_moved_aside_and_a_fresh_one_used(user):
    env = new_user_env(user)
    data = user / "tool" / "prefect-server" / "prefect-home"
    data.mkdir(parents=True)
    (data / "prefect.db").write_bytes(b"not a database at all " * 5000)
    done = cli(hello_copy(user, fuzz=0), env, "--no-push")
    assert done.returncode == 0, done.stderr[-3000:]
    kept = list(data.glob("prefect.db.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"not a database")
    assert f"moved it to {kept[0]}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_report_that_cannot_be_written_is_one_line_and_the_verdict_stands(tmp_path, capfd):
    """A full disk under the report (/dev/full answers every write with ENOSPC)."""
    hello = copy_example("hello", tmp_path)
    code, _ = run(hello, "--fuzz-iterations", "0", "--no-push", "--report-json", "/dev/full")
    err = capfd.readouterr().err
    assert code == 0, err[-3000:]
    assert "could not write /dev/full: No space left on device" in err
    assert "Traceback" not in err
