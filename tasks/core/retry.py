"""Which HTTP answers are transient: the one list, for every place that retries.

Retries live where a call is made, one layer per kind of call: the Replicate platform retries
its API calls (tasks.platforms.replicate.calls), the AI client its Messages calls, the
downloader its fetches. Prefect task retries are not stacked on top: they would multiply the
requests and re-run paid predictions. A model that fails a check, a 4xx the caller caused, or
bad input is never retried anywhere.
"""

from __future__ import annotations

from tasks.core.errors import TransientError

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 529})


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status", "status_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same call could plausibly succeed."""
    if isinstance(exc, TransientError):
        return True
    status = _status_of(exc)
    if status is not None:
        return status in TRANSIENT_STATUS
    names = {cls.__name__ for cls in type(exc).__mro__}
    transient_names = {
        "ConnectionError",
        "ConnectError",
        "ConnectTimeout",
        "ReadTimeout",
        "ReadError",
        "RemoteProtocolError",
        "ConnectionResetError",
        "ChunkedEncodingError",
        "APIConnectionError",
        "APITimeoutError",
        "OverloadedError",
    }
    return bool(names & transient_names)
