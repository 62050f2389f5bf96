"""Who a process is, in a form that survives PID reuse and reboots, and whether it still runs.

Why: a lease (or any claim) recorded by a process must be reclaimable the moment that process
is gone. A PID alone is not enough: PIDs are reused, and after a reboot every recorded PID
means nothing. The boot id and the process's start time (in clock ticks since boot) make the
identity exact on Linux; elsewhere the PID is all there is.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    text = _read(Path(f"/proc/{pid}/stat"))
    if not text:
        return None
    try:
        return int(text.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def running(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _read(Path(f"/proc/{pid}/stat"))
    if stat is None:
        return True  # no /proc (macOS): the signal said it exists
    try:
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except IndexError:
        return True


@dataclass(frozen=True)
class ProcessId:
    """One process on one boot of one host."""

    host: str
    pid: int
    boot_id: str | None = None
    started: int | None = None  # clock ticks since boot

    @classmethod
    def current(cls) -> ProcessId:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _read(_BOOT_ID), start_ticks(pid))

    @classmethod
    def from_dict(cls, data: Any) -> ProcessId | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                host=str(data["host"]),
                pid=int(data["pid"]),
                boot_id=data.get("boot_id"),
                started=data.get("started"),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


def gone_reason(holder: ProcessId, here: ProcessId) -> str | None:
    """Why `holder` is certainly not running, seen from `here`; None when it may be.

    Only a holder on this host can be judged: another host's process is never presumed dead.
    """
    if holder.host != here.host:
        return None
    if holder.boot_id and here.boot_id and holder.boot_id != here.boot_id:
        return "the machine restarted since it started"
    if not running(holder.pid):
        return "its process is gone"
    if holder.started is not None:
        now = start_ticks(holder.pid)
        if now is not None and now != holder.started:
            return "its process is gone (its PID now belongs to another process)"
    return None
