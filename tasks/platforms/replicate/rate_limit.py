"""A thread-safe sliding-window rate limiter for prediction creation.

Replicate documents a limit of 600 prediction creates per minute. However many threads the
flows map predictions over (`parallel`), every create first reserves a slot here, so a large
fuzz run slows down instead of collecting HTTP 429s.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable

DEFAULT_LIMIT = 600
DEFAULT_PERIOD = 60.0


class RateLimiter:
    """At most `limit` events in any window of `period` seconds.

    `reserve()` hands out the earliest slot that keeps the window within the limit and
    returns how long the caller must wait for it; reservation and waiting are separate, so
    the lock is never held while sleeping and callers queue fairly in reservation order.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        period: float = DEFAULT_PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("rate limit needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._clock = clock
        self._slots: deque[float] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Claim the next slot; return the seconds to wait before using it (0 when free)."""
        with self._lock:
            now = self._clock()
            slot = now
            if len(self._slots) == self.limit:
                # The slot `limit` reservations ago must have left the window.
                slot = max(now, self._slots[0] + self.period)
            self._slots.append(slot)
            return slot - now

    def acquire(self) -> float:
        """Block until a slot is ours; return the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)
        return delay

    async def async_acquire(self) -> float:
        """Like `acquire`, without blocking the event loop."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
        return delay
