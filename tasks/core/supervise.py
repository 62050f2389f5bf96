"""Child processes that die with the tool, even when the tool is killed with SIGKILL.

Every process the tool starts for a run (model servers, the schema probe, a temporary Prefect
server) is started through `spawn`: the command runs in a new process group under a small
watchdog that holds a pipe to the tool. When the tool goes away for any reason, the pipe
closes, and the watchdog terminates the command (SIGTERM, then SIGKILL after a grace
period). Signals meant for the tool (Ctrl-C in the terminal) do not reach the group, so the
tool decides when its children stop.

A model may start a daemon (double fork + setsid) that leaves the process group. On Linux the
watchdog is therefore a child subreaper: such orphans become its children instead of init's,
and whenever it ends the command (the tool went away, `stop`, or the command exited on its
own) it ends every descendant it has, found through /proc, and reaps them. Elsewhere it falls
back to ending the process group only.
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

# Runs with the child's interpreter, so it is plain standard-library Python (3.8+). It
# starts the command as its only child (stdin empty, terminal signals back to default) and
# ignores those signals itself. It ends the command when stdin reaches EOF (the tool closed
# it or died); as a subreaper also when the command exits, to take its leftovers along.
# SIGUSR1 (from `stop`, out of patience) cuts the grace short. It exits with the command's
# exit code (128 + N for signal N).
WATCHDOG = r"""
import os, signal, sys, threading, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grace = float(sys.argv[1])
me = os.getpid()
ending = threading.Event()
exited = threading.Event()
hurried = []
signal.signal(signal.SIGUSR1, lambda *_: hurried.append(1))

def become_subreaper():
    # Orphans of the command's tree (double-forked daemons) become our children, not init's.
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self/task"):
        return False
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False

def descendants():
    # Every live process below us, from the parent pid in /proc/<pid>/stat; zombies excluded.
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [me]
    while todo:
        for pid in children.get(todo.pop(), ()):
            found.append(pid)
            todo.append(pid)
    return found

def signal_all(sig):
    pids = descendants()
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    return pids

def patience(still_running):
    deadline = time.monotonic() + grace
    while still_running() and time.monotonic() < deadline and not hurried:
        time.sleep(0.05)

def end():
    ending.wait()
    if reaper:
        try:
            os.killpg(0, signal.SIGTERM)
        except OSError:
            pass
        signal_all(signal.SIGTERM)
        patience(descendants)
        deadline = time.monotonic() + grace + 5
        while signal_all(signal.SIGKILL) and time.monotonic() < deadline:
            time.sleep(0.01)
    else:
        try:
            os.killpg(0, signal.SIGTERM)
            patience(lambda: not exited.is_set())
        finally:
            os.killpg(0, signal.SIGKILL)  # this process included

def watch():
    try:
        sys.stdin.buffer.read()
    except Exception:
        pass
    ending.set()

reaper = become_subreaper()
child = os.posix_spawnp(
    sys.argv[2],
    sys.argv[2:],
    os.environ,
    file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)],
    setsigdef=(signal.SIGINT, signal.SIGTERM, signal.SIGUSR1),
)
# SIGUSR1 must reach the main thread (blocked in waitpid): the helper threads never take it.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
threading.Thread(target=watch, daemon=True).start()
threading.Thread(target=end, daemon=True).start()
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
code = 1
while True:
    try:
        pid, status = os.waitpid(-1, 0)  # the command, and as a subreaper its orphans
    except ChildProcessError:
        break  # no child left: as a subreaper, no descendant either
    if pid != child:
        continue
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    exited.set()
    if reaper:
        ending.set()
    elif ending.is_set():
        time.sleep(grace + 5)  # the ender kills the group, this process included
    else:
        break
sys.stdout.flush()
sys.stderr.flush()
# os._exit, not sys.exit: the watcher thread is blocked reading stdin, and interpreter
# shutdown would abort on it (SIGABRT) instead of passing on the command's exit code.
os._exit(code)
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
    Stop it with `stop(process)`; if the tool dies first, the watchdog stops it. On Linux
    whatever the command started goes with it, daemons included, also when it exits first.
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
    """Terminate a `spawn`ed process and everything it started: SIGTERM, then SIGKILL.

    Closing stdin tells the watchdog to end the command and its descendants; after `grace`
    SIGUSR1 tells it to SIGKILL them at once. The watchdog is killed last, so that it is
    still there to end and reap the daemons that left the process group.
    """
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    group = process.pid  # a session leader's pid is its group id
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            process.send_signal(signal.SIGUSR1)
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
