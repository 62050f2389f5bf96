"""Nothing a model starts outlives the run, not even a daemon that left the process group.

A daemon (fork, setsid, fork again) escapes the process group that `supervise` kills; on Linux
the watchdog is a child subreaper, so the daemon becomes its child and is ended and reaped
with the command: when the command is stopped, when it exits on its own, and when the tool is
killed with SIGKILL. First with plain shell commands, then with a real Cog model whose
setup() starts a daemon, on the local platform and through the CLI.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.core import supervise
from tasks.platforms.local.cog_server import CogServer
from tests.helpers import ROOT, run, wait_for

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="daemons are caught with a Linux subreaper"
)

# --- seeing a process -----------------------------------------------------------------------


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def children(parent: int) -> list[int]:
    """The PIDs whose parent is `parent`."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (stat_fields(int(entry.name)) or ["", ""])[1] == str(parent)
    ]


class Daemon:
    """A process known by PID and start time, so that a reused PID does not count as it."""

    def __init__(self, pid: int) -> None:
        fields = stat_fields(pid)
        assert fields is not None and fields[0] != "Z", f"daemon {pid} is not running"
        self.pid = pid
        self.started = fields[19]

    def exists(self) -> bool:
        """Still there: running, or a zombie nobody reaped."""
        fields = stat_fields(self.pid)
        return fields is not None and fields[19] == self.started

    def state(self) -> str:
        fields = stat_fields(self.pid)
        return "gone" if fields is None or fields[19] != self.started else fields[0]

    def kill(self) -> None:
        if self.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def assert_gone(daemons: list[Daemon], seconds: float = 30.0) -> None:
    """Every daemon ends and is reaped (no zombie left) within `seconds`."""
    assert daemons
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not any(d.exists() for d in daemons), seconds, "the daemons", 0.1)
    left = {d.pid: d.state() for d in daemons if d.exists()}
    assert left == {}, f"daemons still there (state by pid): {left}"


class Daemons:
    """The daemons that write their PIDs to `path`, recorded (PID and start time) by a
    thread as they appear, so that one can be checked after the run that ends it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[int, Daemon] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            self.refresh()

    def refresh(self) -> list[Daemon]:
        try:
            lines = self.path.read_text().splitlines(keepends=True)
        except OSError:
            lines = []
        for line in lines:
            pid = int(line) if line.endswith("\n") else 0
            if pid and pid not in self.seen:
                with contextlib.suppress(AssertionError):
                    self.seen[pid] = Daemon(pid)
        return list(self.seen.values())

    def wait(self, seconds: float = 180.0) -> list[Daemon]:
        """The daemons recorded so far, once there is at least one."""
        return wait_for(self.refresh, seconds, f"a daemon PID in {self.path}", 0.05)

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        for daemon in self.seen.values():
            daemon.kill()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Daemons]:
    """Where daemons write their PIDs; any still running at the end are killed."""
    recorder = Daemons(tmp_path / "daemon.pids")
    yield recorder
    recorder.close()


# --- plain commands -------------------------------------------------------------------------


def daemonizing(pid_file: Path, then: str, *, ignore_term: bool = False) -> list[str]:
    """A shell command that starts a daemon in a session of its own and then runs `then`.

    The subshell exits at once, so the daemon is an orphan outside the process group."""
    trap = "trap '' TERM; " if ignore_term else ""
    daemon = f"{trap}echo $$ >> {pid_file}; while :; do sleep 1; done"
    return [
        "sh",
        "-c",
        f"(setsid sh -c '{daemon}' </dev/null >/dev/null 2>&1 &); {then}",
    ]


def test_stop_ends_a_daemon_outside_the_group(daemons: Daemons) -> None:
    # The daemon ignores SIGTERM: it takes the SIGKILL after the grace.
    process = supervise.spawn(
        daemonizing(daemons.path, "exec sleep 600", ignore_term=True),
        stdout=subprocess.DEVNULL,
        grace=1.0,
    )
    try:
        started = daemons.wait(30)
    finally:
        code = supervise.stop(process, grace=5.0)
    assert code == 128 + signal.SIGTERM  # how the command ended passes through
    assert_gone(started, 5)


def test_a_command_that_exits_takes_its_daemon_along(daemons: Daemons) -> None:
    process = supervise.spawn(daemonizing(daemons.path, "sleep 2; exit 7"), grace=1.0)
    try:
        started = daemons.wait(30)
        assert process.wait(30) == 7  # the watchdog ended only once the daemon was reaped
        assert not any(d.exists() for d in started), [d.state() for d in started]
    finally:
        supervise.stop(process)


TOOL = """
import signal, subprocess, sys, time
sys.path.insert(0, {root!r})
from tasks.core import supervise
signal.signal(signal.SIGINT, lambda *_: print("tool: Ctrl-C", flush=True))
process = supervise.spawn({command!r}, stdout=subprocess.DEVNULL, grace=1.0)
print(process.pid, flush=True)
time.sleep(600)
"""


def test_a_killed_tool_still_ends_the_daemon(daemons: Daemons) -> None:
    command = daemonizing(daemons.path, "exec sleep 600", ignore_term=True)
    tool = subprocess.Popen(
        [sys.executable, "-c", TOOL.format(root=str(ROOT), command=command)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own, as a terminal's foreground job
    )
    try:
        assert tool.stdout is not None
        watchdog = Daemon(int(tool.stdout.readline()))
        started = daemons.wait(30)
        os.killpg(tool.pid, signal.SIGINT)  # Ctrl-C reaches the tool, not its children
        assert tool.stdout.readline() == "tool: Ctrl-C\n"
        assert watchdog.state() in "RS" and all(d.state() in "RS" for d in started)
        tool.kill()
        tool.wait(10)
        assert_gone(started, 15)
        wait_for(lambda: watchdog.state() in ("gone", "Z"), 15, "the watchdog to end")
    finally:
        tool.kill()
        tool.wait()


# --- a real Cog model -----------------------------------------------------------------------

DAEMON_MODEL = '''
import os
import time

from cog import BasePredictor, Input

PIDS = {pids!r}


class Predictor(BasePredictor):
    def setup(self) -> None:
        """Start a daemon the classic way: fork, setsid, fork again; the middle one exits."""
        middle = os.fork()
        if middle == 0:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.closerange(3, 1024)
                line = f"{{os.getpid()}}\\n".encode()
                fd = os.open(PIDS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                os.write(fd, line)
                os.close(fd)
                while True:
                    time.sleep(3600)
            os._exit(0)
        os.waitpid(middle, 0)

    def predict(self, text: str = Input(description="Text to echo", default="hi")) -> str:
        return text
'''


def daemon_model(where: Path, pid_file: Path) -> Path:
    """A Cog model directory whose setup() starts a daemon that writes its PID to `pid_file`."""
    folder = where / "daemon-model"
    folder.mkdir()
    (folder / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(DAEMON_MODEL.format(pids=str(pid_file)))
    (folder / "cog-safe-push.yaml").write_text(
        "model: acme/daemon\npredict:\n  test_cases:\n    - inputs: {text: hi}\n"
        "  fuzz:\n    iterations: 0\n"
    )
    return folder


def server(where: Path, pid_file: Path) -> CogServer:
    """The local platform's model server for that model (not started yet)."""
    return CogServer(
        daemon_model(where, pid_file),
        "predict.py:Predictor",
        python=sys.executable,
        log_path=where / "server.log",
    )


