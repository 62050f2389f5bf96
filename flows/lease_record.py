"""Who holds a model's lease, and when a holder counts as gone: plain data and rules, no I/O.

The record lives in a Prefect variable beside the lease (flows/lease.py), so that a run on any
machine that shares the Prefect server can say who holds the model, and a run on the holder's
own machine can tell at once that the holder is gone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from tasks.core.processes import ProcessId, gone_reason

LEASE_SECONDS = 60.0  # the shortest lease Prefect grants; renewed every quarter of it
# Prefect's repossessor frees a lapsed lease within its loop (15 s by default); a holder that
# has been silent for longer than both has certainly lost it.
SILENCE_SECONDS = LEASE_SECONDS + 15.0


@dataclass(frozen=True)
class LeaseRecord:
    lease_id: str
    holder: ProcessId
    model: str
    flow_run: str | None
    taken_at: float  # epoch seconds
    renewed_at: float

    def renewed(self, now: float) -> LeaseRecord:
        return replace(self, renewed_at=now)

    def to_value(self) -> dict[str, Any]:
        """The variable's value (JSON; Prefect caps it at 5,000 characters)."""
        return {
            "lease_id": self.lease_id,
            "holder": self.holder.to_dict(),
            "model": self.model,
            "flow_run": self.flow_run,
            "taken_at": self.taken_at,
            "renewed_at": self.renewed_at,
        }

    @classmethod
    def from_value(cls, value: Any) -> LeaseRecord | None:
        """None for anything that is not a record of ours (edited by hand, older format)."""
        if not isinstance(value, dict):
            return None
        holder = ProcessId.from_dict(value.get("holder"))
        try:
            return (
                cls(
                    lease_id=str(value["lease_id"]),
                    holder=holder,  # type: ignore[arg-type]
                    model=str(value.get("model") or ""),
                    flow_run=value.get("flow_run"),
                    taken_at=float(value["taken_at"]),
                    renewed_at=float(value["renewed_at"]),
                )
                if holder is not None
                else None
            )
        except (KeyError, TypeError, ValueError):
            return None

    def describe(self) -> str:
        since = time.strftime("%H:%M:%S", time.localtime(self.taken_at))
        run = f", flow run {self.flow_run}" if self.flow_run else ""
        return f"{self.holder}, since {since}{run}"


def stale_reason(record: LeaseRecord, here: ProcessId, now: float) -> str | None:
    """Why the recorded holder has certainly lost the lease; None while it may hold it."""
    gone = gone_reason(record.holder, here)
    if gone is not None:
        return gone
    silent = now - record.renewed_at
    if silent > SILENCE_SECONDS:
        return f"no heartbeat for {silent:.0f} s"
    return None


def orphan_reason(seconds_seen: float) -> str | None:
    """A taken slot that no record explains (its server restarted and forgot the lease, or
    the holder could not write its record): free once no lease could still be live."""
    if seconds_seen > SILENCE_SECONDS:
        return f"the slot was taken for {seconds_seen:.0f} s with no holder recorded"
    return None
