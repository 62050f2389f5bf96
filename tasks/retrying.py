"""Prefect task retries for the stages that are safe to repeat (the policy: tasks.core.retry).

`retrying_task` makes such a stage a Prefect task with `retries`, exponential
`retry_delay_seconds` with jitter, and a `retry_condition_fn` that retries transient failures
only (`is_transient`), and never once the run is stopping. Its calls then make one attempt
each (`stage_retries`), so the stage's retry is the only layer, and the Prefect UI shows each
retry (AwaitingRetry, Retrying, then the outcome) with the task run's attempt count.

A repeatable request made from pure logic (an AI request, a file download) runs as a task of
its own, `request`, through the hook tasks.core.retry.retried: pure code stays free of
Prefect, and a failed request repeats alone, not the stage around it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.context import FlowRunContext, TaskRunContext
from prefect.runtime import task_run as this_task_run
from prefect.states import State

from tasks.core.retry import (
    STAGE_RETRIES,
    is_transient,
    retry_after,
    retry_delays,
    stage_retries,
    use_request_runner,
)
from tasks.core.run_scope import current
from tasks.core.secrets import scrub

T = TypeVar("T")


def _failure(state: State) -> BaseException | None:
    data = state.data
    if isinstance(data, BaseException):
        return data
    value = state.result(raise_on_failure=False)
    return value if isinstance(value, BaseException) else None


def transient_failure(task_: Task, task_run: TaskRun, state: State) -> bool:
    """Prefect's retry condition: a transient failure, while the run is not stopping."""
    exc = _failure(state)
    if exc is None or not is_transient(exc) or current().stopped():
        return False
    reason = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    current().note_retry(task_run.name, reason[:200])
    return True


def _wait_asked(exc: BaseException) -> None:
    """Honour a server's Retry-After before the next attempt: Prefect's delay list cannot know
    it, and its jitter may shorten a delay, so the failed attempt waits the whole of it (the
    jittered delay then follows)."""
    asked = retry_after(exc)
    attempt = int(this_task_run.run_count or 1)  # 1-based
    if asked is None or attempt > STAGE_RETRIES or not is_transient(exc):
        return
    time.sleep(asked)


def retrying_task(**options: Any) -> Callable[[Callable[..., T]], Task[..., T]]:
    """`@task(**options)` for a stage that is safe to repeat, with the retries above."""

    def decorate(fn: Callable[..., T]) -> Task[..., T]:
        @functools.wraps(fn)
        def attempt(*args: Any, **kwargs: Any) -> T:
            with stage_retries():
                try:
                    return fn(*args, **kwargs)
                except Exception as exc:
                    _wait_asked(exc)
                    raise

        settings: dict[str, Any] = {
            "retries": STAGE_RETRIES,
            "retry_delay_seconds": retry_delays(),
            "retry_jitter_factor": 0.5,
            "retry_condition_fn": transient_failure,
        }
        return task(**{**settings, **options})(attempt)

    return decorate


@retrying_task(name="request", task_run_name="{what}", cache_policy=NO_CACHE, persist_result=False)
def repeatable_request(what: str, call: Callable[[], Any]) -> Any:
    """One repeatable request (`what` names it in the UI); its failures are the call's."""
    return call()


def _run_request(what: str, call: Callable[[], T]) -> T:
    """In a flow or task run: the request as a retried task run of its own. Outside any run
    (pure code used on its own, a benchmark) there is no Prefect run to record it: one
    attempt, as without the hook."""
    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return call()
    return repeatable_request(what, call)


use_request_runner(_run_request)
