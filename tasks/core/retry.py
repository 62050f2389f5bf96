"""Which failures deserve another try. Used as Prefect's `retry_condition_fn`.

Only transient trouble is retried: HTTP 429 and 5xx, dropped connections, read timeouts,
AI overload. A model that fails a check, a 4xx the caller caused, or bad input never is.
"""

from __future__ import annotations

from typing import Any

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


def retry_condition(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry_condition_fn: retry only when the task failed transiently."""
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - we classify, not swallow
        return is_transient(exc)
    return False
