"""One run at a time per model: a one-slot Prefect global concurrency limit, held by a lease
while a run that may push checks its model and pushes it.

Why: two runs that both pass and both push can leave a breaking change in the model's history
(B was checked against the version before A pushed, and its push drops what A added). With
the lease, the second run waits and is then checked against what the first one pushed.

A lease dies with its holder. It is a Prefect lease of the shortest length Prefect allows,
renewed by a heartbeat while held, so the server's repossessor frees it once its holder stops
renewing. Beside it, a Prefect variable records the holder (host, boot, PID, start time, flow
run) and its last heartbeat: a run that finds the model held by a process of this host that is
gone, or by a holder whose heartbeat stopped (its server restarted and forgot the lease), takes
the lease over at once and says from whom.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from flows.lease_record import LEASE_SECONDS, LeaseRecord, orphan_reason, stale_reason
from tasks.core.home import atomic_write_json, tool_home
from tasks.core.platform_data import PlatformSpec
from tasks.core.processes import ProcessId, gone_reason
from tasks.core.refs import split_ref

TIMEOUT_ENV = "COG_SAFE_PUSH_LEASE_TIMEOUT"
DEFAULT_TIMEOUT = 3600.0
RENEW_EVERY = 15.0  # a quarter of the lease: three heartbeats may fail before it lapses
POLL_SECONDS = 1.0


class LeaseTimeout(Exception):
    """Another run held the model for longer than we were willing to wait."""


def lease_name(spec: PlatformSpec, model: str) -> str:
    owner, name = split_ref(model)
    return f"cog-safe-push:{spec.kind}:{owner}:{name}"


def record_name(name: str) -> str:
    """The Prefect variable that names the lease's holder (letters, digits, - and _ only)."""
    readable = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:180]
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:8]}-holder"


@dataclass
class Lease:
    """A held lease: what the run knows about it while it runs."""

    model: str
    lease_id: str
    waited: float
    took_over: str | None = None  # whom a stale lease was taken from, and why
    lost: threading.Event = field(default_factory=threading.Event)  # it lapsed while held


# ------------------------------------------------------------------ Prefect calls


def _client() -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _ensure_limit(client: Any, name: str) -> None:
    with contextlib.suppress(Exception):
        # Not atomic: two first runs may both create it; the loser's error is harmless.
        client.upsert_global_concurrency_limit_by_name(name, 1)


