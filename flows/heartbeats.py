"""Flow-run heartbeats that end with the run.

Prefect's heartbeat thread sleeps in whole seconds and Prefect joins it when a flow ends: up
to a second added to every command-line run. For a flow called in this process (the command
line) the flow's body sends the same heartbeat events from a thread of its own that stops at
once; subflows, which run inside the flow run, send none. A flow run started any other way
(a deployment's worker) keeps Prefect's own.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from prefect import __version__ as prefect_version
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.events.related import tags_as_related_resources
from prefect.events.schemas.events import RelatedResource
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    get_current_settings,
    temporary_settings,
)


@contextlib.contextmanager
def without_heartbeats() -> Iterator[None]:
    """Subflows run in this process, inside this flow run, whose own heartbeats already say
    that the run is alive. Their heartbeat thread would only add a wait of up to a second
    when each of them ends (Prefect joins it), on every run."""
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


# Seconds between the heartbeats that the flow's body sends itself (see prompt_heartbeats).
_OWN_HEARTBEATS: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "cog_safe_push_own_heartbeats", default=None
)


@contextlib.contextmanager
def prompt_heartbeats() -> Iterator[None]:
    """Around a call of the flow in this process (the command line's): the same heartbeats,
    sent by a thread of the flow's own that stops the moment the run ends.

    Prefect's heartbeat thread sleeps in whole seconds, and Prefect joins it when the flow
    ends: up to a second, half a second on average, added to every run. The heartbeat
    events are the same (`prefect.flow-run.heartbeat`, same resource, same interval), so
    whatever watches them for crashed runs sees no difference. A flow run started any other
    way (a deployment's worker) keeps Prefect's own."""
    every = get_current_settings().flows.heartbeat_frequency
    if every is None:
        yield
        return
    token = _OWN_HEARTBEATS.set(every)
    try:
        with without_heartbeats():
            yield
    finally:
        _OWN_HEARTBEATS.reset(token)


def _heartbeat_event(context: FlowRunContext) -> tuple[dict[str, str], list[RelatedResource]]:
    """The resource and related resources of Prefect's own flow-run heartbeat event."""
    run = context.flow_run
    assert run is not None
    resource = {
        "prefect.resource.id": f"prefect.flow-run.{run.id}",
        "prefect.resource.name": run.name or "",
        "prefect.version": prefect_version,
    }
    related: list[RelatedResource] = []
    if run.flow_id:
        related.append(
            RelatedResource.model_validate(
                {
                    "prefect.resource.id": f"prefect.flow.{run.flow_id}",
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": context.flow.name if context.flow else "",
                }
            )
        )
    if run.deployment_id:
        related.append(
            RelatedResource.model_validate(
                {
                    "prefect.resource.id": f"prefect.deployment.{run.deployment_id}",
                    "prefect.resource.role": "deployment",
                }
            )
        )
    return resource, related + tags_as_related_resources(set(run.tags or []))


@contextlib.contextmanager
def own_heartbeats() -> Iterator[None]:
    """Inside the flow: its heartbeats, when prompt_heartbeats turned Prefect's off."""
    every = _OWN_HEARTBEATS.get()
    context = FlowRunContext.get()
    if every is None or context is None or context.flow_run is None:
        yield
        return
    resource, related = _heartbeat_event(context)
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a missed heartbeat is not the run's failure
                emit_event(event="prefect.flow-run.heartbeat", resource=resource, related=related)
            stop.wait(every)

    # The context carries the run's settings (its API URL) into the thread, as Prefect's does.
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(beat,), name="flow-run-heartbeat", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)
