"""Which failures are transient, and which layer retries them: the one policy for every call.

One retry layer per call, chosen by where the call runs:
- In a stage that is safe to repeat (a schema or version look-up, a model-creation check, a
  download, an AI request, the deployment update), Prefect retries the stage: its task has
  `retries`, a jittered `retry_delay_seconds` and a `retry_condition_fn` built on
  `is_transient` (tasks.retrying). Inside it, `stage_retries()` is on, and every call makes
  one attempt (`attempts_here`): the stage's retry is the only one.
- Inside a paid prediction, which Prefect must never run again, the Replicate platform's
  calls keep their own bounded loop (tasks.platforms.replicate.calls), and creates are
  adopted, never sent twice. A prediction that ended for an infrastructure reason is run
  again once, as a new prediction (tasks.predictions).
A model that fails a check, a 4xx the caller caused, or bad input is never retried anywhere.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from tasks.core.errors import TransientError

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 529})

STAGE_RETRIES = 4  # attempts after the first, for a stage that is safe to repeat
RETRY_AFTER_CAP = 60.0  # seconds: a longer Retry-After is not waited for in full
_DELAY_ENV = "COG_SAFE_PUSH_RETRY_DELAY"  # seconds before the first retry (tests shorten it)

_in_stage: ContextVar[bool] = ContextVar("cog_safe_push_stage_retries", default=False)


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


def retry_after(exc: BaseException) -> float | None:
    """The wait the server asked for (HTTP Retry-After), capped; None when it asked none."""
    value = getattr(exc, "retry_after", None)
    if isinstance(value, int | float) and value >= 0:
        return min(float(value), RETRY_AFTER_CAP)
    return None


def retry_delays(retries: int = STAGE_RETRIES) -> list[float]:
    """Exponential delays before each retry (1, 2, 4, 8 s by default); Prefect adds the
    jitter (`retry_jitter_factor`), so parallel stages do not retry in step."""
    try:
        first = float(os.environ.get(_DELAY_ENV, "1"))
    except ValueError:
        first = 1.0
    return [max(0.0, first) * 2**n for n in range(retries)]


@contextlib.contextmanager
def stage_retries() -> Iterator[None]:
    """Mark the calls made here as retried by their stage (Prefect): one attempt each."""
    token = _in_stage.set(True)
    try:
        yield
    finally:
        _in_stage.reset(token)


def attempts_here(default: int) -> int:
    """How many attempts a call makes where it runs: one inside a retried stage, else its own
    `default` (a call inside a prediction, which Prefect must not repeat)."""
    return 1 if _in_stage.get() else default


# A repeatable request made from pure logic (an AI request, a download) runs through this
# hook: the stages install a Prefect task with retries (tasks.retrying); without one (pure
# code used on its own) the request makes a single attempt.
_request_runner: Callable[[str, Callable[[], Any]], Any] | None = None


def use_request_runner(runner: Callable[[str, Callable[[], Any]], Any] | None) -> None:
    global _request_runner
    _request_runner = runner


def retried(what: str, call: Callable[[], T]) -> T:
    """`call()` as a repeatable request named `what`, under the installed retry layer."""
    runner = _request_runner
    if runner is None or _in_stage.get():  # no layer, or the stage around it retries
        return call()
    return runner(what, call)


# How Replicate says a run was cut short by its own infrastructure, not by the model: the
# "Prediction interrupted; please retry (code: PA)" failure, and error code E1000 (an
# unknown, uncategorised error that its documentation says to retry). E1001 (out of memory)
# is the model's own. One list for the platform's runs and the AI's predictions alike.
_INTERRUPTED = re.compile(r"prediction interrupted|please retry|\(code: PA\)|\bE1000\b", re.I)


def interrupted(error: object) -> bool:
    """True when a failed run's error says the platform, not the model, ended it."""
    return isinstance(error, str) and bool(_INTERRUPTED.search(error))
