"""Test session setup: an isolated Prefect home and one real Prefect server for the session.

Settings go into the environment before any test module imports Prefect, so that every flow
in the session (in-process or in a subprocess) talks to the same local server, and nothing
touches the developer's ~/.prefect or ~/.cache.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SESSION_DIR = Path(tempfile.mkdtemp(prefix="cog-safe-push-tests-"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PREFECT_PORT = _free_port()
os.environ.update(
    {
        "PREFECT_HOME": str(SESSION_DIR / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",
        "PREFECT_LOCAL_STORAGE_PATH": str(SESSION_DIR / "prefect" / "storage"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
        "COG_SAFE_PUSH_HOME": str(SESSION_DIR / "registry"),
    }
)
for secret in (
    "REPLICATE_API_TOKEN",
    "ANTHROPIC_API_KEY",
    "REPLICATE_BASE_URL",
    "ANTHROPIC_BASE_URL",
):
    os.environ.pop(secret, None)
# coglet starts its worker with `python` from PATH: make it this interpreter.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _wait_healthy(url: str, proc: subprocess.Popen, deadline: float) -> None:
    import urllib.request

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("prefect server did not become healthy in time")


def _flush_prefect_logs() -> None:
    """Send buffered run logs while the server is still up (else: 'Error logging to API')."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogHandler, APILogWorker

        APILogHandler.flush()
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
    except Exception:  # noqa: BLE001 - best effort at teardown
        pass


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    """A real `prefect server start` (SQLite, 127.0.0.1, a free port) for the whole session."""
    log = open(SESSION_DIR / "prefect-server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(PREFECT_PORT),
            "--no-ui",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_healthy(os.environ["PREFECT_API_URL"], proc, time.monotonic() + 120)
        yield os.environ["PREFECT_API_URL"]
    finally:
        _flush_prefect_logs()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def registry(tmp_path, monkeypatch) -> Path:
    """A fresh local-platform registry for one test."""
    path = tmp_path / "registry"
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(path))
    return path
