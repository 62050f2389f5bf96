"""One run at a time per model: a Prefect global concurrency limit, held while a run that may
push checks its model and pushes it.

Why: two runs that both pass and both push can leave a breaking change in the model's history
(B was checked against the version before A pushed, and its push drops what A added). With
the lease, the second run waits and is then checked against what the first one pushed. The
lease is renewed while held and expires if its holder dies, so a killed run never blocks the
model for good.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

from tasks.core.platform_data import PlatformSpec
from tasks.core.refs import split_ref

TIMEOUT_ENV = "COG_SAFE_PUSH_LEASE_TIMEOUT"
DEFAULT_TIMEOUT = 3600.0
LEASE_SECONDS = 300.0
# A free lease is granted in one request; a busy API server can still take seconds to answer.
FIRST_TRY_SECONDS = 5.0


class LeaseTimeout(Exception):
    """Another run held the model for longer than we were willing to wait."""


def lease_name(spec: PlatformSpec, model: str) -> str:
    owner, name = split_ref(model)
    return f"cog-safe-push:{spec.kind}:{owner}:{name}"


def _ensure_limit(name: str) -> bool:
    """Create the model's limit if needed; True when another run holds it right now."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        with contextlib.suppress(Exception):
            # Not atomic: two first runs may both create it; the loser's error is harmless.
            client.upsert_global_concurrency_limit_by_name(name, 1)
        try:
            return client.read_global_concurrency_limit_by_name(name).active_slots > 0
        except Exception:
            return False


@contextlib.contextmanager
def model_lease(
    spec: PlatformSpec,
    model: str,
    on_wait: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> Iterator[float]:
    """Hold the model's lease; yields the seconds spent waiting for another run (0.0 if
    none held it).

    `on_wait(message)` is called once when another run holds it. Raises LeaseTimeout.
    """
    from prefect.concurrency.sync import concurrency

    name = lease_name(spec, model)
    limit = timeout if timeout is not None else float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    started = time.monotonic()
    contended = _ensure_limit(name)
    message = f"another run of {model} holds its lease; waiting for it to finish"
    if contended and on_wait:
        on_wait(message)
    holder = contextlib.ExitStack()

    def take(seconds: float) -> None:
        holder.enter_context(
            concurrency(
                name, occupy=1, timeout_seconds=seconds, lease_duration=LEASE_SECONDS, strict=True
            )
        )

    try:
        take(FIRST_TRY_SECONDS)
    except TimeoutError:
        if not contended and on_wait:
            on_wait(message)
        contended = True
        try:
            take(max(1.0, limit - (time.monotonic() - started)))
        except TimeoutError:
            raise LeaseTimeout(
                f"another run of {model} held it for over {limit:.0f} s ({TIMEOUT_ENV})"
            ) from None
    with holder:
        yield time.monotonic() - started if contended else 0.0
