"""How long to hold, when Replicate must cancel, how often to poll, and where a run's page is.

Pure arithmetic on a run's timeout, kept apart so it can be tested without a server. The
numbers come from Replicate's documented limits: a create request is held at most 60 s
(`Prefer: wait`), and `Cancel-After` accepts at least 5 s.
"""

from __future__ import annotations

import math
from typing import Any

MAX_PREFER_WAIT = 60  # Replicate holds a request at most 60 s
# We ask for less: while Replicate holds a create request we do not know the prediction's id,
# so a run that must stop (--fail-fast, Ctrl-C, SIGTERM) cannot cancel it until the hold ends.
PREFER_WAIT_CAP = 10
MIN_CANCEL_AFTER = 5  # Replicate's minimum Cancel-After
POLL_START = 0.25
POLL_CAP = 5.0
WEB_BASE = "https://replicate.com/p/"


def prefer_wait(timeout: float) -> int:
    """Seconds to ask Replicate to hold a create request (1..PREFER_WAIT_CAP, never beyond
    the timeout): one request for a quick prediction, and a bounded blind spot for cancels."""
    return max(1, min(PREFER_WAIT_CAP, MAX_PREFER_WAIT, math.ceil(timeout)))


def cancel_after(timeout: float) -> str:
    """The Cancel-After header value for a run allowed `timeout` seconds: Replicate stops the
    run itself at its deadline, even if this process died before it could cancel."""
    return f"{max(MIN_CANCEL_AFTER, math.ceil(timeout))}s"


def next_poll(interval: float, cap: float = POLL_CAP) -> float:
    """The polling interval after `interval`: doubling up to `cap`, so a long run costs a
    request every few seconds rather than a tight loop."""
    return min(interval * 2, cap)


def poll_delays(start: float = POLL_START, cap: float = POLL_CAP) -> list[float]:
    """The first polling intervals, up to and including the cap (for docs and tests)."""
    delays = [start]
    while delays[-1] < cap:
        delays.append(next_poll(delays[-1], cap))
    return delays


def web_url(run: dict[str, Any]) -> str | None:
    """The run's page on replicate.com, for reports; built from its id when the API gave none."""
    urls = run.get("urls") or {}
    if urls.get("web"):
        return str(urls["web"])
    return f"{WEB_BASE}{run['id']}" if run.get("id") else None
