"""A fake of Replicate's HTTP API: a real server on 127.0.0.1 speaking the real JSON shapes.

What it serves (all under /v1, Bearer token checked, RFC 7807 error bodies):
  GET  /account
  GET  /models, POST /models, GET /models/{o}/{n}
  GET  /models/{o}/{n}/versions (paginated {next, previous, results}), GET .../versions/{id}
  POST /predictions {version, input}, POST /models/{o}/{n}/predictions {input}
  GET  /predictions (newest first, paginated), GET /predictions/{id}, POST .../cancel
  POST /models/{o}/{n}/versions/{id}/trainings {destination, input}
  GET  /trainings (newest first, paginated), GET /trainings/{id}, POST .../cancel
  GET/PATCH /deployments/{o}/{n}, POST /deployments
Predictions move starting -> processing -> succeeded/failed/canceled, driven by a
"behaviour" (a callable input -> output, or raising) registered per version or per model.
A failed run's logs end with the exception's real traceback, as Replicate's do; a behaviour
adds its own log lines (what the model printed) by returning `Logged(output, logs)` or by
raising an exception with a `logs` attribute, and metrics of its own (a language model's
token counts) by returning `Metered(output, metrics)`.
`host_claude(fake)` hosts Claude as Replicate does (an official, public model with the real
input schema: prompt, image, system_prompt, max_tokens...), answering as a test scripts it
(`FakeClaude`, like tests/fakes/anthropic_server.py), each answer a stream of tokens.
`Prefer: wait=N` holds the create response until the run ends or N seconds pass;
`Cancel-After: 30s` cancels a run that outlives its deadline. File outputs (`FakeFile`) are
served from GET /files/{prediction id}/{name} without auth, like replicate.delivery.

Instances: each version keeps a pool of model instances. With `cold_boot` seconds (default 0:
no boot time), a run that starts when no idle instance of its version exists boots a new one
first; the run stays "starting" while it boots, and neither `started_at` nor `predict_time`
includes the boot. An instance stays warm after its run ends and serves the next run of its
version (a run canceled while its instance boots discards that instance). So 4 concurrent runs
on a fresh version boot 4 instances at once, and later runs, up to 4 at a time, find one warm.
`boots` counts instances booted per version; `stop_instances()` scales every version to zero.

Switches for tests and benchmarks: `latency`, `cold_boot`, `faults(rate, kinds, seed)` (429 with
Retry-After, 500, 503, "drop": connection closed before the request is processed, "lose": the
request is processed, then the connection is closed before the answer), `fail_next(method,
pattern, *kinds)` (scripted faults for the next matching requests), `counts` of requests by
(method, path pattern), `requests` (a log without secrets).
The stand-in `cog` registers pushed versions through the private POST /_fake/push; `pushes`
keeps each push's body, with when the cog process started and when its push arrived.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import re
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse

Behaviour = Callable[[dict[str, Any]], Any]
TERMINAL = ("succeeded", "failed", "canceled")
FAULT_KINDS = ("429", "500", "503", "drop", "lose")


@dataclass
class FakeFile:
    """A file output: the fake stores the bytes and the output becomes its URL."""

    name: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass
class Logged:
    """A behaviour's output together with the log lines the model printed while making it."""

    output: Any
    logs: str = ""


@dataclass
class Metered:
    """A behaviour's output together with metrics the run reports beside predict_time (a
    language model's input_token_count and output_token_count)."""

    output: Any
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Registered:
    fn: Behaviour
    latency: float | None = None


