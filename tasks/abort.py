"""A process-wide "stop starting new work" switch, for --fail-fast, Ctrl-C and SIGTERM.

Mapped predictions queued behind a failure check it before they spend anything.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from tasks.platforms import cancel_inflight

_stop = threading.Event()
_reason: list[str] = []


def request_stop(reason: str) -> None:
    if not _stop.is_set():
        _reason[:] = [reason]
        _stop.set()


def stopped() -> bool:
    return _stop.is_set()


def reason() -> str:
    return _reason[0] if _reason else ""


def reset() -> None:
    _stop.clear()
    _reason.clear()


@contextlib.contextmanager
def cancel_on_signals() -> Iterator[None]:
    """Ctrl-C or SIGTERM during a run: start no new prediction and cancel those in flight at
    once, then let the previous handler (Prefect's, or Python's) unwind the run as usual.

    Without this, Prefect would wait for every running prediction to finish or time out."""
    installed: dict[int, Any] = {}

    def chain(previous: Any) -> Any:
        def handler(signum: int, frame: Any) -> None:
            request_stop(f"interrupted by {signal.Signals(signum).name}")
            threading.Thread(target=cancel_inflight, name="cancel-inflight", daemon=True).start()
            if callable(previous):
                previous(signum, frame)
            else:
                raise KeyboardInterrupt

        return handler

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not the main thread: nothing to install
            installed[sig] = signal.signal(sig, chain(signal.getsignal(sig)))
    try:
        yield
    finally:
        for sig, previous in installed.items():
            signal.signal(sig, previous)
