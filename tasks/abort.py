"""A process-wide "stop starting new work" switch, for --fail-fast, Ctrl-C and SIGTERM.

Mapped predictions queued behind a failure check it before they spend anything.
"""

from __future__ import annotations

import threading

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
