"""The local Prefect server that the CLI manages when no Prefect API is configured.

Why: a temporary Prefect server costs every run 15-30 s of start-up and forgets the run when
it ends. One server started in the background on first use, and reused by every later run,
makes a run start in seconds and keeps its history, logs and artifacts for the UI.

State lives under the tool's home (`<home>/prefect-server/`): `server.json` (URL, PID, Prefect
version), `server.log`, and `prefect-home/`, the server's own PREFECT_HOME with its SQLite
database. A file lock makes concurrent runs share one server. A server from another Prefect
version, or one whose process died, is replaced. Nothing here imports Prefect: `server status`
and `server stop` answer at once.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from tasks.core import supervise
from tasks.core.environment import allowlisted
from tasks.core.home import tool_home
from tasks.core.processes import running

PREFERRED_PORT = 4280
PORT_ENV = "COG_SAFE_PUSH_SERVER_PORT"
TIMEOUT_ENV = "COG_SAFE_PUSH_SERVER_TIMEOUT"
DEFAULT_TIMEOUT = 240.0
HOST = "127.0.0.1"


class ServerUnavailable(Exception):
    """No Prefect server can be had; the message names the cause and the fix in one line."""


@dataclass
class ServerState:
    url: str  # the API URL, http://127.0.0.1:PORT/api
    pid: int
    port: int
    prefect_version: str
    started_at: float
    data_dir: str  # the server's PREFECT_HOME: its database
    log: str

    @property
    def ui_url(self) -> str:
        return self.url.removesuffix("/api")


def prefect_version() -> str:
    """The installed Prefect's version, without importing Prefect."""
    return metadata.version("prefect")


def server_dir(home: Path | None = None) -> Path:
    return (home or tool_home()) / "prefect-server"


def _state_path(folder: Path) -> Path:
    return folder / "server.json"


def read_state(folder: Path) -> ServerState | None:
    try:
        data = json.loads(_state_path(folder).read_text(encoding="utf-8"))
        return ServerState(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_state(folder: Path, state: ServerState) -> None:
    path = _state_path(folder)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _clear_state(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        _state_path(folder).unlink()


def _get(url: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            if response.status != 200:
                return None
            return response.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError, ValueError):
        return None


def served_version(api_url: str, timeout: float = 3.0) -> str | None:
    """The Prefect version a healthy server at `api_url` runs, or None if it is not healthy."""
    if _get(f"{api_url}/health", timeout) is None:
        return None
    body = _get(f"{api_url}/admin/version", timeout)
    if body is None:
        return None
    try:
        version = json.loads(body)
    except ValueError:
        return None
    return version if isinstance(version, str) else None


pid_alive = running  # a zombie (exited, not yet reaped) counts as gone


def _is_prefect_server(pid: int) -> bool:
    """A PID may be reused: only signal a process whose command line is a Prefect server."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_alive(pid)  # no /proc (macOS): trust the recorded PID
    words = [part.decode("utf-8", "replace") for part in cmdline]
    return "prefect" in words and "server" in words


def _kill_group(pid: int, grace: float = 15.0) -> None:
    if not pid_alive(pid) or not _is_prefect_server(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
        time.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def choose_port(attempt: int) -> int:
    """COG_SAFE_PUSH_SERVER_PORT (or 4280) when free on the first attempt, else any free port."""
    preferred = int(os.environ.get(PORT_ENV) or PREFERRED_PORT)
    if attempt == 0 and _port_free(preferred):
        return preferred
    return _free_port()


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """What the server process sees: no credentials of ours, its own home, the right UI API URL.

    The UI is a static app that finds the API through PREFECT_UI_API_URL; set only `--port` and
    it would look on :4200 and show a blank page.
    """
    env = allowlisted(prefixes=("PREFECT_SERVER_", "PREFECT_LOGGING_"), user=False)
    env.update(
        {
            "PREFECT_HOME": str(data_dir),
            "PREFECT_UI_API_URL": f"http://{HOST}:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def server_command(port: int, *, ui: bool = True) -> list[str]:
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", HOST]
    command += ["--port", str(port)]
    if not ui:
        command.append("--no-ui")
    return command


def _listening_inodes(port: int) -> set[str] | None:
    """Inodes of the sockets listening on `port` (IPv4 and IPv6); None without /proc."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            if table.endswith("tcp"):
                return None
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and fields[1].endswith(f":{port:04X}"):
                found.add(fields[9])
    return found


def listens_for(group: int, port: int) -> bool:
    """Whether a process of the process group `group` holds the socket listening on `port`.

    Why: two first runs in different homes may both try the preferred port; the one whose
    server lost the race would otherwise take the winner's answer for its own, and record a
    server that has exited. True where /proc cannot tell."""
    inodes = _listening_inodes(port)
    if inodes is None:
        return True
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != group:
                continue
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            return True
    return False


def wait_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float,
    on_tick: Callable[[float], None] | None = None,
    port: int | None = None,
) -> str:
    """Wait until the server at `url` answers; its Prefect version. Raises ServerUnavailable
    when the process exits (the message says "exited") or the time is up. With `port`, only
    an answer from `process`'s own group counts (it started a session of its own)."""
    started = time.monotonic()
    while True:
        version = served_version(url, timeout=2.0)
        if version is not None and (port is None or listens_for(process.pid, port)):
            return version
        if process.poll() is not None:
            raise ServerUnavailable(f"the Prefect server exited with code {process.returncode}")
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise ServerUnavailable(f"the Prefect server did not answer within {timeout:.0f} s")
        if on_tick is not None:
            on_tick(elapsed)
        time.sleep(0.25)


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail)


