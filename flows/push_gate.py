"""When variants push: all of them or none (the default), or each that passed.

Variants run concurrently, so a variant whose checks pass cannot know yet whether the others
will. By default it waits here, holding its own model lease, until every other variant has
either passed its checks too or ended: if one failed, nobody pushes and the run exits 1 with
every model as it was, so a fleet never ends up half on the new code. With
`--push-passed-variants` a variant pushes as soon as its own checks pass.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar

STOPPING = "the run is stopping"
_seat: ContextVar[tuple[PushGate, str] | None] = ContextVar("cog_safe_push_gate", default=None)


class PushGate:
    """Where the variants of one invocation meet before they push."""

    def __init__(self, names: list[str], push_passed: bool = False) -> None:
        self.names = list(names)
        self.push_passed = push_passed
        self._ready: set[str] = set()  # checks passed, about to push
        self._ended: dict[str, bool] = {}  # variant -> passed, once its run ended
        self._changed = threading.Condition()
        self.on_failure: Callable[[str], None] | None = None  # told the first failed variant

    def ended(self, name: str, passed: bool) -> None:
        """A variant's run is over (whatever happened in it); the first word counts."""
        with self._changed:
            first_failure = not passed and name not in self._ended and not self.failed_names()
            self._ended.setdefault(name, passed)
            self._changed.notify_all()
        if first_failure and self.on_failure is not None:
            self.on_failure(name)

    def failed_names(self) -> list[str]:
        return [name for name in self.names if self._ended.get(name) is False]

    def failed(self) -> list[str]:
        with self._changed:
            return self.failed_names()

    def wait_turn(self, name: str, stopped: Callable[[], bool]) -> str | None:
        """`name` passed its checks: None when it may push, else why it must not."""
        if self.push_passed:
            return None
        with self._changed:
            self._ready.add(name)
            self._changed.notify_all()
            while True:
                failed = self.failed_names()
                if failed:
                    return f"variant {', '.join(failed)} failed, and variants push all or none"
                if stopped():
                    return STOPPING
                if all(n in self._ready or n in self._ended for n in self.names):
                    return None
                self._changed.wait(0.5)


@contextlib.contextmanager
def seated(gate: PushGate, name: str) -> Iterator[None]:
    """The run started inside this block is the variant `name` of `gate`."""
    token = _seat.set((gate, name))
    try:
        yield
    finally:
        _seat.reset(token)


def hold_reason(stopped: Callable[[], bool]) -> str | None:
    """Called by a run whose checks passed, before it pushes: None to push (a run that is no
    variant always may), else why it is held."""
    seat = _seat.get()
    if seat is None:
        return None
    gate, name = seat
    return gate.wait_turn(name, stopped)
