"""What the benchmarks share: a Prefect server to run against, and one CLI run measured.

Benchmarks run the real tool in-process (as a user's command line does) against the fakes of
tests/fakes, so that their figures are the tool's, not a mock's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def prefect_server(work: Path) -> Iterator[None]:
    """The configured Prefect API, or a server of our own (SQLite under `work`)."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from tests.prefect_server import free_port, running_server

    os.environ["PREFECT_HOME"] = str(work / "prefect")
    port = free_port()
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    with running_server(port, work / "server.log"):
        yield


def run_cli(model_dir: Path, work: Path, *flags: str) -> tuple[int, dict, float]:
    """`cog-safe-push --platform replicate FLAGS` in `model_dir`: (exit code, report, seconds)."""
    from flows.cli import main

    report_path = work / "report.json"
    cwd = os.getcwd()
    os.chdir(model_dir)
    started = time.monotonic()
    try:
        code = main(["--platform", "replicate", "--report-json", str(report_path), *flags])
    finally:
        os.chdir(cwd)
    return code, json.loads(report_path.read_text()), time.monotonic() - started
