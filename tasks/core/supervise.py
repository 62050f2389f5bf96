"""Child processes that die with the tool, even when the tool is killed with SIGKILL.

Every process the tool starts for a run (model servers, the schema probe, a temporary Prefect
server) is started through `spawn`: the command runs in a new process group under a small
watchdog that holds a pipe to the tool. When the tool goes away for any reason, the pipe
closes, and the watchdog terminates the whole group (SIGTERM, then SIGKILL after a grace
period). Signals meant for the tool (Ctrl-C in the terminal) do not reach the group, so the
tool decides when its children stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any

# Runs with the child's interpreter. Starts the command as its own child, ignores the
# terminal's signals, and when stdin reaches EOF (the tool closed it or died) takes the whole
# process group down. It exits with the command's exit code.
WATCHDOG = r"""
import os, signal, subprocess, sys, threading, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grace = float(sys.argv[1])
def restore():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, preexec_fn=restore)
orphaned = threading.Event()
def watch():
    try:
        sys.stdin.buffer.read()
    except Exception:
        pass
    orphaned.set()
    try:
        os.killpg(0, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(0, signal.SIGKILL)
threading.Thread(target=watch, daemon=True).start()
code = child.wait()
if orphaned.is_set():
    time.sleep(grace + 5)  # the watcher kills the group, this process included
sys.stdout.flush()
sys.stderr.flush()
# os._exit, not sys.exit: the watcher thread is blocked reading stdin, and interpreter
# shutdown would abort on it (SIGABRT) instead of passing on the command's exit code.
os._exit(code if code >= 0 else 128 - code)
"""

File = int | IO[Any] | None


def spawn(
    command: Sequence[str],
    *,
    python: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: File = None,
    stderr: File = None,
    grace: float = 10.0,
) -> subprocess.Popen[bytes]:
    """Start `command` under a watchdog in a process group of its own.

    `python` runs the watchdog (default: this interpreter); the command's stdin is empty.
    Stop it with `stop(process)`; if the tool dies first, the watchdog stops it.
    """
    return subprocess.Popen(
        [python or sys.executable, "-c", WATCHDOG, str(grace), *command],
        cwd=None if cwd is None else str(cwd),
        env=None if env is None else dict(env),
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[Any], grace: float = 5.0) -> int | None:
    """Terminate the process group of a `spawn`ed process: SIGTERM, then SIGKILL."""
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    group = process.pid  # a session leader's pid is its group id
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    return process.returncode


def run(
    command: Sequence[str],
    *,
    timeout: float,
    python: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run` for a short-lived command, supervised: output captured as text.

    Raises subprocess.TimeoutExpired after stopping the whole group.
    """
    process = spawn(
        command,
        python=python,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        grace=2.0,
    )
    try:
        # Keep stdin open while waiting: closing it is what tells the watchdog to stop.
        out, err = _communicate(process, timeout)
    except BaseException:
        stop(process, grace=2.0)
        raise
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    return subprocess.CompletedProcess(
        list(command),
        process.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def _communicate(process: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    """Read stdout and stderr to the end without touching stdin (communicate would close it)."""
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: IO[bytes] | None) -> None:
        chunks[name] = stream.read() if stream else b""

    readers = [
        threading.Thread(target=drain, args=("out", process.stdout), daemon=True),
        threading.Thread(target=drain, args=("err", process.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    process.wait(timeout=timeout)
    for reader in readers:
        reader.join(timeout=5)
    return chunks.get("out", b""), chunks.get("err", b"")
