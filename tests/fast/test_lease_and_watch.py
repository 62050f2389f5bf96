"""The rules behind stale leases and a vanished Prefect server, without a server: who counts
as gone, what the holder record keeps, and when the watch gives up."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from flows import lease
from flows.lease import record_name
from flows.lease_record import SILENCE_SECONDS, LeaseRecord, orphan_reason, stale_reason
from flows.server_watch import ServerWatch, answers
from tasks.core.platform_data import PlatformSpec
from tasks.core.processes import ProcessId, gone_reason, start_ticks


def record(holder: ProcessId, renewed_ago: float = 0.0) -> LeaseRecord:
    now = time.time()
    return LeaseRecord(
        "0b0e6d3e-2d7a-4a4f-9c55-5d5b8f0f7a11", holder, "acme/m", None, now - 60, now - renewed_ago
    )


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_holder_on_this_host_keeps_its_lease():
    here = ProcessId.current()
    assert stale_reason(record(here), here, time.time()) is None


def test_a_holder_whose_process_is_gone_is_stale_at_once():
    here = ProcessId.current()
    holder = ProcessId(here.host, dead_pid(), here.boot_id, 12345)
    assert stale_reason(record(holder), here, time.time()) == "its process is gone"


def test_a_reused_pid_does_not_keep_a_dead_holder_alive():
    here = ProcessId.current()
    assert here.started is not None
    holder = ProcessId(here.host, os.getpid(), here.boot_id, here.started - 1)
    assert "another process" in (gone_reason(holder, here) or "")


def test_a_holder_from_before_a_reboot_is_stale():
    here = ProcessId.current()
    holder = ProcessId(here.host, os.getpid(), "another-boot", here.started)
    assert "restarted" in (gone_reason(holder, here) or "")


def test_another_hosts_holder_is_judged_by_its_heartbeat_alone():
    here = ProcessId.current()
    holder = ProcessId("elsewhere", dead_pid(), "x", 1)
    assert stale_reason(record(holder, renewed_ago=20), here, time.time()) is None
    late = stale_reason(record(holder, renewed_ago=SILENCE_SECONDS + 5), here, time.time())
    assert late is not None and "no heartbeat" in late


def test_an_unexplained_taken_slot_is_freed_only_after_any_lease_would_have_lapsed():
    assert orphan_reason(10) is None
    assert orphan_reason(SILENCE_SECONDS + 1) is not None


def test_the_record_round_trips_and_rejects_what_is_not_ours():
    original = record(ProcessId.current())
    assert LeaseRecord.from_value(original.to_value()) == original
    assert LeaseRecord.from_value("someone's note") is None
    assert LeaseRecord.from_value({"lease_id": "x"}) is None
    assert f"pid {os.getpid()}" in original.describe()


def test_record_names_are_valid_prefect_variable_names_and_distinct():
    a = record_name("cog-safe-push:local:Acme:my.model")
    b = record_name("cog-safe-push:local:acme:my-model")
    assert a != b
    assert all(c.isalnum() or c in "-_" for c in a) and a == a.lower()


def test_start_ticks_of_this_process_is_stable():
    assert start_ticks(os.getpid()) == start_ticks(os.getpid()) is not None


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api():
    class Handler(_Health):
        pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, Handler, f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_any_answer_below_500_counts_as_up(api):
    _, handler, url = api
    assert answers(url)
    handler.status = 401  # a workspace that wants a key is still there
    assert answers(url)
    handler.status = 503
    assert not answers(url)


def test_the_watch_gives_up_once_the_server_stopped_answering_for_its_patience(api):
    server, _, url = api
    gone: list[float] = []
    with ServerWatch(url, gone.append, patience=1.0, every=0.2):
        time.sleep(1.5)
        assert gone == []  # answering: nothing happens
        server.shutdown()
        server.server_close()
        stopped = time.monotonic()
        while not gone and time.monotonic() - stopped < 10:
            time.sleep(0.05)
    assert gone and 1.0 <= gone[0] < 3.0
    assert time.monotonic() - stopped < 3.0


GIVE_UP = """
import socket, sys, time
from flows.server_watch import watched_server
from tasks.core.run_scope import run_scope

with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"  # nothing listens here
pushing = sys.argv[1] == "push"
with run_scope() as scope:
    scope.on_abandon = lambda reason: {
        "pushed": bool(scope.pushes()), "model": "acme/m", "version": "v1", "written": []
    }
    with watched_server(url, "managed", lambda line: print(line, flush=True)):
        if pushing:
            with scope.critical():
                time.sleep(4)  # the watch gives up meanwhile, and waits for this
                scope.record_push("acme/m", "v1")
        time.sleep(30)
