"""One budget of concurrent predictions shared by every run of an invocation.

Why: several variants run as concurrent subflows, each with its own pool of `parallel`
workers; without a shared budget, three variants at `--parallel 4` would run twelve
predictions at once on one account. The variants flow opens a budget; each prediction or
training holds a slot of it while it runs on the platform. Outside a budget (one run) the
run's own pool is the only limit, as before.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar

_budget: ContextVar[Budget | None] = ContextVar("cog_safe_push_budget", default=None)


class Budget:
    """At most `size` runs on the platform at once; counts the most it saw (for reports)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a budget needs at least one slot")
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._busy = 0
        self.peak = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            with self._lock:
                self._busy += 1
                self.peak = max(self.peak, self._busy)
            try:
                yield
            finally:
                with self._lock:
                    self._busy -= 1


@contextlib.contextmanager
def shared_budget(size: int) -> Iterator[Budget]:
    """Every prediction started under this context (threads copy it) shares `size` slots."""
    budget = Budget(size)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


@contextlib.contextmanager
def budget_slot() -> Iterator[None]:
    """Hold one slot of the shared budget, when there is one, for the length of a run."""
    budget = _budget.get()
    if budget is None:
        yield
        return
    with budget.slot():
        yield
