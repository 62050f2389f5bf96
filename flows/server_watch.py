"""A run that outlives its Prefect server ends cleanly instead of hanging.

Why: every stage is a Prefect task. With the server gone, Prefect's engine retries each state
change for minutes, its events worker logs an error every few seconds, and the run never
ends. The verdict must not depend on the server staying up: a thread probes the API, and once
it has not answered for PATIENCE seconds the run starts nothing new, cancels what is in
flight, writes its JSON report and JUnit file with what it knows, and the process exits 3
with one line. A final push already under way is let finish (it may reach the registry), and
the line then says what was pushed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from tasks.core.errors import EXIT_CODES
from tasks.core.run_scope import open_runs

PROBE_EVERY = 2.0
PATIENCE_ENV = "COG_SAFE_PUSH_SERVER_PATIENCE"
PATIENCE = 8.0  # seconds without an answer before the server counts as gone
PUSH_GRACE = 900.0  # a final push that already started gets this long to finish


def answers(api_url: str, timeout: float = 2.0) -> bool:
    """Whether anything answers at the API: any HTTP status below 500 counts (a Prefect
    Cloud workspace may refuse /health without a key, and still be up)."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout):  # noqa: S310
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


class ServerWatch:
    """Probes `api_url` every PROBE_EVERY seconds; calls `on_gone(seconds)` once, from its own
    thread, when nothing answered for `patience` seconds."""

    def __init__(
        self,
        api_url: str,
        on_gone: Callable[[float], None],
        patience: float | None = None,
        every: float = PROBE_EVERY,
    ) -> None:
        self.api_url = api_url
        self.on_gone = on_gone
        self.patience = patience or float(os.environ.get(PATIENCE_ENV) or PATIENCE)
        self.every = every
        self._stop = threading.Event()
        self._once = threading.Lock()
        self._last_answer = time.monotonic()
        self._thread = threading.Thread(
            target=self._watch, name="prefect-server-watch", daemon=True
        )

    def _watch(self) -> None:
        self._last_answer = time.monotonic()
        while not self._stop.wait(self.every):
            if answers(self.api_url, timeout=min(2.0, self.patience / 2)):
                self._last_answer = time.monotonic()
            elif time.monotonic() - self._last_answer >= self.patience:
                self._give_up()
                return

    def _give_up(self) -> None:
        with self._once:
            if self._stop.is_set():
                return
            self._stop.set()
        self.on_gone(time.monotonic() - self._last_answer)

    def settle(self) -> None:
        """Before a run states its verdict: a server that does not answer now may have
        failed some of its stages (a task that could not record its state), so the verdict
        is not the model's. Wait out the patience, and give up as the watch would."""
        deadline = time.monotonic() + self.patience
        while not self._stop.is_set():
            if answers(self.api_url, timeout=min(2.0, self.patience / 2)):
                return
            if time.monotonic() >= deadline:
                self._give_up()
                return
            time.sleep(min(self.every, 0.5))

    def __enter__(self) -> ServerWatch:
        global _active
        _active = self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        global _active
        _active = None
        with self._once:
            self._stop.set()


_active: ServerWatch | None = None


def settle() -> None:
    """See ServerWatch.settle; nothing when no watch runs in this process (a deployment's
    worker, a test that calls the flow)."""
    watch = _active
    if watch is not None:
        watch.settle()


def _fix(kind: str) -> str:
    if kind == "configured":
        return "run again once it answers, or unset PREFECT_API_URL to use the managed server"
    if kind == "managed":
        return "run again: the managed server is restarted on the next run"
    return "run again"


def gave_up(reason: str, pushed: list[str], fix: str, where: str = "") -> tuple[str, int]:
    """The one line and exit code of a run that could not finish for want of its Prefect
    server: 4 when something was pushed (it is not confirmed), else 3."""
    if pushed:
        line = f"pushed {', '.join(pushed)}, but not confirmed: {reason}{where}"
        return line, EXIT_CODES["unconfirmed"]
    line = f"cannot finish: {reason}; nothing pushed{where}. Fix: {fix}"
    return line, EXIT_CODES["aborted"]


def abandon(api_url: str, kind: str, seconds: float, say: Callable[[str], None]) -> Any:
    """Stop every open run of this process for good and end the process: exit 3, or 4 when
    a final push had already landed. Called from the watch thread; never returns."""
    logging.disable(logging.CRITICAL)  # Prefect's retry errors would stream on
    reason = f"the Prefect server at {api_url} stopped answering ({seconds:.0f} s)"
    pushed: list[str] = []
    reports: list[str] = []
    for scope in open_runs():
        scope.request_stop(reason)
        with contextlib.suppress(Exception):
            scope.cancel_inflight()
        scope.wait_calm(PUSH_GRACE)
        if scope.on_abandon is not None:
            with contextlib.suppress(Exception):
                report = scope.on_abandon(reason)
                if report.get("pushed"):
                    pushed.append(f"{report['model']}:{report['version']}")
                reports += report.get("written", [])
        with contextlib.suppress(Exception):
            scope.close()
    from flows import prefect_server

    prefect_server.stop_temporaries()
    where = f"; report in {', '.join(reports)}" if reports else ""
    if pushed:
        reason += " before the run could check what landed"
    line, code = gave_up(reason, pushed, _fix(kind), where)
    say(line)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


@contextlib.contextmanager
def watched_server(api_url: str, kind: str, say: Callable[[str], None]) -> Iterator[None]:
    """The block runs with its Prefect server watched (see the module docstring)."""
    with ServerWatch(api_url, lambda seconds: abandon(api_url, kind, seconds, say)):
        yield
