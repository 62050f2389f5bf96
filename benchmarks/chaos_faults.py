"""The faults benchmarks/chaos_soak.py injects, and how it finds the processes a run left.

Kept apart from the soak's loop so that each fault reads as what it does to the machine:
a SIGKILL to the managed Prefect server's process group, a small tmpfs filled to the last
byte, transient API faults on the fake Replicate server. Every process a soak run starts
carries MARK=<soak id>-<run number> in its environment (the tool passes COG_* variables to
everything it starts), which is how leftovers are found and, at the end, ended by PID.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from pathlib import Path

from flows import prefect_server

MARK = "COG_SAFE_PUSH_TEST_MARK"  # as tests/e2e/new_user.py: passes the tool's env allowlists
FILL_NAME = "chaos-fill"
# FakeReplicate.faults picks a kind uniformly: 5 x 500 and 3 x drop of a 40% rate are
# 25% HTTP 500s and 15% dropped connections.
API_FAULT_RATE = 0.40
API_FAULT_KINDS = ("500",) * 5 + ("drop",) * 3


# ---------------------------------------------------------------- processes


def marked_processes(prefix: str) -> dict[int, str]:
    """Live processes (zombies excluded) whose MARK value starts with `prefix`: pid -> value."""
    found: dict[int, str] = {}
    wanted = f"{MARK}={prefix}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z":
            continue
        for item in environ:
            if item.startswith(wanted):
                found[int(entry.name)] = item.split(b"=", 1)[1].decode(errors="replace")
                break
    return found


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:160]


def process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def kill_pids(pids: list[int]) -> None:
    """SIGKILL each of these processes (ours: they carry the soak's MARK)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- the managed Prefect server


def server_pid(tool_home: Path) -> int | None:
    """The managed server's PID (its process group) recorded in <tool home>/prefect-server."""
    state = prefect_server.read_state(tool_home / "prefect-server")
    if state is None or not prefect_server.pid_alive(state.pid):
        return None
    return state.pid


def kill_server(tool_home: Path) -> int | None:
    """SIGKILL the managed server's whole process group; its PID, or None when none runs."""
    pid = server_pid(tool_home)
    if pid is None:
        return None
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    return pid


def stop_server(python: str, env: dict[str, str]) -> str:
    """`cog-safe-push server stop` with a track's environment: the tool's own way out."""
    try:
        done = subprocess.run(
            [python, "-m", "flows.safe_push", "server", "stop"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        return "server stop timed out"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[-1] if lines else f"server stop exited {done.returncode}"


# ---------------------------------------------------------------- a full disk


def mount_tmpfs(where: Path, size: str = "64m") -> str | None:
    """Mount a tmpfs of `size` at `where`; None when mounted, else why it could not be."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return "not running as root"
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"mount failed: {exc}"
    if done.returncode != 0:
        return f"mount failed: {(done.stderr or done.stdout).strip()}"
    return None


def unmount(where: Path) -> None:
    """Unmount a tmpfs of ours; lazily when something still holds a file on it."""
    done = subprocess.run(["umount", str(where)], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, text=True, timeout=30)


def fill(where: Path) -> int:
    """Write zeros into `where`/chaos-fill until the file system is full; bytes written."""
    chunk = b"\0" * (1 << 20)
    written = 0
    try:
        with (where / FILL_NAME).open("wb", buffering=0) as handle:
            while True:
                try:
                    written += handle.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        break
                    chunk = chunk[: len(chunk) // 16 or 1]  # the last few KiB too
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    return written


def unfill(where: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (where / FILL_NAME).unlink()
