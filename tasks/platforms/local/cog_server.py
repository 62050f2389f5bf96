"""One `python -m cog.server.http` process (coglet) serving one model version in one mode.

Why a class of its own: the local platform starts each server once and reuses it for every
prediction of that version, so start-up, request serialisation, timeouts with cancellation
and clean shutdown live here. Each server runs in its own process group under a tiny
watchdog that kills the group when our process disappears (its stdin pipe closes), so no
server outlives the tool, even after SIGKILL.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.core import supervise
from tasks.core.errors import PlatformError
from tasks.platforms.local.cog_schema import model_env

logger = logging.getLogger(__name__)
READY_STATES = {"READY", "BUSY"}
FAILED_STATES = {"SETUP_FAILED", "DEFUNCT", "UNHEALTHY"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def validation_message(body: Any) -> str:
    """coglet's 422 body ({"detail": [{"loc": [...], "msg": ...}]}) as one line."""
    details = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(details, list):
        return f"invalid input: {body}"
    parts = []
    for item in details:
        loc = [str(p) for p in item.get("loc", []) if p not in ("body", "input")]
        parts.append(f"{'.'.join(loc) or 'input'}: {item.get('msg', '')}".strip())
    return "invalid input: " + "; ".join(parts)


class CogServer:
    """A lazily started coglet server; `run` is thread-safe and honours max concurrency."""

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        predictor_ref: str,
        *,
        train: bool = False,
        python: str,
        log_path: str | os.PathLike[str],
        extra_env: dict[str, str] | None = None,
        concurrency: int = 1,
        setup_timeout: float = 600.0,
        cancel_grace: float = 10.0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.workdir = Path(workdir)
        self.predictor_ref = predictor_ref
        self.train = train
        self.python = python
        self.log_path = Path(log_path)
        self.extra_env = dict(extra_env or {})
        self.concurrency = max(1, concurrency)
        self.setup_timeout = setup_timeout
        self.cancel_grace = cancel_grace
        self.should_stop = should_stop  # the run is stopping: start nothing, abandon setup
        self.port: int | None = None
        self.setup_error: str | None = None
        self.setup_logs: str = ""
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._start_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._inflight: set[str] = set()
        self._inflight_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------ lifecycle

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _command(self) -> list[str]:
        cmd = [self.python, "-m", "cog.server.http", "--host", "127.0.0.1"]
        if self.train:
            cmd += ["--x-mode", "train"]
        return cmd

    def _env(self, port: int) -> dict[str, str]:
        env = model_env(self.python)
        stub = "COG_TRAIN_TYPE_STUB" if self.train else "COG_PREDICT_TYPE_STUB"
        env[stub] = self.predictor_ref
        env["PORT"] = str(port)
        if self.concurrency > 1:
            env["COG_MAX_CONCURRENCY"] = str(self.concurrency)
        env.update(self.extra_env)
        return env

    def ensure_started(self) -> None:
        """Start once; later calls return at once (or restart a server that died)."""
        if self.alive or self.setup_error is not None:
            return
        with self._start_lock:
            if self.alive or self.setup_error is not None:
                return
            if self._closed:
                raise PlatformError("the local platform was closed")
            last_error = ""
            for _attempt in range(3):  # a port taken between probe and bind: try another
                try:
                    self._launch()
                    return
                except _PortTaken as exc:
                    last_error = str(exc)
            raise PlatformError(f"could not start the model server: {last_error}")

    def _launch(self) -> None:
        self.stop_process()
        port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self._proc = supervise.spawn(
                self._command(),
                python=self.python,
                cwd=self.workdir,
                env=self._env(port),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            raise PlatformError(f"cannot run {self.python!r}: {exc}") from None
        finally:
            log.close()
        self.port = port
        self.starts += 1
        logger.info(
            "started %s server for %s on port %d (log: %s)",
            "train" if self.train else "predict",
            self.workdir.name,
            port,
            self.log_path,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.setup_timeout
        while True:
            if not self.alive:
                tail = self.log_tail()
                if "Address already in use" in tail or "address in use" in tail.lower():
                    raise _PortTaken(tail[-300:])
                self.setup_error = f"model server exited during setup: {tail[-2000:]}"
                return
            health = self.health()
            status = (health or {}).get("status")
            if status in READY_STATES:
                self.setup_logs = ((health or {}).get("setup") or {}).get("logs") or ""
                return
            if status in FAILED_STATES:
                setup = (health or {}).get("setup") or {}
                self.setup_logs = setup.get("logs") or ""
                self.setup_error = f"setup failed: {self.setup_logs.strip()[-2000:]}"
                self.stop_process()
                return
            if time.monotonic() > deadline:
                self.setup_error = f"setup did not finish within {self.setup_timeout:.0f}s"
                self.stop_process()
                return
            if self.should_stop():  # Ctrl-C or SIGTERM during setup(): do not wait it out
                self.setup_error = "canceled during setup: the run is stopping"
                self.stop_process()
                return
            time.sleep(0.05)

    def logs_for(self, run_id: str, size: int = 1 << 20) -> str:
        """What the model printed during one run: coglet writes JSON lines tagged with the
        prediction id (its HTTP answer carries no logs). Cog 0.23's runtime keeps only the
        exception's last line, so there is no traceback to add."""
        lines = []
        for raw in self.log_tail(size).splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            fields = entry.get("fields") if isinstance(entry, dict) else None
            if not isinstance(fields, dict) or fields.get("prediction_id") != run_id:
                continue
            if fields.get("source") in ("Stdout", "Stderr"):
                lines.append(str(fields.get("message", "")))
            elif fields.get("error"):
                lines.append(f"{fields.get('message', 'error')}: {fields['error']}")
        return "\n".join(lines)

    def log_tail(self, size: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()[-size:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    def stop_process(self) -> None:
        """Terminate the whole process group (watchdog, coglet, worker)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            supervise.stop(proc)

    def close(self) -> None:
        self._closed = True
        self.cancel_all()
        self.stop_process()

    # ------------------------------------------------------------ HTTP

    def _request(
        self, method: str, path: str, body: Any = None, timeout: float | None = 5.0
    ) -> tuple[int, Any]:
        if self.port is None:
            raise ConnectionError("server not started")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode("utf-8", "replace")
        return response.status, data

    def health(self) -> dict[str, Any] | None:
        try:
            status, data = self._request("GET", "/health-check", timeout=2.0)
        except (OSError, http.client.HTTPException):
            return None
        return data if status == 200 and isinstance(data, dict) else None

    def cancel(self, run_id: str) -> None:
        plural = "trainings" if self.train else "predictions"
        with contextlib.suppress(OSError, http.client.HTTPException):
            self._request("POST", f"/{plural}/{run_id}/cancel", timeout=5.0)

    def cancel_all(self) -> None:
        with self._inflight_lock:
            run_ids = list(self._inflight)
        for run_id in run_ids:
            self.cancel(run_id)

    def _wait_idle(self) -> bool:
        deadline = time.monotonic() + self.cancel_grace
        while time.monotonic() < deadline:
            status = (self.health() or {}).get("status")
            if status == "READY":
                return True
            if status is None and not self.alive:
                return False
            time.sleep(0.05)
        return False

    def _broken(self) -> bool:
        """coglet reports UNHEALTHY/DEFUNCT after its worker died; only a restart helps."""
        status = (self.health() or {}).get("status")
        return status in {"UNHEALTHY", "DEFUNCT"} or (status is None and not self.alive)

    def run(self, run_id: str, inputs: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """One prediction/training; coglet's response, or a synthetic failed/timeout one.

        Waiting for a free slot does not count against `timeout`; only the run itself does,
        and `wall_seconds` in the answer is the run's own wall time. A run past its timeout
        is canceled, and the server is restarted if it does not become idle within a grace
        period (a model stuck in C code ignores cancellation).
        """
        with self._slots:
            if self.should_stop():  # queued behind a slot while the run began to stop
                return {
                    "id": run_id,
                    "status": "canceled",
                    "error": "not started: the run is stopping",
                    "wall_seconds": 0.0,
                }
            self.ensure_started()
            if self.setup_error is not None:
                return {
                    "id": run_id,
                    "status": "failed",
                    "error": self.setup_error,
                    "logs": self.setup_logs,
                    "wall_seconds": 0.0,
                }
            with self._inflight_lock:
                self._inflight.add(run_id)
            started = time.monotonic()
            try:
                response = self._exchange(run_id, inputs, timeout, started)
            finally:
                with self._inflight_lock:
                    self._inflight.discard(run_id)
            response["wall_seconds"] = time.monotonic() - started
            return response

    def _exchange(
        self, run_id: str, inputs: dict[str, Any], timeout: float | None, started: float
    ) -> dict[str, Any]:
        plural = "trainings" if self.train else "predictions"
        while True:
            remaining = None
            if timeout and timeout > 0:
                remaining = max(0.01, timeout - (time.monotonic() - started))
            try:
                status, body = self._request(
                    "PUT", f"/{plural}/{run_id}", {"input": inputs}, timeout=remaining
                )
            except TimeoutError:
                self.cancel(run_id)
                if not self._wait_idle():
                    self.stop_process()
                return {
                    "id": run_id,
                    "status": "timeout",
                    "error": f"timed out after {timeout:g}s; canceled",
                }
            except (OSError, http.client.HTTPException) as exc:
                alive = self.alive
                tail = self.log_tail(1500)
                self.stop_process()
                why = "model server crashed" if not alive else f"request failed: {exc}"
                # the server died under the run: not an answer of the model (tasks.predictions
                # runs it once more, on a fresh server)
                return {"id": run_id, "status": "failed", "error": f"{why}\n{tail}", "infra": True}
            waited = time.monotonic() - started
            if status == 409 and waited < (timeout or self.cancel_grace):
                if self._broken():  # a crashed worker leaves its slot taken for good
                    self.stop_process()
                    self.ensure_started()
                    if self.setup_error is not None:
                        return {"id": run_id, "status": "failed", "error": self.setup_error}
                else:
                    time.sleep(0.05)  # a canceled run is still winding down
                continue
            break
        if isinstance(body, dict) and body.get("status") == "failed" and self._broken():
            self.stop_process()  # the next run starts a fresh server
            body = {**body, "infra": True}  # its worker died under the run
        if status == 422:
            return {"id": run_id, "status": "failed", "error": validation_message(body)}
        if not isinstance(body, dict) or (status >= 400 and "status" not in body):
            return {"id": run_id, "status": "failed", "error": f"HTTP {status}: {body}"}
        return body


class _PortTaken(Exception):
    pass
