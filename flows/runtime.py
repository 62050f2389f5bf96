"""How a command-line run gets a Prefect API, and a quiet Prefect in the terminal.

In order: with --no-server or COG_SAFE_PUSH_NO_SERVER, a temporary server for this run only;
else the user's own API (PREFECT_API_URL, or a Prefect profile, .env or prefect.toml that sets
one: Prefect's own settings decide), which must answer; else the managed local server (flows/prefect_server.py),
started once and reused. If none can be had, ServerUnavailable carries one line naming the
cause and the fix, and the CLI exits with EXIT_NO_PREFECT.

In the terminal, Prefect says only what a person needs (its run lines with -v); -vvv adds the
tool's own debug lines (what the AI was asked and answered, which evidence decided each
comparison), not Prefect's debug logs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flows import prefect_server
from flows.console import Console
from flows.prefect_server import ServerUnavailable
from tasks.core.errors import EXIT_CODES

EXIT_NO_PREFECT = EXIT_CODES["aborted"]  # no Prefect server could be had
NO_SERVER_ENV = "COG_SAFE_PUSH_NO_SERVER"

__all__ = ["EXIT_NO_PREFECT", "Runtime", "ServerUnavailable", "prefect_api", "quiet_prefect"]


@dataclass
class Runtime:
    kind: Literal["configured", "managed", "temporary"]
    api_url: str


def no_server_requested(flag: bool) -> bool:
    value = os.environ.get(NO_SERVER_ENV, "").strip().lower()
    return flag or value in {"1", "true", "yes", "on"}


def quiet_prefect() -> None:
    """Before Prefect is imported: no telemetry, and the temporary-server wait made long."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _use(api_url: str) -> None:
    """Point this process's Prefect at `api_url`, a server of ours on loopback (Prefect read
    its settings at import)."""
    from prefect.context import refresh_global_settings_context

    os.environ["PREFECT_API_URL"] = api_url
    if api_url.startswith("http://"):
        bundle = _one_certificate_bundle(prefect_server.server_dir())
        if bundle is not None:
            os.environ["PREFECT_API_SSL_CERT_FILE"] = str(bundle)
    refresh_global_settings_context()


_BEGIN, _END = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"


def _one_certificate_bundle(folder: Path) -> Path | None:
    """A CA bundle of one certificate, for Prefect's clients of a plain-HTTP server.

    Prefect gives each client it makes (six in a run) a TLS context with a whole CA bundle
    loaded (certifi's, or SSL_CERT_FILE's), 20 ms apiece, even for an http:// API that never
    uses it. The bundle it is told to load instead holds one certificate (the first of
    certifi's): loaded in 2 ms, and used for nothing, as there is no TLS to the server. The
    setting is Prefect's own (PREFECT_API_SSL_CERT_FILE) and concerns its API alone. None if
    the bundle cannot be written."""
    path = folder / "no-tls-ca.pem"
    if path.is_file():
        return path
    try:
        import certifi

        text = Path(certifi.where()).read_text(encoding="utf-8")
        begin = text.index(_BEGIN)
        first = text[begin : text.index(_END, begin) + len(_END)]
        folder.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        scratch.write_text(first + "\n", encoding="ascii")
        os.replace(scratch, path)
    except (OSError, ValueError, ImportError):
        return None
    return path


def _answers_soon(api_url: str, patience: float = 6.0) -> bool:
    """A configured API gets a few seconds (a busy server) before it counts as down."""
    from flows.server_watch import answers

    deadline = time.monotonic() + patience
    while True:
        if answers(api_url, timeout=2.0):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def _fix(cause: str) -> str:
    return (
        f"no Prefect server: {cause}. Fix: run again (a busy machine may need "
        f"{prefect_server.TIMEOUT_ENV}=600), point PREFECT_API_URL at a running Prefect server, "
        "or pass --no-server"
    )