def _lost_the_port(log: Path, since: int) -> bool:
    """Whether the attempt logged from `since` on failed because its port was taken (its
    last lines are the shutdown's, so the whole attempt is read)."""
    try:
        with log.open("rb") as handle:
            handle.seek(since)
            text = handle.read(1 << 20).decode("utf-8", "replace").lower()
    except OSError:
        return False
    return "address already in use" in text or "errno 98" in text


@contextlib.contextmanager
def _locked(folder: Path, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait("another run is starting the local Prefect server; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start(
    folder: Path,
    *,
    timeout: float,
    on_tick: Callable[[float], None] | None = None,
) -> ServerState:
    """Start a detached server (it outlives this process by design) and wait until it answers."""
    data_dir = folder / "prefect-home"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = folder / "server.log"
    last = ""
    for attempt in range(3):  # the chosen port can be taken before the server binds it
        port = choose_port(attempt)
        url = f"http://{HOST}:{port}/api"
        with log_path.open("ab") as log:
            log.write(f"\n--- starting on port {port} at {time.ctime()}\n".encode())
            log.flush()
            since = log.tell()
            process = subprocess.Popen(
                server_command(port),
                env=server_env(data_dir, port),
                cwd=str(folder),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        state = ServerState(
            url=url,
            pid=process.pid,
            port=port,
            prefect_version=prefect_version(),
            started_at=time.time(),
            data_dir=str(data_dir),
            log=str(log_path),
        )
        # Recorded at once: a tool killed while the server starts leaves a server that the
        # next run reuses (or replaces) and `server stop` finds, never an unknown one.
        _write_state(folder, state)
        try:
            state.prefect_version = wait_healthy(url, process, timeout, on_tick, port=port)
        except ServerUnavailable as exc:
            _kill_group(process.pid)
            _clear_state(folder)
            last = f"{exc}; {_log_tail(log_path)}"
            if "exited" in str(exc) and _lost_the_port(log_path, since):
                continue
            raise ServerUnavailable(f"{last} (log: {log_path})") from None
        _write_state(folder, state)
        return state
    raise ServerUnavailable(f"{last} (log: {log_path})")


def _answers_as(state: ServerState, wanted: str, patience: float = 30.0) -> bool:
    """True when the recorded server is ours and serves Prefect `wanted`.

    A live server that is slow to answer (a busy machine) gets `patience` seconds before it
    counts as hung; a dead PID or another version is known at once.
    """
    if not pid_alive(state.pid) or not _is_prefect_server(state.pid):
        return False
    deadline = time.monotonic() + patience
    while True:
        version = served_version(state.url)
        if version is not None:
            return version == wanted
        if time.monotonic() > deadline or not pid_alive(state.pid):
            return False
        time.sleep(0.5)


def temporary(*, timeout: float, on_tick: Callable[[float], None] | None = None) -> ServerState:
    """A server for this process only (`--no-server`): supervised, so it dies with the tool
    even on SIGKILL, and stopped, its data directory deleted, when the process exits.

    Why at exit and not when the run ends: Prefect sends the run's last logs and events from
    its own exit hooks (which run before `atexit` callbacks); a server stopped earlier makes
    them retry for over a minute against nothing."""
    folder = Path(tempfile.mkdtemp(prefix="cog-safe-push-prefect-"))
    data_dir = folder / "prefect-home"
    data_dir.mkdir()
    log_path = folder / "server.log"
    port = _free_port()
    url = f"http://{HOST}:{port}/api"
    with log_path.open("wb") as log:
        process = supervise.spawn(
            server_command(port),
            env=server_env(data_dir, port),
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop() -> None:
        supervise.stop(process)
        shutil.rmtree(folder, ignore_errors=True)

    _TEMPORARY.append(stop)

    try:
        version = wait_healthy(url, process, timeout, on_tick)
    except BaseException as exc:
        stop()
        if isinstance(exc, ServerUnavailable):
            raise ServerUnavailable(f"{exc}; {_log_tail(log_path)}") from None
        raise
    atexit.register(stop)
    return ServerState(url, process.pid, port, version, time.time(), str(data_dir), str(log_path))


_TEMPORARY: list[Callable[[], None]] = []  # stops of this process's temporary servers


def stop_temporaries() -> None:
    """Stop this process's temporary servers now (a process that ends without its exit
    hooks, see flows.server_watch, would leave their data directories behind)."""
    while _TEMPORARY:
        with contextlib.suppress(Exception):
            _TEMPORARY.pop()()


def database_damage(db: Path) -> str | None:
    """What SQLite says is wrong with the server's database; None when it reads fine (or
    does not exist yet)."""
    import sqlite3

    if not db.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as con:
            found = con.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if found and found[0] == "ok" else str(found[0] if found else "unreadable")


def move_aside(db: Path) -> Path:
    """Keep a damaged database (and its journal files) for the user; a fresh one is made
    at the next start. Returns where it went."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = db.with_name(f"{db.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = db.with_name(db.name + suffix)
        if source.exists():
            os.replace(source, target.with_name(target.name + suffix))
    return target


def ensure(
    folder: Path | None = None,
    *,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    on_start: Callable[[Path], None] | None = None,
    on_tick: Callable[[float], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[ServerState, bool]:
    """The managed server, reused when healthy and of our Prefect version, else (re)started.

    Returns (state, started). Concurrent callers share one server: the check and the start
    happen under a file lock, so the second caller waits and then reuses the first's server.
    A server that cannot start on a damaged database gets a fresh one; `on_note` is told
    where the damaged one was moved.
    """
    folder = folder or server_dir()
    limit = timeout if timeout is not None else float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    wanted = prefect_version()
    with _locked(folder, on_wait):
        state = read_state(folder)
        if state is not None:
            if _answers_as(state, wanted):
                return state, False
            _kill_group(state.pid)  # another Prefect version, hung, or gone: replace it
            _clear_state(folder)
        if on_start is not None:
            on_start(folder / "server.log")
        try:
            return start(folder, timeout=limit, on_tick=on_tick), True
        except ServerUnavailable:
            db = folder / "prefect-home" / "prefect.db"
            damage = database_damage(db)
            if damage is None:
                raise
            kept = move_aside(db)
            if on_note is not None:
                on_note(
                    f"the local Prefect server's database was damaged ({damage}); moved it to "
                    f"{kept} and started with a fresh one"
                )
            return start(folder, timeout=limit, on_tick=on_tick), True


def stop(folder: Path | None = None) -> ServerState | None:
    """Stop the managed server; the state it had, or None when none was recorded."""
    folder = folder or server_dir()
    with _locked(folder, None):
        state = read_state(folder)
        if state is not None:
            _kill_group(state.pid)
            _clear_state(folder)
        return state