@dataclass
class Run:
    """A prediction or a training, as the fake keeps it."""

    id: str
    kind: str  # "prediction" | "training"
    model: str
    version: str
    input: dict[str, Any]
    created_at: str
    destination: str | None = None
    status: str = "starting"
    output: Any = None
    error: str | None = None
    logs: str = ""
    started_at: str | None = None
    completed_at: str | None = None
    predict_time: float | None = None
    deadline: float | None = None  # monotonic; from Cancel-After
    metrics: dict[str, Any] = field(default_factory=dict)  # a Metered behaviour's own
    booted: bool = False  # it booted a new instance of its version before it ran
    holds_instance: bool = False  # an instance of its version is busy with it
    done: threading.Event = field(default_factory=threading.Event)
    cancel_requested: threading.Event = field(default_factory=threading.Event)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _parse_duration(text: str) -> float | None:
    """Cancel-After values: Go-style durations ("90s", "1m30s", "2h") or bare seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(a) * scale[b] for a, b in parts)


def echo_behaviour(inputs: dict[str, Any]) -> Any:
    """Default behaviour: the inputs back, so a test always gets something to compare."""
    return dict(inputs)


class FakeReplicate:
    """The fake API. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        token: str = "r8_fake_token",
        *,
        username: str = "acme",
        page_size: int = 2,
        latency: float = 0.0,
        startup: float = 0.01,
        max_wait: float = 60.0,
        cold_boot: float = 0.0,
    ) -> None:
        self.token = token
        self.username = username
        self.owners = {username}  # owners this token may create models for
        self.page_size = page_size
        self.list_page_size = 100  # runs per page of GET /v1/predictions, as on Replicate
        self.latency = latency
        self.startup = startup
        self.cold_boot = cold_boot
        self.boots: Counter[str] = Counter()  # instances booted, by version id
        self._idle: Counter[str] = Counter()  # warm instances waiting for a run, by version id
        self.max_wait = max_wait
        self.min_cancel_after = 5.0  # Replicate's minimum; tests may lower it
        self.models: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, list[dict[str, Any]]] = {}  # ref -> newest first
        self.official: set[str] = set()
        self.runs: dict[str, Run] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.files: dict[str, FakeFile] = {}
        self.pushes: list[dict[str, Any]] = []
        self.behaviours: dict[str, _Registered] = {}
        self.training_behaviours: dict[str, _Registered] = {}
        self.push_hook: Callable[[str, str, dict[str, Any]], None] | None = None
        self.counts: Counter[tuple[str, str]] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = FAULT_KINDS
        self.fault_paths = ("/v1/",)
        self.retry_after = 1
        self.faults_injected: Counter[str] = Counter()
        self.scripted: dict[tuple[str, str], list[str]] = {}
        self._rng = random.Random(0)
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeReplicate:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-replicate",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for run in self.runs.values():
                run.cancel_requested.set()
                run.done.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeReplicate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeReplicate not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---- set-up helpers --------------------------------------------------------------

    def add_model(
        self,
        ref: str,
        *,
        visibility: str = "private",
        hardware: str = "cpu",
        official: bool = False,
    ) -> dict[str, Any]:
        owner, name = ref.split("/", 1)
        with self._lock:
            model = {
                "url": f"https://replicate.com/{owner}/{name}",
                "owner": owner,
                "name": name,
                "description": None,
                "visibility": visibility,
                "github_url": None,
                "paper_url": None,
                "license_url": None,
                "run_count": 0,
                "cover_image_url": None,
                "default_example": None,
                "latest_version": None,
                "is_official": official,
                "hardware": hardware,
            }
            self.models[ref] = model
            self.versions.setdefault(ref, [])
            if official:
                self.official.add(ref)
            return model

    def add_version(
        self,
        ref: str,
        openapi_schema: dict[str, Any],
        version_id: str | None = None,
    ) -> str:
        """Add a version as the model's newest; return its id (64 hex chars)."""
        with self._lock:
            if ref not in self.models:
                raise KeyError(f"no model {ref}")
            if version_id is None:
                seed = f"{ref}:{next(self._ids)}:{json.dumps(openapi_schema, sort_keys=True)}"
                version_id = hashlib.sha256(seed.encode()).hexdigest()
            version = {
                "id": version_id,
                "created_at": _now(),
                "cog_version": "0.23.1",
                "openapi_schema": openapi_schema,
            }
            self.versions[ref].insert(0, version)
            self.models[ref]["latest_version"] = version
            return version_id

    def set_behaviour(self, key: str, fn: Behaviour, latency: float | None = None) -> None:
        """How predictions of a version id (or of every version of "owner/name") behave."""
        self.behaviours[key] = _Registered(fn, latency)

    def set_training_behaviour(self, key: str, fn: Behaviour, latency: float | None = None) -> None:
        self.training_behaviours[key] = _Registered(fn, latency)

    def faults(
        self,
        rate: float,
        kinds: tuple[str, ...] = FAULT_KINDS,
        seed: int = 0,
        retry_after: int = 1,
        paths: tuple[str, ...] = ("/v1/",),
    ) -> None:
        """Fail `rate` of requests under `paths` transiently, before they are processed."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        with self._lock:
            self.fault_rate = rate
            self.fault_kinds = tuple(kinds)
            self._rng = random.Random(seed)
            self.retry_after = retry_after
            self.fault_paths = paths

    def fail_next(self, method: str, pattern: str, *kinds: str) -> None:
        """Fail the next requests of (method, route pattern) with `kinds`, one each, in order."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        with self._lock:
            self.scripted.setdefault((method, pattern), []).extend(kinds)

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.requests.clear()
            self.faults_injected.clear()

    def stop_instances(self) -> None:
        """Scale every version to zero: the next runs boot new instances (call while idle)."""
        with self._lock:
            self._idle.clear()

    def count(self, method: str, pattern: str) -> int:
        return self.counts[(method, pattern)]

    def api_requests(self) -> int:
        """Requests to the public API (not files, not the private push endpoint)."""
        return sum(n for (_, pattern), n in self.counts.items() if pattern.startswith("/v1/"))

    def latest_version_id(self, ref: str) -> str | None:
        with self._lock:
            versions = self.versions.get(ref) or []
            return versions[0]["id"] if versions else None

    def runs_of(self, kind: str) -> list[Run]:
        """Runs of a kind ("prediction" | "training"), newest first."""
        with self._lock:
            return [r for r in reversed(self.runs.values()) if r.kind == kind]

    def predictions_of(self, version_id: str) -> list[Run]:
        with self._lock:
            return [
                r for r in self.runs.values() if r.kind == "prediction" and r.version == version_id
            ]

    # ---- runs --------------------------------------------------------------------------

    def _behaviour(self, table: dict[str, _Registered], ref: str, version_id: str) -> _Registered:
        return table.get(version_id) or table.get(ref) or _Registered(echo_behaviour)

    def _start_run(
        self,
        kind: str,
        ref: str,
        version_id: str,
        inputs: dict[str, Any],
        cancel_after: float | None,
        destination: str | None = None,
    ) -> Run:
        with self._lock:
            run_id = hashlib.sha1(f"{kind}{next(self._ids)}{time.time()}".encode()).hexdigest()[:26]
            run = Run(
                id=run_id,
                kind=kind,
                model=ref,
                version=version_id,
                input=inputs,
                created_at=_now(),
                destination=destination,
            )
            if cancel_after is not None:
                run.deadline = time.monotonic() + cancel_after
            self.runs[run_id] = run
        table = self.training_behaviours if kind == "training" else self.behaviours
        behaviour = self._behaviour(table, ref, version_id)
        threading.Thread(
            target=self._execute, args=(run, behaviour), name=f"fake-run-{run_id}", daemon=True
        ).start()
        return run

    def _sleep(self, run: Run, seconds: float) -> bool:
        """Sleep unless canceled or past the Cancel-After deadline; True when it must stop."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            now = time.monotonic()
            if run.deadline is not None and now >= run.deadline:
                return True
            wake = end if run.deadline is None else min(end, run.deadline)
            if now >= end:
                return run.cancel_requested.is_set()
            if run.cancel_requested.wait(timeout=max(0.0, wake - now)):
                return True

    def _finish(self, run: Run, status: str) -> None:
        with self._lock:
            if run.status in TERMINAL:
                return
            run.status = status
            run.completed_at = _now()
        run.done.set()

    def _acquire_instance(self, run: Run) -> bool:
        """An idle instance of the run's version, or a new one booted; False if canceled."""
        with self._lock:
            if self._idle[run.version] > 0:
                self._idle[run.version] -= 1
                run.holds_instance = True
                return True
            self.boots[run.version] += 1
            run.booted = True
            boot = self.cold_boot
        if boot > 0 and self._sleep(run, boot):
            return False  # canceled while booting: that instance is discarded
        with self._lock:
            run.holds_instance = True
        return True

    def _release_instance(self, run: Run) -> None:
        """The run's instance is free again: before the run is seen to end, as on Replicate,
        so that the next run a client sends on seeing it end finds the instance warm."""
        with self._lock:
            if run.holds_instance:
                run.holds_instance = False
                self._idle[run.version] += 1

    def _execute(self, run: Run, behaviour: _Registered) -> None:
        if self._sleep(run, self.startup) or not self._acquire_instance(run):
            self._finish(run, "canceled")
            return
        try:
            # A model's setup() runs while its run is still "starting": on Replicate it is
            # part of the boot, never of predict_time (a behaviour may offer `setup`).
            setup = getattr(behaviour.fn, "setup", None)
            if callable(setup):
                setup()
            self._process(run, behaviour)
        finally:
            self._release_instance(run)

    def _process(self, run: Run, behaviour: _Registered) -> None:
        with self._lock:
            if run.status in TERMINAL:
                return
            run.status = "processing"
            run.started_at = _now()
        began = time.monotonic()
        latency = self.latency if behaviour.latency is None else behaviour.latency
        model_logs = failure = ""
        try:
            output = behaviour.fn(dict(run.input))
            if isinstance(output, Logged):
                output, model_logs = output.output, output.logs
            if isinstance(output, Metered):
                output, run.metrics = output.output, dict(output.metrics)
            if isinstance(output, Iterator):
                output = list(output)
            error = None
        except Exception as exc:  # noqa: BLE001 - a model error is the run's result
            output, error = None, str(exc) or type(exc).__name__
            model_logs = str(getattr(exc, "logs", "") or "")
            failure = "".join(traceback.format_exception(exc))
        remaining = latency - (time.monotonic() - began)
        if self._sleep(run, remaining):
            self._release_instance(run)
            self._finish(run, "canceled")
            return
        with self._lock:
            run.predict_time = round(time.monotonic() - began, 4)
            run.logs = f"running {run.kind} {run.id}\n" + model_logs
            if model_logs and not model_logs.endswith("\n"):
                run.logs += "\n"
            if error is not None:
                run.error = error
                run.logs += failure
            else:
                run.output = self._store_outputs(run, output)
                if run.kind == "training":
                    run.output = self._finish_training(run, run.output)
        self._release_instance(run)
        self._finish(run, "failed" if error is not None else "succeeded")

    def _store_outputs(self, run: Run, value: Any) -> Any:
        if isinstance(value, FakeFile):
            key = f"{run.id}/{value.name}"
            self.files[key] = value
            return f"{self.url}/files/{quote(key)}"
        if isinstance(value, dict):
            return {k: self._store_outputs(run, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._store_outputs(run, v) for v in value]
        return value

    def _finish_training(self, run: Run, output: Any) -> Any:
        """A training yields a new version of its destination, as on Replicate."""
        dest = run.destination or ""
        if dest not in self.models:
            return output
        source = next((v for v in self.versions.get(run.model, []) if v["id"] == run.version), None)
        schema = source["openapi_schema"] if source else {}
        new_id = self.add_version(dest, schema)
        result = dict(output) if isinstance(output, dict) else {"weights": output}
        result["version"] = f"{dest}:{new_id}"
        return result

    def run_json(self, run: Run) -> dict[str, Any]:
        base = self.url
        plural = "predictions" if run.kind == "prediction" else "trainings"
        with self._lock:
            body: dict[str, Any] = {
                "id": run.id,
                "model": run.model,
                "version": run.version,
                "input": run.input,
                "logs": run.logs,
                "output": run.output,
                "data_removed": False,
                "error": run.error,
                "status": run.status,
                "source": "api",
                "created_at": run.created_at,
                "started_at": run.started_at,
                "completed_at": run.completed_at,
                "urls": {
                    "get": f"{base}/v1/{plural}/{run.id}",
                    "cancel": f"{base}/v1/{plural}/{run.id}/cancel",
                    "web": f"https://replicate.com/p/{run.id}",
                },
                "metrics": (
                    {"predict_time": run.predict_time} if run.predict_time is not None else {}
                )
                | run.metrics,
            }
            if run.kind == "training":
                body["destination"] = run.destination
        return body

    def cancel(self, run: Run) -> None:
        run.cancel_requested.set()
        with self._lock:
            if run.status not in TERMINAL:
                run.status = "canceled"
                run.completed_at = _now()
        run.done.set()

    # ---- deployments -------------------------------------------------------------------

    def deployment_json(self, ref: str) -> dict[str, Any]:
        return json.loads(json.dumps(self.deployments[ref]))


def _error(status: int, title: str, detail: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "type": f"https://replicate.com/docs/errors/{status}",
        "title": title,
        "detail": detail,
        "status": status,
    }


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(f"^{p}$"), name)
    for m, p, name in [
        ("GET", r"/v1/account", "/v1/account"),
        ("GET", r"/v1/models", "/v1/models"),
        ("POST", r"/v1/models", "/v1/models"),
        ("GET", r"/v1/models/(?P<o>[^/]+)/(?P<n>[^/]+)", "/v1/models/{owner}/{name}"),
        (
            "GET",
            r"/v1/models/(?P<o>[^/]+)/(?P<n>[^/]+)/versions",
            "/v1/models/{owner}/{name}/versions",
        ),
        (
            "GET",
            r"/v1/models/(?P<o>[^/]+)/(?P<n>[^/]+)/versions/(?P<v>[^/]+)",
            "/v1/models/{owner}/{name}/versions/{id}",
        ),
        (
            "POST",
            r"/v1/models/(?P<o>[^/]+)/(?P<n>[^/]+)/predictions",
            "/v1/models/{owner}/{name}/predictions",
        ),
        (
            "POST",
            r"/v1/models/(?P<o>[^/]+)/(?P<n>[^/]+)/versions/(?P<v>[^/]+)/trainings",
            "/v1/models/{owner}/{name}/versions/{id}/trainings",
        ),
        ("POST", r"/v1/predictions", "/v1/predictions"),
        ("GET", r"/v1/predictions", "/v1/predictions"),
        ("GET", r"/v1/trainings", "/v1/trainings"),
        ("GET", r"/v1/predictions/(?P<id>[^/]+)", "/v1/predictions/{id}"),
        ("POST", r"/v1/predictions/(?P<id>[^/]+)/cancel", "/v1/predictions/{id}/cancel"),
        ("GET", r"/v1/trainings/(?P<id>[^/]+)", "/v1/trainings/{id}"),
        ("POST", r"/v1/trainings/(?P<id>[^/]+)/cancel", "/v1/trainings/{id}/cancel"),
        ("POST", r"/v1/deployments", "/v1/deployments"),
        ("GET", r"/v1/deployments/(?P<o>[^/]+)/(?P<n>[^/]+)", "/v1/deployments/{owner}/{name}"),
        (
            "PATCH",
            r"/v1/deployments/(?P<o>[^/]+)/(?P<n>[^/]+)",
            "/v1/deployments/{owner}/{name}",
        ),
        ("GET", r"/files/(?P<key>.+)", "/files/{key}"),
        ("POST", r"/_fake/push", "/_fake/push"),
    ]
]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeReplicate
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm a keep-alive client waits
    # ~40 ms for the second (delayed ACK). A real API does not add that to every request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: tests read counters, not access logs

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ---- plumbing ----------------------------------------------------------------------

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        return json.loads(raw)

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        for m, regex, name in _ROUTES:
            if m == method and (match := regex.match(path)):
                return name, match.groupdict()
        return None

    def _pick_fault(self, method: str, pattern: str, path: str) -> str | None:
        """The fault for this request, if any: a scripted one first, else a random one."""
        fake = self.fake
        with fake._lock:
            queue = fake.scripted.get((method, pattern))
            if queue:
                kind = queue.pop(0)
            elif fake.fault_rate and path.startswith(fake.fault_paths):
                if fake._rng.random() >= fake.fault_rate:
                    return None
                kind = fake._rng.choice(fake.fault_kinds)
            else:
                return None
            fake.faults_injected[kind] += 1
        return kind

    def _fault(self, kind: str) -> None:
        """Answer with the fault instead of processing the request ("lose" is not here)."""
        fake = self.fake
        if kind == "drop":
            self.close_connection = True
            return
        status = int(kind)
        title = {429: "Too Many Requests", 500: "Internal Server Error"}.get(
            status, "Service Unavailable"
        )
        headers = {"Retry-After": str(fake.retry_after)} if status in (429, 503) else {}
        code, body = _error(status, title, "transient fault injected by the fake")
        self._send(code, body, headers)

    def _dispatch(self, method: str) -> None:
        fake = self.fake
        parsed = urlparse(self.path)
        path = parsed.path.rstrip("/") or "/"
        routed = self._route(method, path)
        pattern = routed[0] if routed else path
        with fake._lock:
            fake.counts[(method, pattern)] += 1
            fake.requests.append(
                {
                    "method": method,
                    "path": path,
                    "pattern": pattern,
                    "prefer": self.headers.get("Prefer"),
                    "cancel_after": self.headers.get("Cancel-After"),
                    "authorized": self.headers.get("Authorization") == f"Bearer {fake.token}",
                    "at": time.monotonic(),
                }
            )
        try:
            body = self._body() if method in ("POST", "PATCH") else {}
        except (ValueError, UnicodeDecodeError):
            self._send(*_error(400, "Bad Request", "request body is not valid JSON"))
            return
        fault = self._pick_fault(method, pattern, path)
        if fault is not None and fault != "lose":
            self._fault(fault)
            return
        if routed is None:
            self._send(*_error(404, "Not found", f"no route for {method} {path}"))
            return
        name, params = routed
        public = name.startswith(("/files/", "/_fake/"))
        if not public and self.headers.get("Authorization") != f"Bearer {fake.token}":
            self._send(
                *_error(
                    401,
                    "Unauthenticated",
                    "You did not pass a valid authentication token",
                )
            )
            return
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        handler = getattr(self, "_h_" + re.sub(r"\W+", "_", f"{method}{name}").strip("_"))
        result = handler(params, body, query)
        if fault == "lose":  # processed, and then the answer is lost
            self.close_connection = True
            return
        if result is not None:
            self._send(*result)

    # ---- handlers (named after method + route) -----------------------------------------

    def _h_GET_v1_account(self, p: dict, b: Any, q: dict) -> tuple:
        u = self.fake.username
        return 200, {"type": "user", "username": u, "name": u.title(), "github_url": None}

    def _h_GET_v1_models(self, p: dict, b: Any, q: dict) -> tuple:
        with self.fake._lock:
            models = [dict(m) for m in self.fake.models.values()]
        return 200, {"next": None, "previous": None, "results": models}

    def _h_POST_v1_models(self, p: dict, b: Any, q: dict) -> tuple:
        fake = self.fake
        owner, name = b.get("owner"), b.get("name")
        missing = [k for k in ("owner", "name", "visibility", "hardware") if not b.get(k)]
        if missing:
            return _error(422, "Invalid request", f"missing fields: {', '.join(missing)}")
        if b["visibility"] not in ("public", "private"):
            return _error(422, "Invalid request", "visibility must be public or private")
        if owner not in fake.owners:
            return _error(
                403, "Forbidden", f"You do not have permission to create models for {owner}"
            )
        ref = f"{owner}/{name}"
        if ref in fake.models:
            return _error(409, "Conflict", f"A model named {ref} already exists")
        model = fake.add_model(ref, visibility=b["visibility"], hardware=b["hardware"])
        return 201, model

    def _model(self, p: dict) -> tuple[str, dict[str, Any] | None]:
        ref = f"{p['o']}/{p['n']}"
        return ref, self.fake.models.get(ref)

    def _h_GET_v1_models_owner_name(self, p: dict, b: Any, q: dict) -> tuple:
        ref, model = self._model(p)
        if model is None:
            return _error(404, "Not found", f"Model {ref} not found")
        return 200, model

    def _h_GET_v1_models_owner_name_versions(self, p: dict, b: Any, q: dict) -> tuple:
        fake = self.fake
        ref, model = self._model(p)
        if model is None or ref in fake.official:
            return _error(404, "Not found", f"Versions of {ref} not found")
        with fake._lock:
            versions = list(fake.versions.get(ref, []))
        start = int(q.get("cursor") or 0)
        page = versions[start : start + fake.page_size]
        base = f"{fake.url}/v1/models/{ref}/versions"
        nxt = (
            f"{base}?cursor={start + fake.page_size}"
            if start + fake.page_size < len(versions)
            else None
        )
        prev = f"{base}?cursor={max(0, start - fake.page_size)}" if start else None
        return 200, {"next": nxt, "previous": prev, "results": page}

    def _find_version(self, ref: str, version_id: str) -> dict[str, Any] | None:
        return next((v for v in self.fake.versions.get(ref, []) if v["id"] == version_id), None)

    def _h_GET_v1_models_owner_name_versions_id(self, p: dict, b: Any, q: dict) -> tuple:
        ref, model = self._model(p)
        version = (
            self._find_version(ref, p["v"]) if model and ref not in self.fake.official else None
        )
        if version is None:
            return _error(404, "Not found", f"Version {p['v']} of {ref} not found")
        return 200, version

    def _cancel_after(self) -> tuple[float | None, tuple | None]:
        header = self.headers.get("Cancel-After")
        if header is None:
            return None, None
        seconds = _parse_duration(header)
        if seconds is None or seconds < self.fake.min_cancel_after:
            minimum = f"{self.fake.min_cancel_after:g}s"
            return None, _error(
                400,
                "Bad Request",
                f"Invalid Cancel-After {header!r}: a duration of at least {minimum}",
            )
        return seconds, None

    def _wait_seconds(self) -> float:
        prefer = self.headers.get("Prefer") or ""
        match = re.search(r"\bwait(?:=(\d+))?\b", prefer)
        if not match:
            return 0.0
        return min(self.fake.max_wait, float(match.group(1) or 60))

    def _create(
        self, kind: str, ref: str, version_id: str, body: Any, dest: str | None = None
    ) -> tuple:
        fake = self.fake
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            return _error(422, "Input validation failed", "input: input is required")
        cancel_after, problem = self._cancel_after()
        if problem:
            return problem
        run = fake._start_run(kind, ref, version_id, inputs, cancel_after, destination=dest)
        wait = self._wait_seconds() if kind == "prediction" else 0.0
        if wait:
            run.done.wait(timeout=wait)
        headers = {"Location": f"{fake.url}/v1/{kind}s/{run.id}"}
        return 201, fake.run_json(run), headers

    def _h_POST_v1_predictions(self, p: dict, b: Any, q: dict) -> tuple:
        version_id = b.get("version") or ""
        if ":" in version_id:
            version_id = version_id.split(":", 1)[1]
        fake = self.fake
        with fake._lock:
            ref = next(
                (r for r, vs in fake.versions.items() if any(v["id"] == version_id for v in vs)),
                None,
            )
        if ref is None:
            return _error(
                422, "Invalid version or not permitted", f"version {version_id!r} does not exist"
            )
        return self._create("prediction", ref, version_id, b)

    def _h_POST_v1_models_owner_name_predictions(self, p: dict, b: Any, q: dict) -> tuple:
        ref, model = self._model(p)
        if model is None:
            return _error(404, "Not found", f"Model {ref} not found")
        latest = self.fake.latest_version_id(ref)
        if latest is None:
            return _error(422, "Invalid request", f"Model {ref} has no versions")
        return self._create("prediction", ref, latest, b)

    def _h_POST_v1_models_owner_name_versions_id_trainings(self, p: dict, b: Any, q: dict) -> tuple:
        ref, model = self._model(p)
        if model is None or self._find_version(ref, p["v"]) is None:
            return _error(404, "Not found", f"Version {p['v']} of {ref} not found")
        dest = b.get("destination")
        if not dest or dest not in self.fake.models:
            return _error(
                404, "Not found", f"The destination model {dest} does not exist; create it first"
            )
        return self._create("training", ref, p["v"], b, dest=dest)

    def _list_runs(self, kind: str, q: dict) -> tuple:
        fake = self.fake
        runs = fake.runs_of(kind)
        start = int(q.get("cursor") or 0)
        size = fake.list_page_size
        page = [fake.run_json(r) for r in runs[start : start + size]]
        base = f"{fake.url}/v1/{kind}s"
        nxt = f"{base}?cursor={start + size}" if start + size < len(runs) else None
        prev = f"{base}?cursor={max(0, start - size)}" if start else None
        return 200, {"next": nxt, "previous": prev, "results": page}

    def _h_GET_v1_predictions(self, p: dict, b: Any, q: dict) -> tuple:
        return self._list_runs("prediction", q)

    def _h_GET_v1_trainings(self, p: dict, b: Any, q: dict) -> tuple:
        return self._list_runs("training", q)

    def _get_run(self, kind: str, run_id: str) -> Run | None:
        run = self.fake.runs.get(run_id)
        return run if run is not None and run.kind == kind else None

    def _h_GET_v1_predictions_id(self, p: dict, b: Any, q: dict) -> tuple:
        run = self._get_run("prediction", p["id"])
        if run is None:
            return _error(404, "Not found", f"Prediction {p['id']} not found")
        return 200, self.fake.run_json(run)

    def _h_POST_v1_predictions_id_cancel(self, p: dict, b: Any, q: dict) -> tuple:
        run = self._get_run("prediction", p["id"])
        if run is None:
            return _error(404, "Not found", f"Prediction {p['id']} not found")
        self.fake.cancel(run)
        return 200, self.fake.run_json(run)

    def _h_GET_v1_trainings_id(self, p: dict, b: Any, q: dict) -> tuple:
        run = self._get_run("training", p["id"])
        if run is None:
            return _error(404, "Not found", f"Training {p['id']} not found")
        return 200, self.fake.run_json(run)

    def _h_POST_v1_trainings_id_cancel(self, p: dict, b: Any, q: dict) -> tuple:
        run = self._get_run("training", p["id"])
        if run is None:
            return _error(404, "Not found", f"Training {p['id']} not found")
        self.fake.cancel(run)
        return 200, self.fake.run_json(run)

    def _release(self, number: int, model: str, version: str, config: dict) -> dict:
        u = self.fake.username
        return {
            "number": number,
            "model": model,
            "version": version,
            "created_at": _now(),
            "created_by": {"type": "user", "username": u, "name": u.title(), "github_url": None},
            "configuration": config,
        }

    def _h_POST_v1_deployments(self, p: dict, b: Any, q: dict) -> tuple:
        fake = self.fake
        required = ("name", "model", "version", "hardware", "min_instances", "max_instances")
        missing = [k for k in required if b.get(k) in (None, "")]
        if missing:
            return _error(422, "Invalid request", f"missing fields: {', '.join(missing)}")
        ref = f"{fake.username}/{b['name']}"
        if ref in fake.deployments:
            return _error(409, "Conflict", f"Deployment {ref} already exists")
        if b["model"] not in fake.models or self._find_version(b["model"], b["version"]) is None:
            return _error(
                422, "Invalid request", f"version {b['version']} of {b['model']} not found"
            )
        if not 0 <= b["min_instances"] <= b["max_instances"]:
            return _error(422, "Invalid request", "min_instances must be <= max_instances")
        config = {k: b[k] for k in ("hardware", "min_instances", "max_instances")}
        fake.deployments[ref] = {
            "owner": fake.username,
            "name": b["name"],
            "current_release": self._release(1, b["model"], b["version"], config),
        }
        return 201, fake.deployment_json(ref)

    def _h_GET_v1_deployments_owner_name(self, p: dict, b: Any, q: dict) -> tuple:
        ref = f"{p['o']}/{p['n']}"
        if ref not in self.fake.deployments:
            return _error(404, "Not found", f"Deployment {ref} not found")
        return 200, self.fake.deployment_json(ref)

    def _h_PATCH_v1_deployments_owner_name(self, p: dict, b: Any, q: dict) -> tuple:
        fake = self.fake
        ref = f"{p['o']}/{p['n']}"
        deployment = fake.deployments.get(ref)
        if deployment is None:
            return _error(404, "Not found", f"Deployment {ref} not found")
        release = deployment["current_release"]
        version = b.get("version", release["version"])
        if self._find_version(release["model"], version) is None:
            return _error(
                422, "Invalid request", f"version {version} of {release['model']} not found"
            )
        config = dict(release["configuration"])
        config.update({k: b[k] for k in ("hardware", "min_instances", "max_instances") if k in b})
        deployment["current_release"] = self._release(
            release["number"] + 1, release["model"], version, config
        )
        return 200, fake.deployment_json(ref)

    def _h_GET_files_key(self, p: dict, b: Any, q: dict) -> tuple | None:
        found = self.fake.files.get(unquote(p["key"]))
        if found is None:
            return _error(404, "Not found", "file not found (it may have expired)")
        self._send(200, found.data, content_type=found.content_type)
        return None

    def _h_POST__fake_push(self, p: dict, b: Any, q: dict) -> tuple:
        fake = self.fake
        ref = b.get("model") or ""
        if ref not in fake.models:
            return _error(
                404,
                "Not found",
                f"name unknown: The model https://replicate.com/{ref} does not exist",
            )
        schema = b.get("openapi_schema")
        if not isinstance(schema, dict):
            return _error(422, "Invalid request", "openapi_schema must be an object")
        version_id = fake.add_version(ref, schema)
        with fake._lock:
            # "started_at" (wall clock) comes from the stand-in cog; "received_at" ends the push
            fake.pushes.append({**b, "id": version_id, "received_at": time.time()})
        if fake.push_hook is not None:
            fake.push_hook(ref, version_id, b)
        return 201, {"id": version_id, "model": ref}


