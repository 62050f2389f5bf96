"""One prediction or training on Replicate: created once, followed to its end, canceled when
abandoned. Every run whose id is known stays in flight until it ends, so `stop()` reaches it.

- Create: the client's `predictions.async_create(wait=...)` (Prefer: wait, so a quick
  prediction costs one request) or `trainings.async_create`, with Cancel-After so Replicate
  stops the run at its deadline even if this process dies. Sent under the "create" policy of
  tasks.platforms.replicate.calls: a lost answer leads to the run being adopted
  (tasks.platforms.replicate.adoption), not to a second paid run.
- Follow: polls with a backing-off interval; past the timeout, or once stopping, the run is
  canceled on Replicate. A follower that is itself interrupted cancels its run on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import replicate

from tasks.core.errors import SafePushError
from tasks.platforms.replicate import calls
from tasks.platforms.replicate.adoption import Page, RunLedger, fingerprint
from tasks.platforms.replicate.timing import POLL_START, cancel_after, next_poll, prefer_wait

RunKind = Literal["predictions", "trainings"]
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
ABANDON_WAIT = 60.0  # seconds an interrupted create may take to answer, so we can cancel it


@dataclass(frozen=True)
class RunRequest:
    """One create: inputs already encoded as JSON (files as data: URIs)."""

    kind: RunKind
    ref: str
    version: str
    inputs: dict[str, Any]
    timeout: float
    model_scoped: bool = False  # official models: POST /v1/models/{owner}/{name}/predictions
    destination: str | None = None  # trainings only


class Runs:
    """Creates, follows and cancels runs; knows which are in flight."""

    def __init__(self, client: Callable[[], replicate.Client]) -> None:
        self._client = client
        self.ledger = RunLedger()
        self._lock = threading.Lock()
        self._inflight: dict[str, RunKind] = {}
        self._stopping = False

    # ---- in-flight bookkeeping (any thread) --------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    def inflight(self) -> list[str]:
        with self._lock:
            return list(self._inflight)

    def stop(self) -> list[tuple[str, RunKind]]:
        """From now on start nothing and cancel whatever is followed; the runs to cancel now."""
        with self._lock:
            self._stopping = True
            return [(run_id, kind) for run_id, kind in self._inflight.items()]

    def _track(self, run_id: str, kind: RunKind) -> None:
        with self._lock:
            self._inflight[run_id] = kind

    def _untrack(self, run_id: str) -> None:
        with self._lock:
            self._inflight.pop(run_id, None)

    # ---- API calls ---------------------------------------------------------------------

    async def get(self, kind: RunKind, run_id: str) -> dict[str, Any]:
        client = self._client()
        namespace = client.trainings if kind == "trainings" else client.predictions
        run = await calls.call(lambda: namespace.async_get(run_id), f"GET /v1/{kind}/{run_id}")
        return run.dict()

    async def cancel_remote(self, kind: RunKind, run_id: str) -> dict[str, Any] | None:
        """Cancel a run on Replicate; best effort (it may have ended meanwhile)."""
        client = self._client()
        namespace = client.trainings if kind == "trainings" else client.predictions
        try:
            run = await calls.call(
                lambda: namespace.async_cancel(run_id), f"POST /v1/{kind}/{run_id}/cancel"
            )
        except SafePushError:
            return None
        return run.dict()

    async def _list(self, kind: RunKind, cursor: Any) -> Page:
        client = self._client()
        namespace = client.trainings if kind == "trainings" else client.predictions
        page = await calls.call(lambda: namespace.async_list(cursor), f"GET /v1/{kind}")
        return [item.dict() for item in page.results], page.next

    async def _send(self, request: RunRequest) -> Any:
        client = self._client()
        if request.kind == "trainings":
            return await client.trainings.async_create(
                model=request.ref,
                version=request.version,
                input=request.inputs,
                destination=request.destination,
            )
        wait = prefer_wait(request.timeout)
        if request.model_scoped:
            return await client.models.predictions.async_create(
                model=request.ref, input=request.inputs, wait=wait
            )
        return await client.predictions.async_create(
            version=request.version, input=request.inputs, wait=wait
        )

    # ---- create ------------------------------------------------------------------------

    async def create(self, request: RunRequest) -> dict[str, Any]:
        """Start the run (or adopt the one a lost answer started); its JSON, in flight.

        If the caller is interrupted meanwhile, the request is allowed to answer and the run it
        started is canceled: an interrupted create must not leave a paid run behind.
        """
        key = fingerprint(request.kind, request.version, request.inputs, request.destination)
        sent_at = datetime.now(UTC)
        abandoned = False

        async def send() -> dict[str, Any]:
            async with self.ledger.sending(key):
                data = (await self._send(request)).dict()
                self.ledger.remember(str(data["id"]))
                self._track(str(data["id"]), request.kind)
            return data

        async def recover() -> dict[str, Any] | None:
            found = await self.ledger.adopt(
                key,
                lambda cursor: self._list(request.kind, cursor),
                version=request.version,
                inputs=request.inputs,
                sent_at=sent_at,
                destination=request.destination,
            )
            if found is not None:
                self._track(str(found["id"]), request.kind)
            return found

        creating = asyncio.ensure_future(
            calls.call(
                send,
                f"create {request.kind[:-1]} of {request.ref}",
                kind="create",
                cancel_after=cancel_after(request.timeout),
                recover=recover,
                stopping=lambda: self._stopping or abandoned,
            )
        )
        try:
            return await asyncio.shield(creating)
        except asyncio.CancelledError:
            abandoned = True
            with contextlib.suppress(Exception):
                data = await asyncio.wait_for(creating, ABANDON_WAIT)
                if data.get("status") not in TERMINAL:
                    await self.cancel_remote(request.kind, str(data["id"]))
                self._untrack(str(data["id"]))
            raise

    # ---- follow ------------------------------------------------------------------------

    async def follow(
        self, kind: RunKind, data: dict[str, Any], started: float, timeout: float
    ) -> tuple[dict[str, Any], bool]:
        """Poll the run to its end, canceling it past the deadline or when stopping;
        (its last JSON, whether the deadline canceled it)."""
        run_id = str(data["id"])
        self._track(run_id, kind)
        timed_out = False
        try:
            interval = POLL_START
            while data.get("status") not in TERMINAL:
                if self._stopping:
                    data = await self.cancel_remote(kind, run_id) or data
                    break
                remaining = started + timeout - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    data = await self.cancel_remote(kind, run_id) or data
                    break
                await asyncio.sleep(min(interval, remaining))
                interval = next_poll(interval)
                if time.monotonic() - started >= timeout:
                    continue  # the deadline passed while asleep: cancel rather than poll
                data = await self.get(kind, run_id)
        except BaseException:
            # Abandoned (interrupt, or polling failed for good): stop paying for it.
            await asyncio.shield(self.cancel_remote(kind, run_id))
            raise
        finally:
            self._untrack(run_id)
        return data, timed_out
