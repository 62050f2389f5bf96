"""Downloads as repeatable requests: in a run, Prefect retries a transient failure (a 503, a
dropped connection) as a task run of its own; a 404 fails at once; outside a run, one try."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow

import tasks.retrying  # noqa: F401 - installs the retry layer of downloads
from tasks.core.download import DownloadError, download
from tasks.core.errors import TransientError
from tasks.core.retry import STAGE_RETRIES
from tests.helpers import task_run_histories

BODY = b"the file\n"


@contextlib.contextmanager
def flaky(faults: list[str]) -> Iterator[tuple[str, list[str]]]:
    """A server that answers each request with the next fault ("503", "drop", "404"), then
    with BODY; yields its URL and the paths it was asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            asked.append(self.path)
            fault = faults.pop(0) if faults else None
            if fault == "drop":
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            status = int(fault) if fault else 200
            body = BODY if status == 200 else b"no"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/outputs/out.txt?sig=secret", asked
    finally:
        server.shutdown()
        server.server_close()


def in_flow(url: str, target: Path) -> tuple[object, str]:
    @flow(name="download test")
    def fetch() -> object:
        try:
            return download(url, target)
        except (DownloadError, TransientError) as exc:
            return exc

    state = fetch(return_state=True)
    return state.result(), str(state.state_details.flow_run_id)


@pytest.mark.parametrize("faults", [["503"], ["drop"], ["503", "drop", "503"]])
def test_a_transient_failure_is_a_prefect_retry_of_the_download(tmp_path, faults):
    expected_retries = len(faults)
    with flaky(list(faults)) as (url, asked):
        value, run_id = in_flow(url, tmp_path / "out.txt")
    assert value == tmp_path / "out.txt" and (tmp_path / "out.txt").read_bytes() == BODY
    assert len(asked) == expected_retries + 1
    [history] = task_run_histories(run_id, "download")
    assert history.count("Retrying") == expected_retries and history[-1] == "Completed"
    assert not list(tmp_path.glob(".*.part"))  # no half file left behind


def test_a_404_fails_at_once_and_names_the_url_without_its_query(tmp_path):
    with flaky(["404"]) as (url, asked):
        value, run_id = in_flow(url, tmp_path / "out.txt")
    assert isinstance(value, DownloadError) and "HTTP 404" in str(value)
    assert "sig=secret" not in str(value)
    assert len(asked) == 1
    [history] = task_run_histories(run_id, "download")
    assert "Retrying" not in history and history[-1] == "Failed"


def test_retries_are_bounded(tmp_path):
    with flaky(["503"] * 10) as (url, asked):
        value, _ = in_flow(url, tmp_path / "out.txt")
    assert isinstance(value, TransientError)
    assert len(asked) == 1 + STAGE_RETRIES


def test_outside_a_run_a_download_is_tried_once(tmp_path):
    with flaky(["503"]) as (url, asked), pytest.raises(TransientError):
        download(url, tmp_path / "out.txt")
    assert len(asked) == 1