print("not abandoned")
"""


@pytest.mark.parametrize("moment", ["checks", "push"])
def test_a_run_that_loses_its_server_ends_at_once_unless_a_push_is_under_way(moment, tmp_path):
    env = {**os.environ, "COG_SAFE_PUSH_SERVER_PATIENCE": "1"}
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", GIVE_UP, moment], capture_output=True, text=True, env=env,
        timeout=60, cwd=tmp_path,
    )  # fmt: skip
    seconds = time.monotonic() - began
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    if moment == "push":
        assert done.returncode == 4 and lines[0].startswith("pushed acme/m:v1, but not confirmed")
        assert seconds >= 4  # it waited for the push
    else:
        assert done.returncode == 3 and "stopped answering" in lines[0]
        assert "nothing pushed" in lines[0] and seconds < 15


QUIET = """
import logging
from prefect.logging.configuration import setup_logging
setup_logging()
from flows.runtime import configure_terminal_logging
configure_terminal_logging(0)
logging.getLogger("prefect._internal.concurrency").error(
    "Service %r failed with %s pending items.", "EventsWorker", 3
)
logging.getLogger("EventsWorker").warning("Still processing items: 3 items remaining...")
logging.getLogger("prefect.events.clients").warning("Unable to connect to 'ws://x', will retry.")
logging.getLogger("prefect.something").warning("a warning a person should see")
"""


def test_prefects_lost_connection_noise_stays_off_the_terminal():
    done = subprocess.run([sys.executable, "-c", QUIET], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "a warning a person should see" in done.stderr
    assert "EventsWorker" not in done.stderr and "Still processing" not in done.stderr
    assert "Unable to connect" not in done.stderr


# ---- the lease against the test session's Prefect server


def _taken_by_the_dead(tmp_path, monkeypatch) -> tuple[PlatformSpec, str, int]:
    """A model whose lease slot a process that is gone took; nothing else is recorded."""
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(tmp_path))
    spec = PlatformSpec(kind="local", registry=str(tmp_path / "registry"))
    model = f"acme/lease-{uuid.uuid4().hex[:8]}"
    with lease._client() as client:
        lease._ensure_limit(client, lease.lease_name(spec, model))
        assert lease._take(client, lease.lease_name(spec, model)) is not None
    return spec, model, dead_pid()


def test_a_holder_that_recorded_itself_and_died_is_taken_over_at_once(tmp_path, monkeypatch):
    spec, model, pid = _taken_by_the_dead(tmp_path, monkeypatch)
    name = lease.lease_name(spec, model)
    here = ProcessId.current()
    dead = ProcessId(here.host, pid, here.boot_id, 1)
    with lease._client() as client:
        limit = client.read_global_concurrency_limit_by_name(name)
        assert limit.active_slots == 1
        now = time.time()
        gone = LeaseRecord(str(uuid.uuid4()), dead, model, None, now, now)
        lease._write_record(client, lease.record_name(name), gone)
    said: list[str] = []
    began = time.monotonic()
    with lease.model_lease(spec, model, on_wait=said.append, timeout=30) as held:
        assert time.monotonic() - began < 10
        assert held.took_over is not None and f"pid {pid} on {here.host}" in held.took_over
        assert "its process is gone" in held.took_over and said == [held.took_over]
    with lease._client() as client:  # released, and its record with it
        assert client.read_global_concurrency_limit_by_name(name).active_slots == 0
        assert client.read_variable_by_name(lease.record_name(name)) is None


def test_a_run_killed_between_taking_the_lease_and_recording_itself_is_known(tmp_path, monkeypatch):
    spec, model, pid = _taken_by_the_dead(tmp_path, monkeypatch)
    here = ProcessId.current()
    key = hashlib.sha256(lease.lease_name(spec, model).encode()).hexdigest()[:16]
    intent = tmp_path / "leases" / f"{key}.taking"
    intent.parent.mkdir(parents=True, exist_ok=True)
    intent.write_text(json.dumps(ProcessId(here.host, pid, here.boot_id, 1).to_dict()))
    began = time.monotonic()
    with lease.model_lease(spec, model, timeout=30) as held:
        assert time.monotonic() - began < 10  # not the 75 s an unexplained slot waits
        assert held.took_over is not None and "died before recording itself" in held.took_over
    assert not intent.exists()
