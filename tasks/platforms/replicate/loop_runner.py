"""An asyncio event loop on a thread of its own, for synchronous callers to run coroutines on.

The platform's protocol is synchronous (Prefect maps predictions over a thread pool), while
the HTTP work is async: one loop then follows many predictions with one thread, and a cancel
can reach them from any thread. The loop starts on first use and can be started again after
`close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopRunner:
    """Owns one event loop and the daemon thread that runs it."""

    def __init__(self, name: str = "replicate-platform") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._loop is not None and not self._loop.is_closed()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._main, args=(loop,), name=self._name, daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop and wait for it; an interrupt here cancels it there. It
        runs in its caller's context, as a call made on the caller's own thread would: it
        knows whether its stage retries it (tasks.core.retry), and a request it starts
        (a download) is a task run of the caller's task in Prefect."""
        future = asyncio.run_coroutine_threadsafe(
            _as_caller(coro, contextvars.copy_context()), self._ensure()
        )
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def close(
        self, shutdown: Callable[[], Coroutine[Any, Any, None]] | None = None, timeout: float = 60
    ) -> None:
        """Run `shutdown()` on the loop (best effort, bounded), then stop the loop and thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return
        if shutdown is not None:
            with contextlib.suppress(Exception):  # closing must not mask the run's outcome
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)
        loop.close()


async def _as_caller(coro: Coroutine[Any, Any, T], context: contextvars.Context) -> T:
    """Await `coro` with the caller's context variables set in this task's own context
    (each asyncio task has a copy: nothing leaks to the loop or to other callers)."""
    for variable, value in context.items():
        variable.set(value)
    return await coro


async def cancel_other_tasks(timeout: float) -> None:
    """Cancel every task on the running loop but the caller's, and wait for them (bounded):
    each follower then cancels its run on Replicate, and nothing waits on a dead loop."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=timeout)