# ---- Claude, as Replicate hosts it ------------------------------------------------------

CLAUDE_MODEL = "anthropic/claude-4.5-sonnet"
ClaudeAnswer = str | Callable[[dict[str, Any]], str]


def claude_schema(*, image: bool = True, images: bool = False) -> dict[str, Any]:
    """The OpenAPI document of Replicate's anthropic/claude-4-sonnet and -4.5-sonnet: one
    prompt, one optional image, a system prompt, bounded max_tokens, and a text stream out.
    `image=False` drops the image (as claude-4.5-haiku has none); `images=True` adds a list
    of images instead, as some other hosted models take."""
    props: dict[str, Any] = {
        "prompt": {"type": "string", "title": "Prompt", "description": "Input prompt"},
        "system_prompt": {
            "type": "string",
            "title": "System Prompt",
            "default": "",
            "description": "System prompt",
        },
        "max_tokens": {
            "type": "integer",
            "title": "Max Tokens",
            "default": 8192,
            "minimum": 1024,
            "maximum": 64000,
            "description": "Maximum number of output tokens",
        },
        "max_image_resolution": {
            "type": "number",
            "title": "Max Image Resolution",
            "default": 0.5,
            "minimum": 0.001,
            "maximum": 2,
            "description": "Maximum image resolution in megapixels. Scales down image before "
            "sending it to Claude, to save time and money.",
        },
        "extended_thinking": {
            "type": "boolean",
            "title": "Extended Thinking",
            "default": False,
            "description": "Whether to enable extended thinking mode",
        },
        "thinking_budget_tokens": {
            "type": "integer",
            "title": "Thinking Budget Tokens",
            "default": 1024,
            "minimum": 1024,
            "maximum": 64000,
            "description": "Maximum number of tokens to use for extended thinking when enabled",
        },
    }
    if image:
        props["image"] = {
            "type": "string",
            "format": "uri",
            "title": "Image",
            "description": "Optional input image. Images are priced as (width px * height px)"
            "/750 input tokens",
        }
    if images:
        props["images"] = {
            "type": "array",
            "items": {"type": "string", "format": "uri"},
            "title": "Images",
            "description": "Optional input images",
        }
    order = ["prompt", "image", "images", "system_prompt", "max_tokens"]
    order += [name for name in props if name not in order]
    ordered = {name: {**props[name], "x-order": i} for i, name in enumerate(order) if name in props}
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "title": "Input",
                    "required": ["prompt"],
                    "properties": ordered,
                },
                "Output": {
                    "type": "array",
                    "items": {"type": "string"},
                    "title": "Output",
                    "x-cog-array-type": "iterator",
                    "x-cog-array-display": "concatenate",
                },
            }
        },
    }


