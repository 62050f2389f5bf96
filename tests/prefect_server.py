"""Start and stop a real local Prefect server (SQLite, 127.0.0.1): for the test session and
for benchmarks, which both need runs, logs and artifacts to land somewhere real."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, deadline: float) -> None:
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
    """Send buffered run logs while the server is still up."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogHandler, APILogWorker

        APILogHandler.flush()
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
    except Exception:  # noqa: BLE001 - best effort at teardown
        pass


def start_server(port: int, log_path: Path) -> tuple[str, Callable[[bool], None]]:
    """`prefect server start` on `port` (settings from the environment): (API URL, stop)."""
    url = f"http://127.0.0.1:{port}/api"
    log = open(log_path, "w")  # noqa: SIM115 - closed by stop()
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
            str(port),
            "--no-ui",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PREFECT_API_URL": url},
    )

    def stop(flush: bool = True) -> None:
        if flush:
            _flush_prefect_logs()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    try:
        _wait_healthy(url, proc, time.monotonic() + 120)
    except BaseException:
        stop()
        raise
    return url, stop


@contextlib.contextmanager
def running_server(port: int, log_path: Path) -> Iterator[str]:
    url, stop = start_server(port, log_path)
    try:
        yield url
    finally:
        stop()
