"""How Replicate API calls are retried: where, how often, how far apart.

Every API call of the platform goes through `call`; the client's own retrying transport is
replaced (tasks.platforms.replicate.client). One layer retries each call (tasks.core.retry):
inside a stage that Prefect retries (a version look-up, a model check, the deployment update)
a call makes one attempt, and the stage is retried; inside a prediction, which Prefect must
not repeat, `call` retries itself, at most ATTEMPTS requests per call.

- "idempotent" calls (reads, cancels, PATCHes, and creates whose duplicate shows up as 409)
  retry any transient failure: HTTP statuses of tasks.core.retry.TRANSIENT_STATUS, dropped
  connections, timeouts.
- "create" calls start paid runs. They are sent again as they are only when certainly nothing
  started (HTTP 429, or the request never left). After an ambiguous failure (a 5xx, a read
  timeout, a connection dropped after sending) `recover` first looks for the run the request
  may have made; it is adopted when found, and only otherwise is the create sent again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from tasks.core.errors import SafePushError
from tasks.core.retry import attempts_here
from tasks.platforms.replicate.client import noting
from tasks.platforms.replicate.errors import ReplicateTransientError, map_exception

T = TypeVar("T")
CallKind = Literal["idempotent", "create"]

ATTEMPTS = 5
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


def backoff(
    attempt: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Delay before retry number `attempt` (1-based): the server's Retry-After when it gave
    one, else exponential with jitter (so that parallel callers do not retry in step)."""
    if retry_after is not None and retry_after >= 0:
        return retry_after
    base = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
    return base * (0.5 + (rng or random).random())


def may_retry(error: SafePushError, kind: CallKind) -> bool:
    """Whether `error` allows sending the same request again as it is."""
    if not isinstance(error, ReplicateTransientError):
        return False
    return kind == "idempotent" or error.refused


async def call(
    send: Callable[[], Awaitable[T]],
    what: str,
    *,
    kind: CallKind = "idempotent",
    cancel_after: str | None = None,
    recover: Callable[[], Awaitable[T | None]] | None = None,
    stopping: Callable[[], bool] | None = None,
    attempts: int = ATTEMPTS,
) -> T:
    """`await send()` under the policy above; failures raised as the tool's errors.

    `cancel_after` is sent as the Cancel-After header of the create; `stopping()` true ends
    the retries early (the run is being canceled: start nothing new).
    """
    attempts = attempts_here(attempts)
    for attempt in range(1, attempts + 1):
        with noting(cancel_after) as notes:
            try:
                return await send()
            except Exception as exc:  # noqa: BLE001 - mapped below, or re-raised as it is
                error = map_exception(exc, what, notes.retry_after)
                if error is None:
                    raise
        # Raised outside the `except`: the HTTP layer's exception (its request carries the
        # Authorization header) never becomes our error's context.
        if not isinstance(error, ReplicateTransientError):
            raise error
        if not may_retry(error, kind):  # an ambiguous create: did it start a run?
            if recover is None:
                raise error
            try:
                found = await recover()
            except SafePushError:
                raise error from None
            if found is not None:
                return found
        if attempt == attempts or (stopping is not None and stopping()):
            raise error
        await asyncio.sleep(backoff(attempt, error.retry_after))
    raise AssertionError("unreachable")