class FakeClaude:
    """The behaviour of a hosted Claude on the fake Replicate, scripted like FakeAnthropic:
    `reply` queues answers (a text, or a function of the prediction's input), `default`
    answers when the queue is empty, `fail_next` makes predictions fail with the model's own
    error. `requests` keeps every input it was given, to assert on (an image attached, no
    secret sent). Inputs the schema lacks, or max_tokens out of bounds, fail the prediction
    as Replicate's input validation would refuse them. Each answer streams as tokens of four
    characters; the metrics count input and output tokens."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema or claude_schema()
        self.requests: list[dict[str, Any]] = []
        self._answers: deque[ClaudeAnswer] = deque()
        self._default: ClaudeAnswer = "ok"
        self._failures: deque[str] = deque()
        self._lock = threading.Lock()

    def reply(self, *answers: ClaudeAnswer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def default(self, answer: ClaudeAnswer) -> None:
        with self._lock:
            self._default = answer

    def fail_next(self, error: str, n: int = 1) -> None:
        with self._lock:
            self._failures.extend([error] * n)

    def __call__(self, inputs: dict[str, Any]) -> Metered:
        props = self.schema["components"]["schemas"]["Input"]["properties"]
        with self._lock:
            self.requests.append(dict(inputs))
            unknown = sorted(set(inputs) - set(props))
            if unknown:
                raise ValueError(f"Input validation failed: unexpected input(s) {unknown}")
            if not isinstance(inputs.get("prompt"), str):
                raise ValueError("Input validation failed: prompt is required")
            tokens = inputs.get("max_tokens", props.get("max_tokens", {}).get("default"))
            limits = props.get("max_tokens", {})
            if tokens is not None and not limits.get("minimum", 0) <= tokens <= limits.get(
                "maximum", 10**9
            ):
                raise ValueError(f"Input validation failed: max_tokens {tokens} out of range")
            if self._failures:
                raise RuntimeError(self._failures.popleft())
            answer = self._answers.popleft() if self._answers else self._default
        text = answer(inputs) if callable(answer) else answer
        stream = [text[i : i + 4] for i in range(0, len(text), 4)]
        pictures = len(self.images_in(inputs))
        used = len(self.text_of(inputs)) // 4 + 1 + 300 * pictures
        return Metered(stream, {"input_token_count": used, "output_token_count": len(stream)})

    @staticmethod
    def text_of(inputs: dict[str, Any]) -> str:
        """The system prompt and the prompt a prediction was given."""
        return "\n".join(str(inputs.get(k) or "") for k in ("system_prompt", "prompt"))

    @staticmethod
    def images_in(inputs: dict[str, Any]) -> list[bytes]:
        """The images a prediction was given (decoded data: URIs), in order."""
        values = [inputs.get("image"), *(inputs.get("images") or [])]
        found = []
        for value in values:
            if isinstance(value, str) and value.startswith("data:"):
                found.append(base64.b64decode(value.split(",", 1)[1]))
        return found


def host_claude(
    fake: FakeReplicate, ref: str = CLAUDE_MODEL, schema: dict[str, Any] | None = None
) -> FakeClaude:
    """Claude as Replicate hosts it, on `fake`: an official public model whose latest
    version has the real input schema, run by a FakeClaude (returned, to script)."""
    claude = FakeClaude(schema)
    fake.add_model(ref, visibility="public", official=True, hardware="cpu")
    fake.add_version(ref, claude.schema)
    fake.set_behaviour(ref, claude)
    return claude