def test_a_stopped_model_server_leaves_no_daemon(tmp_path: Path, daemons: Daemons) -> None:
    cog = server(tmp_path, daemons.path)
    try:
        assert cog.run("one", {"text": "hi"}, 60)["status"] == "succeeded", cog.log_tail()
        started = daemons.wait(30)
        cog.stop_process()  # as after a timeout the model ignored: the next run restarts it
        assert_gone(started)
    finally:
        cog.close()


def test_a_model_server_that_exits_leaves_no_daemon(tmp_path: Path, daemons: Daemons) -> None:
    cog = server(tmp_path, daemons.path)
    try:
        cog.ensure_started()
        assert cog.setup_error is None, cog.setup_error
        started = daemons.wait(30)
        coglet = [
            pid
            for pid in children(cog.pid or 0)
            if b"cog.server.http" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(coglet) == 1, coglet
        os.kill(coglet[0], signal.SIGKILL)  # the server dies on its own
        wait_for(lambda: not cog.alive, 30, "the watchdog to end with its command")
        assert_gone(started, 5)
    finally:
        cog.close()


@pytest.mark.usefixtures("registry")
def test_a_run_that_ends_leaves_no_daemon(tmp_path: Path, daemons: Daemons) -> None:
    code, report = run(daemon_model(tmp_path, daemons.path), "--no-push")
    assert code == 0, report
    started = daemons.refresh()
    assert started, "the model's setup() started no daemon"
    assert_gone(started)


def test_a_tool_killed_mid_run_leaves_no_daemon(tmp_path: Path, daemons: Daemons) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "COG_SAFE_PUSH_HOME": str(tmp_path / "registry"),
        "PYTHONPATH": str(ROOT),
    }
    (tmp_path / "home").mkdir()
    tool = subprocess.Popen(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", "--no-push"],
        cwd=daemon_model(tmp_path, daemons.path),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = daemons.wait(300)
    finally:
        tool.kill()
        tool.wait()
    assert_gone(started)