def _take(client: Any, name: str) -> str | None:
    """The lease id when the slot was free; None when another run holds it."""
    try:
        response = client.increment_concurrency_slots_with_lease(
            names=[name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS
        )
    except Exception as exc:
        if _status(exc) == 423:
            return None
        raise
    body = response.json()
    if not body.get("limits"):
        raise RuntimeError(f"the Prefect concurrency limit {name} does not exist")
    return str(body["lease_id"])


def _read_record(client: Any, variable: str) -> LeaseRecord | None:
    found = client.read_variable_by_name(variable)
    return LeaseRecord.from_value(found.value) if found is not None else None


def _write_record(client: Any, variable: str, record: LeaseRecord) -> None:
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate
    from prefect.exceptions import ObjectAlreadyExists

    value = record.to_value()
    try:
        client.create_variable(VariableCreate(name=variable, value=value, tags=["cog-safe-push"]))
    except ObjectAlreadyExists:
        client.update_variable(VariableUpdate(name=variable, value=value))


def _forget_record(client: Any, variable: str, lease_id: str) -> None:
    """Delete the holder record, unless it already names another lease."""
    with contextlib.suppress(Exception):
        record = _read_record(client, variable)
        if record is None or record.lease_id == lease_id:
            client.delete_variable_by_name(variable)


def _reclaim(client: Any, name: str, variable: str, record: LeaseRecord | None) -> bool:
    """Free the slot a dead holder left taken; False when the record changed meanwhile
    (someone else took the lease over first)."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    current = _read_record(client, variable)
    if (current.lease_id if current else None) != (record.lease_id if record else None):
        return False
    if record is not None:
        # Frees the slot if the server still knows the lease (204 either way).
        client.release_concurrency_slots_with_lease(lease_id=UUID(record.lease_id))
    limit = client.read_global_concurrency_limit_by_name(name)
    if limit.active_slots > 0:
        # The server forgot the lease (it restarted): only the slot count is left.
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))
    with contextlib.suppress(Exception):
        client.delete_variable_by_name(variable)
    return True


@contextlib.contextmanager
def _host_lock(name: str) -> Iterator[Path | None]:
    """Runs of this host take and reclaim one at a time, so that two of them never both
    judge the same dead holder and both free the slot (the second would free the first's).

    Yields the path of the lock's intent file: who is taking the lease right now. A run
    killed between taking the lease and writing its record leaves it behind, naming itself,
    so the next run knows whose the unexplained slot is (None: a read-only home)."""
    folder = tool_home() / "leases"
    key = hashlib.sha256(name.encode()).hexdigest()[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / f"{key}.lock").open("a")
    except OSError:
        yield None  # a read-only home: Prefect's own atomic take still holds
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield folder / f"{key}.taking"
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _intend(intent: Path | None, here: ProcessId) -> None:
    if intent is not None:
        with contextlib.suppress(OSError):
            atomic_write_json(intent, here.to_dict())


def _intended(intent: Path | None) -> ProcessId | None:
    if intent is None:
        return None
    try:
        return ProcessId.from_dict(json.loads(intent.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _done_intending(intent: Path | None) -> None:
    if intent is not None:
        with contextlib.suppress(OSError):
            intent.unlink()


def _flow_run() -> str | None:
    with contextlib.suppress(Exception):
        from prefect.runtime import flow_run

        return str(flow_run.id) if flow_run.id else None
    return None


# ------------------------------------------------------------------ the heartbeat


class _Heartbeat:
    """Renews the lease and the holder record's heartbeat until stopped; marks the lease lost
    when the server says it no longer exists (it lapsed: another run may hold the model)."""

    def __init__(self, name: str, variable: str, record: LeaseRecord, lease: Lease) -> None:
        self.name, self.variable, self.record, self.lease = name, variable, record, lease
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="model-lease", daemon=True)

    def _beat(self) -> None:
        with contextlib.suppress(Exception), _client() as client:
            while not self.stop.wait(RENEW_EVERY):
                try:
                    client.renew_concurrency_lease(
                        lease_id=UUID(self.record.lease_id), lease_duration=LEASE_SECONDS
                    )
                except Exception as exc:
                    if _status(exc) in (404, 410):
                        self.lease.lost.set()
                        return
                    continue  # the server is busy or gone: the run's watch decides
                with contextlib.suppress(Exception):
                    self.record = self.record.renewed(time.time())
                    _write_record(client, self.variable, self.record)


# ------------------------------------------------------------------ the lease


def _describe(record: LeaseRecord | None) -> str:
    return f" ({record.describe()})" if record is not None else ""


@contextlib.contextmanager
def model_lease(
    spec: PlatformSpec,
    model: str,
    on_wait: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> Iterator[Lease]:
    """Hold the model's lease for the block. `on_wait(message)` is called once when another
    run holds it, and once when a stale lease is taken over. Raises LeaseTimeout."""
    name = lease_name(spec, model)
    variable = record_name(name)
    limit = timeout if timeout is not None else float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    here = ProcessId.current()
    started = time.monotonic()
    said = False
    took_over: str | None = None
    orphan_since: float | None = None
    with _client() as client:
        _ensure_limit(client, name)
        while True:
            with _host_lock(name) as intent:
                taker = _intended(intent)  # left by a run that died while taking it
                _intend(intent, here)
                lease_id = _take(client, name)
                if lease_id is not None:
                    now = time.time()
                    record = LeaseRecord(lease_id, here, model, _flow_run(), now, now)
                    with contextlib.suppress(Exception):  # the record helps; the lease holds
                        _write_record(client, variable, record)
                    _done_intending(intent)
                    break
                _done_intending(intent)
                holder = _read_record(client, variable)
                if holder is None:
                    orphan_since = orphan_since or time.monotonic()
                    reason = orphan_reason(time.monotonic() - orphan_since)
                    died = gone_reason(taker, here) if taker and taker != here else None
                    if died is not None:  # it took the lease, then died before saying so
                        reason = f"{taker} took it and died before recording itself ({died})"
                else:
                    orphan_since = None
                    reason = stale_reason(holder, here, time.time())
                if reason is not None and _reclaim(client, name, variable, holder):
                    took_over = f"took over a stale lease of {model}{_describe(holder)}: {reason}"
                    if on_wait:
                        on_wait(took_over)
                    continue
            if not said and on_wait:
                on_wait(
                    f"another run of {model} holds its lease{_describe(holder)}; "
                    "waiting for it to finish"
                )
            said = True
            if time.monotonic() - started > limit:
                raise LeaseTimeout(
                    f"another run of {model}{_describe(holder)} held it for over "
                    f"{limit:.0f} s ({TIMEOUT_ENV})"
                )
            time.sleep(POLL_SECONDS)
        waited = time.monotonic() - started if said else 0.0
        lease = Lease(model, lease_id, waited, took_over)
        beat = _Heartbeat(name, variable, record, lease)
        beat.thread.start()
        try:
            yield lease
        finally:
            beat.stop.set()
            beat.thread.join(timeout=5)
            with contextlib.suppress(Exception):
                client.release_concurrency_slots_with_lease(lease_id=UUID(lease_id))
            _forget_record(client, variable, lease_id)