@contextlib.contextmanager
def prefect_api(no_server: bool, console: Console) -> Iterator[Runtime]:
    """Make Prefect usable for one CLI run; see the module docstring for the order."""
    quiet_prefect()
    from prefect.settings import get_current_settings

    configured = get_current_settings().api.url
    if configured and not no_server_requested(no_server):
        if not _answers_soon(str(configured)):
            raise ServerUnavailable(
                f"the Prefect API at {configured} (PREFECT_API_URL) does not answer. Fix: start "
                "that server, unset PREFECT_API_URL to use the managed local server, or pass "
                "--no-server"
            )
        yield Runtime("configured", str(configured))
        return
    timeout = float(os.environ.get(prefect_server.TIMEOUT_ENV, prefect_server.DEFAULT_TIMEOUT))
    wait = console.waiting()
    try:
        if no_server_requested(no_server):
            wait.begin("starting a temporary Prefect server for this run…")
            state = prefect_server.temporary(timeout=timeout, on_tick=wait.tick)
            wait.end()
            _use(state.url)
            yield Runtime("temporary", state.url)
            return
        state, started = prefect_server.ensure(
            timeout=timeout,
            on_wait=lambda message: wait.begin(message),
            on_start=lambda log: wait.begin("starting the local Prefect server (first run only)…"),
            on_tick=wait.tick,
            on_note=lambda message: (wait.end(), console.line(message)),
        )
    except ServerUnavailable as exc:
        raise ServerUnavailable(_fix(str(exc))) from None
    finally:
        wait.end()
    if started:
        console.line(
            f"local Prefect server started at {state.ui_url} "
            "(stop it with `cog-safe-push server stop`)"
        )
    _use(state.url)
    yield Runtime("managed", state.url)


def _transport_noise(record: logging.LogRecord) -> bool:
    """Prefect's background workers losing the API: an error every few seconds while a
    server is down, and nothing a person can act on that the run will not say itself."""
    if record.name.startswith("prefect.events.clients"):
        return True
    if "." not in record.name and record.name.endswith("Worker"):
        return True  # a Prefect queue service's own logger (EventsWorker, APILogWorker)
    message = record.getMessage()
    return record.name.startswith("prefect._internal") and message.startswith("Service ")


class _RunLogFilter(logging.Filter):
    """The terminal shows the live progress; Prefect's run lines only with -v."""

    def __init__(self, verbose: int) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbose >= 1:
            return True
        if record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return False
        if _transport_noise(record):
            return False  # the server watch (flows.server_watch) says it once, in one line
        return record.levelno >= logging.WARNING


OWN_LOGGERS = ("tasks", "flows")  # the tool's own lines: the AI transcript, comparison evidence
DEBUG_VERBOSITY = 3  # -vvv
_RUN_LOGS = "cog-safe-push run logs"  # our handler's name, so a second call replaces it


def configure_terminal_logging(verbose: int) -> None:
    """Filter Prefect's console handlers (the API still receives every log line), and at
    -vvv let the tool's own debug lines through (`own_debug_lines`)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    run_filter = _RunLogFilter(verbose)
    # Prefect's API log worker writes "--- Error logging to API ---" straight to stderr while
    # its server is unreachable, unless logging's own error reports are off; the server
    # watch says it once instead (with -v they stay on).
    logging.raiseExceptions = verbose >= 1
    for name in ["", *logging.root.manager.loggerDict]:
        logger = logging.getLogger(name) if name else logging.getLogger()
        for handler in getattr(logger, "handlers", []):
            # prefect._internal prints through a plain stream handler of its own
            terminal = isinstance(handler, PrefectConsoleHandler) or (
                name.startswith("prefect._internal") and isinstance(handler, logging.StreamHandler)
            )
            if terminal:
                handler.addFilter(run_filter)
    own_debug_lines(verbose >= DEBUG_VERBOSITY)


def own_debug_lines(on: bool) -> None:
    """-vvv: the tool's own debug lines (what the AI was asked and answered, which evidence
    decided each comparison) on stderr, through the root logger's console handler, and in
    the Prefect run's logs. Prefect's own DEBUG flood stays off: it would bury them, and
    Prefect's setting PREFECT_LOGGING_LEVEL=DEBUG (with -v) brings it for those who want it.
    Below -vvv the level is left to the root logger (WARNING), so nothing of this shows."""
    for name in OWN_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if on else logging.NOTSET)
        for handler in [h for h in logger.handlers if h.get_name() == _RUN_LOGS]:
            logger.removeHandler(handler)
        if on:
            logger.addHandler(_run_logs())


def _run_logs() -> logging.Handler:
    """Prefect's API log handler, for lines written inside a flow or task run only (outside
    one it would warn that it has no run to attach them to)."""
    from prefect.logging.handlers import APILogHandler

    handler = APILogHandler()
    handler.set_name(_RUN_LOGS)
    handler.addFilter(_in_a_run)
    return handler


def _in_a_run(record: logging.LogRecord) -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None
