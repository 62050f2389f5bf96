"""The `replicate` platform: models, versions, predictions, trainings and deployments on
Replicate through the `replicate` client, and pushes through the `cog` CLI.

Why it looks the way it does:
- Money. Predictions are created with `Prefer: wait` (most finish inside the held request:
  one API call), then polled with a backing-off interval; a run past its timeout is canceled
  on Replicate, and every create also carries `Cancel-After` so Replicate stops it even if
  this process dies. `cancel_all()` cancels whatever is still in flight.
- Rate limits. Creates go through a limiter (600 per minute by default) whatever `parallel` is.
- Retries. Idempotent calls (reads, cancels, PATCHes) retry transient failures here with
  backoff and jitter; a create raises TransientError instead, so that the caller's Prefect
  task decides (a create retried blindly could start a second paid prediction).
  A 429 on a create is retried here: the request was refused, nothing was started.
- Outputs. Replicate deletes API outputs after an hour, so files are downloaded as soon as a
  run ends and replaced by file:// URLs; streamed text is joined into one string.
- Secrets. The token is read from REPLICATE_API_TOKEN when the client is built and never
  stored elsewhere; error messages are built from status/title/detail and scrubbed, and
  exceptions from the HTTP layer (whose requests carry the Authorization header) are never
  chained into ours.

All HTTP runs as coroutines of the client's async API on one event loop owned by the
platform (a background thread); the synchronous protocol methods submit to it, so many
concurrent predictions cost one thread, and cancellation can reach them from any thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import math
import mimetypes
import os
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import replicate
from replicate.helpers import async_encode_json

from tasks.core import openapi
from tasks.core.errors import PlatformError, SafePushError, TransientError, UsageError
from tasks.core.home import tool_home
from tasks.core.platform_data import (
    DeploymentSpec,
    ModelInfo,
    PlatformSpec,
    PushOptions,
    RunResult,
    VersionInfo,
)
from tasks.platforms.replicate import cog_cli
from tasks.platforms.replicate.rate_limit import RateLimiter

T = TypeVar("T")
RunKind = Literal["predictions", "trainings"]
RetryPolicy = Literal["read", "refused", "none"]

TOKEN_ENV = "REPLICATE_API_TOKEN"
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_PREFER_WAIT = 60  # Replicate holds a request at most 60 s
# We ask for less: while Replicate holds a create request we do not know the prediction's id,
# so a run that must stop (--fail-fast, Ctrl-C, SIGTERM) cannot cancel it until the hold ends.
PREFER_WAIT_CAP = 10
MIN_CANCEL_AFTER = 5  # Replicate's minimum Cancel-After
POLL_START = 0.25
POLL_CAP = 5.0
READ_ATTEMPTS = 6
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0
CPU_INSTANCES = (1, 20)
GPU_INSTANCES = (0, 2)


class ReplicateAPIError(PlatformError):
    """A non-transient refusal from the API; `status` lets callers tell 403 from 404/422."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.status))


# ---- pure helpers -----------------------------------------------------------------------


def split_ref(ref: str) -> tuple[str, str]:
    """ "owner/name" -> (owner, name); anything else is a usage error."""
    owner, sep, name = ref.partition("/")
    if not sep or not owner or not name or "/" in name or ":" in name:
        raise UsageError(f"model name {ref!r} is not of the form owner/name")
    return owner, name


def prefer_wait(timeout: float) -> int:
    """Seconds to ask Replicate to hold a create request (1..PREFER_WAIT_CAP, never beyond
    the timeout): one request for a quick prediction, and a bounded blind spot for cancels."""
    return max(1, min(PREFER_WAIT_CAP, MAX_PREFER_WAIT, math.ceil(timeout)))


def cancel_after(timeout: float) -> str:
    """The Cancel-After header value for a run allowed `timeout` seconds."""
    return f"{max(MIN_CANCEL_AFTER, math.ceil(timeout))}s"


def poll_delays(start: float = POLL_START, cap: float = POLL_CAP) -> list[float]:
    """The first few polling intervals (for docs and tests); doubling up to `cap`."""
    delays, delay = [], start
    while delay < cap:
        delays.append(delay)
        delay *= 2
    return [*delays, cap]


def backoff(
    attempt: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Delay before retry number `attempt` (1-based): exponential with jitter, or Retry-After."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, 60.0)
    base = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
    return base * (0.5 + (rng or random).random())


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def scrub(text: str, secret: str | None) -> str:
    """Remove the token from any text that could reach a log, report or exception."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def error_for(
    status: int,
    title: str | None,
    detail: str | None,
    what: str,
    retry_after: float | None = None,
) -> SafePushError:
    """Map an HTTP error of the API to the tool's error classes."""
    summary = " ".join(p for p in (f"HTTP {status}", title) if p)
    message = f"Replicate API {what} failed ({summary})" + (f": {detail}" if detail else "")
    if status == 401:
        return UsageError(
            f"{TOKEN_ENV} was rejected by Replicate ({summary}); check the token"
            + (f": {detail}" if detail else "")
        )
    if status in TRANSIENT_STATUS:
        err = TransientError(message, retry_after=retry_after)
        err.status = status  # type: ignore[attr-defined]
        return err
    return ReplicateAPIError(message, status)


def default_instances(hardware: str) -> tuple[int, int]:
    """Min/max instances of a new deployment: a warm CPU pool, a scale-to-zero GPU one."""
    return CPU_INSTANCES if hardware == "cpu" else GPU_INSTANCES


def web_url(run: dict[str, Any]) -> str | None:
    urls = run.get("urls") or {}
    if urls.get("web"):
        return str(urls["web"])
    return f"https://replicate.com/p/{run['id']}" if run.get("id") else None


def _variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    subs = [schema]
    for key in ("anyOf", "allOf", "oneOf"):
        subs += [s for s in schema.get(key) or [] if isinstance(s, dict)]
    return subs


def is_concatenated_stream(schema: dict[str, Any] | None) -> bool:
    """Cog's streaming text output: an iterator of strings displayed concatenated."""
    return bool(
        schema
        and schema.get("type") == "array"
        and schema.get("x-cog-array-type") == "iterator"
        and schema.get("x-cog-array-display") == "concatenate"
    )


def join_stream(output: Any, schema: dict[str, Any] | None) -> Any:
    if (
        is_concatenated_stream(schema)
        and isinstance(output, list)
        and all(isinstance(part, str) for part in output)
    ):
        return "".join(output)
    return output


def _file_slot(schema: dict[str, Any] | None) -> bool | None:
    """True: the schema says file (format uri); False: it says something else; None: unknown."""
    if not schema:
        return None
    variants = _variants(schema)
    if any(v.get("format") == "uri" for v in variants):
        return True
    if any("type" in v or "format" in v or "enum" in v for v in variants):
        return False
    return None


def _child_schema(schema: dict[str, Any] | None, key: str | int) -> dict[str, Any] | None:
    if not schema:
        return None
    for variant in _variants(schema):
        if isinstance(key, int) and isinstance(variant.get("items"), dict):
            return variant["items"]
        if isinstance(key, str):
            props = variant.get("properties") or {}
            if isinstance(props.get(key), dict):
                return props[key]
            extra = variant.get("additionalProperties")
            if isinstance(extra, dict):
                return extra
    return None


def collect_file_urls(output: Any, schema: dict[str, Any] | None) -> list[str]:
    """File URLs (http(s) and data:) in an output, guided by the Output schema where it speaks.

    A string the schema types as plain text is never a file, even when it looks like a URL.
    """
    found: list[str] = []

    def walk(value: Any, sub: dict[str, Any] | None) -> None:
        if isinstance(value, str):
            slot = _file_slot(sub)
            looks = value.startswith(("http://", "https://", "data:"))
            if looks and slot is not False and value not in found:
                found.append(value)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, _child_schema(sub, i))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, _child_schema(sub, key))

    walk(output, schema)
    return found


def replace_urls(output: Any, mapping: dict[str, str]) -> Any:
    if isinstance(output, str):
        return mapping.get(output, output)
    if isinstance(output, list):
        return [replace_urls(v, mapping) for v in output]
    if isinstance(output, dict):
        return {k: replace_urls(v, mapping) for k, v in output.items()}
    return output


def file_name_for(url: str, index: int) -> str:
    """A safe local file name for an output URL (keeps the extension: it tells the media)."""
    if url.startswith("data:"):
        mime = url[5:].split(";", 1)[0].split(",", 1)[0]
        ext = mimetypes.guess_extension(mime or "") or ".bin"
        return f"output-{index}{ext}"
    path = urllib.parse.unquote(urllib.parse.urlparse(url).path)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(path)).strip("._")
    return name or f"output-{index}"


def decode_data_uri(uri: str) -> bytes:
    header, _, payload = uri.partition(",")
    if header.endswith(";base64"):
        try:
            return base64.b64decode(payload)
        except binascii.Error as exc:
            raise PlatformError(f"output data URI is not valid base64: {exc}") from None
    return urllib.parse.unquote_to_bytes(payload)


def prepare_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """file:// URLs become Paths, which the client sends as data URIs (Replicate can't read
    our disk)."""

    def convert(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("file://"):
            return Path(urllib.parse.unquote(urllib.parse.urlparse(value).path))
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in inputs.items()}


def _version_info(data: dict[str, Any]) -> VersionInfo:
    schema = data.get("openapi_schema") or {}
    document = openapi.dereference(schema) if isinstance(schema, dict) else {}
    created = data.get("created_at")
    return VersionInfo(id=str(data["id"]), openapi_schema=document, created_at=created)


def _model_info(data: dict[str, Any]) -> ModelInfo:
    latest = data.get("latest_version") or {}
    return ModelInfo(
        owner=data["owner"],
        name=data["name"],
        visibility=data.get("visibility") or "private",
        hardware=data.get("hardware"),
        latest_version_id=latest.get("id"),
        url=data.get("url"),
    )


# ---- the platform -----------------------------------------------------------------------


class ReplicatePlatform:
    """The platform protocol on Replicate. One instance per process and spec."""

    def __init__(
        self,
        spec: PlatformSpec,
        *,
        rate_limiter: RateLimiter | None = None,
        outputs_dir: str | Path | None = None,
    ) -> None:
        self.spec = spec
        self.limiter = rate_limiter or RateLimiter()
        self._outputs_dir = Path(outputs_dir) if outputs_dir else None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: replicate.Client | None = None
        self._downloader: httpx.AsyncClient | None = None
        self._versions: dict[str, VersionInfo] = {}
        self._model_scoped: set[str] = set()
        self._ensured: set[str] = set()
        self._inflight: dict[str, RunKind] = {}
        self._stopping = False  # set by cancel_all: every run still going is canceled

    # ---- plumbing --------------------------------------------------------------------

    @staticmethod
    def _token() -> str:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise UsageError(
                f"{TOKEN_ENV} is not set; create a token at "
                "https://replicate.com/account/api-tokens (or use --platform local)"
            )
        return token

    def _api_client(self) -> replicate.Client:
        if self._client is None:
            self._client = replicate.Client(
                api_token=self._token(),
                base_url=self.spec.base_url or None,
                timeout=httpx.Timeout(10.0, read=30.0, write=30.0, connect=10.0, pool=60.0),
            )
        return self._client

    def _files_client(self) -> httpx.AsyncClient:
        # A separate client without the Authorization header: file URLs live on other hosts.
        if self._downloader is None:
            self._downloader = httpx.AsyncClient(
                timeout=httpx.Timeout(30.0, read=300.0), follow_redirects=True
            )
        return self._downloader

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._loop_main, args=(loop,), name="replicate-platform", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _loop_main(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the platform loop and wait; an interrupt cancels it there."""
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    async def _api(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy = "read",
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One API call through the client's async HTTP stack, errors mapped to ours.

        retry="read": transient failures are retried (idempotent calls); "refused": only
        429s are (nothing was started); "none": nothing is. Statuses in `allow` are
        returned to the caller rather than raised.
        """
        client = self._api_client()
        token = self._token()
        http = client._async_client
        what = f"{method} {path}"
        attempt = 0
        while True:
            attempt += 1
            error: SafePushError
            try:
                kwargs: dict[str, Any] = {"headers": headers}
                if body is not None:
                    kwargs["json"] = body
                if timeout is not None:
                    kwargs["timeout"] = timeout
                response = await http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                error = TransientError(
                    scrub(f"Replicate API {what} failed: {type(exc).__name__}: {exc}", token)
                )
            else:
                if response.status_code < 400 or response.status_code in allow:
                    return response
                error = self._http_error(response, what, token)
            retryable = isinstance(error, TransientError) and (
                retry == "read" or (retry == "refused" and getattr(error, "status", None) == 429)
            )
            if not retryable or attempt >= READ_ATTEMPTS:
                raise error
            await asyncio.sleep(backoff(attempt, getattr(error, "retry_after", None)))

    @staticmethod
    def _http_error(response: httpx.Response, what: str, token: str) -> SafePushError:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        title = data.get("title")
        detail = data.get("detail") or (None if data else response.text[:300] or None)
        error = error_for(
            response.status_code,
            scrub(str(title), token) if title else None,
            scrub(str(detail), token) if detail else None,
            what,
            parse_retry_after(response.headers.get("Retry-After")),
        )
        return error

    # ---- accounts, models, versions ------------------------------------------------------

    def check_credentials(self) -> None:
        """Fail early (exit 2) on a missing or rejected token, before any side effect."""
        self._token()
        try:
            self._run(self._api("GET", "/v1/account"))
        except ReplicateAPIError as exc:
            if exc.status == 403:
                raise UsageError(f"{TOKEN_ENV} was rejected by Replicate (HTTP 403)") from None
            raise

    def get_model(self, ref: str) -> ModelInfo | None:
        return self._run(self._get_model(ref))

    async def _get_model_json(self, ref: str) -> dict[str, Any] | None:
        owner, name = split_ref(ref)
        response = await self._api("GET", f"/v1/models/{owner}/{name}", allow=(404,))
        return None if response.status_code == 404 else response.json()

    async def _get_model(self, ref: str) -> ModelInfo | None:
        data = await self._get_model_json(ref)
        return None if data is None else _model_info(data)

    def create_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        return self._run(self._create_model(ref, hardware, private))

    async def _create_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        owner, name = split_ref(ref)
        if not hardware:
            raise UsageError(
                f"model {ref} does not exist and no hardware was given to create it "
                "(set test_hardware / destination_hardware)"
            )
        body = {
            "owner": owner,
            "name": name,
            "visibility": "private" if private else "public",
            "hardware": hardware,
        }
        # Retrying is safe: a create that did land shows up as 409 and is fetched instead.
        response = await self._api("POST", "/v1/models", body=body, allow=(409,))
        if response.status_code == 409:
            existing = await self._get_model(ref)
            if existing is None:
                raise ReplicateAPIError(
                    f"Replicate says model {ref} exists but cannot read it", 409
                )
            return existing
        self._ensured.add(ref)
        return _model_info(response.json())

    def ensure_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        """The model, created (private, on `hardware`) when missing."""
        return self._run(self._ensure_model(ref, hardware, private))

    async def _ensure_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        found = await self._get_model(ref)
        if found is None:
            found = await self._create_model(ref, hardware, private)
        self._ensured.add(ref)
        return found

    def latest_version(self, ref: str) -> VersionInfo | None:
        return self._run(self._latest_version(ref))

    async def _latest_version(self, ref: str) -> VersionInfo | None:
        owner, name = split_ref(ref)
        response = await self._api("GET", f"/v1/models/{owner}/{name}/versions", allow=(404,))
        if response.status_code == 404:
            # Official models don't list versions: use the model's latest_version and
            # model-scoped predictions.
            model = await self._get_model_json(ref)
            if model is None or not model.get("latest_version"):
                return None
            self._model_scoped.add(ref)
            info = _version_info(model["latest_version"])
        else:
            results = response.json().get("results") or []
            if not results:
                return None
            info = _version_info(results[0])  # the first page lists the newest first
        self._versions[info.id] = info
        return info

    def get_version(self, ref: str, version_id: str) -> VersionInfo:
        return self._run(self._get_version(ref, version_id))

    async def _get_version(self, ref: str, version_id: str) -> VersionInfo:
        cached = self._versions.get(version_id)
        if cached is not None:
            return cached
        owner, name = split_ref(ref)
        response = await self._api(
            "GET", f"/v1/models/{owner}/{name}/versions/{version_id}", allow=(404,)
        )
        if response.status_code == 404:
            model = await self._get_model_json(ref)
            latest = (model or {}).get("latest_version") or {}
            if latest.get("id") != version_id:
                raise UsageError(f"version {version_id} of {ref} does not exist on Replicate")
            self._model_scoped.add(ref)
            info = _version_info(latest)
        else:
            info = _version_info(response.json())
        self._versions[version_id] = info
        return info

    # ---- push ------------------------------------------------------------------------------

    def push(self, ref: str, cog_dir: str, options: PushOptions) -> str:
        split_ref(ref)
        return cog_cli.push(
            cog_cli.image_name(ref), cog_dir, options, stream=self.spec.verbosity >= 1
        )

    # ---- predictions and trainings ---------------------------------------------------------

    def predict(
        self, ref: str, version_id: str, inputs: dict[str, Any], timeout: float
    ) -> RunResult:
        return self._run(self._predict(ref, version_id, inputs, timeout))

    async def _encode(self, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            return await async_encode_json(
                prepare_inputs(inputs), self._api_client(), file_encoding_strategy="base64"
            )
        except OSError as exc:
            raise UsageError(f"cannot read input file: {exc}") from None

    async def _predict(
        self, ref: str, version_id: str, inputs: dict[str, Any], timeout: float
    ) -> RunResult:
        owner, name = split_ref(ref)
        info = await self._get_version(ref, version_id)
        payload = await self._encode(inputs)
        if ref in self._model_scoped:
            path, body = f"/v1/models/{owner}/{name}/predictions", {"input": payload}
        else:
            path, body = "/v1/predictions", {"version": version_id, "input": payload}
        wait = prefer_wait(timeout)
        headers = {"Prefer": f"wait={wait}", "Cancel-After": cancel_after(timeout)}
        await self.limiter.async_acquire()
        started = time.monotonic()
        response = await self._create(
            "predictions",
            path,
            body=body,
            headers=headers,
            # The server holds the request up to `wait` s: never time out before it answers,
            # or a retry would start a second prediction.
            timeout=httpx.Timeout(10.0, read=wait + 15.0),
        )
        if response.status_code == 422:
            return self._rejected(response)
        schema = openapi.output_schema(info.openapi_schema)
        return await self._follow("predictions", response.json(), started, timeout, schema)

    def train(
        self,
        ref: str,
        version_id: str,
        destination: str,
        inputs: dict[str, Any],
        timeout: float,
        destination_hardware: str = "cpu",
    ) -> RunResult:
        """Train `ref:version_id` into `destination`, which is created when missing."""
        return self._run(
            self._train(ref, version_id, destination, inputs, timeout, destination_hardware)
        )

    async def _train(
        self,
        ref: str,
        version_id: str,
        destination: str,
        inputs: dict[str, Any],
        timeout: float,
        destination_hardware: str,
    ) -> RunResult:
        owner, name = split_ref(ref)
        split_ref(destination)
        info = await self._get_version(ref, version_id)
        if destination not in self._ensured:
            await self._ensure_model(destination, destination_hardware)
        payload = await self._encode(inputs)
        await self.limiter.async_acquire()
        started = time.monotonic()
        response = await self._create(
            "trainings",
            f"/v1/models/{owner}/{name}/versions/{version_id}/trainings",
            body={"destination": destination, "input": payload},
            headers={"Cancel-After": cancel_after(timeout)},
        )
        if response.status_code == 422:
            return self._rejected(response)
        schema = openapi.output_schema(info.openapi_schema, train=True)
        return await self._follow("trainings", response.json(), started, timeout, schema)

    async def _create(
        self,
        kind: RunKind,
        path: str,
        *,
        body: dict[str, Any],
        headers: dict[str, str],
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """POST a new run. If we are stopped while the request is held, let it answer, then
        cancel the run it created: an interrupted create must not leave a paid run behind."""
        extra = {"timeout": timeout} if timeout is not None else {}
        create = asyncio.ensure_future(
            self._api(
                "POST", path, body=body, headers=headers, retry="refused", allow=(422,), **extra
            )
        )
        try:
            return await asyncio.shield(create)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                data = (await asyncio.wait_for(create, PREFER_WAIT_CAP + 15)).json()
                if data.get("id") and data.get("status") not in TERMINAL:
                    await self._cancel_remote(kind, str(data["id"]))
            raise

    def _rejected(self, response: httpx.Response) -> RunResult:
        """HTTP 422 on a create: the inputs failed validation. A result, like a model error."""
        error = self._http_error(response, "create", self._token())
        return RunResult(id="", status="failed", error=str(error))

    async def _follow(
        self,
        kind: RunKind,
        data: dict[str, Any],
        started: float,
        timeout: float,
        schema: dict[str, Any] | None,
    ) -> RunResult:
        """Poll a run to its end (backing off), cancel it past the deadline, fetch outputs."""
        run_id = str(data["id"])
        with self._lock:
            self._inflight[run_id] = kind
        timed_out = False
        try:
            interval = POLL_START
            while data.get("status") not in TERMINAL:
                if self._stopping:
                    data = await self._cancel_remote(kind, run_id) or data
                    break
                remaining = started + timeout - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    data = await self._cancel_remote(kind, run_id) or data
                    break
                await asyncio.sleep(min(interval, remaining))
                interval = min(interval * 2, POLL_CAP)
                if time.monotonic() - started >= timeout:
                    continue  # deadline passed while asleep: cancel rather than poll
                data = (await self._api("GET", f"/v1/{kind}/{run_id}")).json()
        except BaseException:
            # Abandoned (interrupt, or polling failed for good): stop paying for it.
            await asyncio.shield(self._cancel_remote(kind, run_id))
            raise
        finally:
            with self._lock:
                self._inflight.pop(run_id, None)
        return await self._result(kind, data, started, timeout, schema, timed_out)

    async def _result(
        self,
        kind: RunKind,
        data: dict[str, Any],
        started: float,
        timeout: float,
        schema: dict[str, Any] | None,
        timed_out: bool,
    ) -> RunResult:
        run_id = str(data["id"])
        status = str(data.get("status"))
        remote = data.get("output")
        output = remote
        error = data.get("error")
        if status == "succeeded":
            output = await self._localize(run_id, join_stream(remote, schema), schema)
        elif status == "failed":
            pass  # it failed on its own before the deadline caught it: that is the verdict
        elif timed_out or status not in TERMINAL:
            status = "timeout"
            noun = "prediction" if kind == "predictions" else "training"
            error = f"{noun} {run_id} did not finish within {timeout:g}s and was canceled"
        token = self._token()
        return RunResult(
            id=run_id,
            status=status,  # type: ignore[arg-type]
            output=output,
            remote_output=remote,
            error=scrub(str(error), token) if error else None,
            logs=scrub(str(data.get("logs") or ""), token),
            seconds=round(time.monotonic() - started, 3),
            url=web_url(data),
            metrics=dict(data.get("metrics") or {}),
        )

    async def _cancel_remote(self, kind: RunKind, run_id: str) -> dict[str, Any] | None:
        """Cancel a run on Replicate; best effort (the run may have ended meanwhile)."""
        try:
            response = await self._api("POST", f"/v1/{kind}/{run_id}/cancel", allow=(404, 409))
        except (SafePushError, OSError):
            return None
        if response.status_code >= 400:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    # ---- outputs ---------------------------------------------------------------------------

    def outputs_root(self) -> Path:
        return self._outputs_dir or tool_home() / "replicate-outputs"

    async def _localize(self, run_id: str, output: Any, schema: dict[str, Any] | None) -> Any:
        urls = collect_file_urls(output, schema)
        if not urls:
            return output
        folder = self.outputs_root() / run_id
        folder.mkdir(parents=True, exist_ok=True)
        names: list[str] = []
        for index, url in enumerate(urls):
            name = file_name_for(url, index)
            names.append(name if name not in names else f"{index}-{name}")
        paths = await asyncio.gather(
            *(self._download(url, folder / name) for url, name in zip(urls, names, strict=True))
        )
        return replace_urls(
            output, {u: p.resolve().as_uri() for u, p in zip(urls, paths, strict=True)}
        )

    async def _download(self, url: str, target: Path) -> Path:
        if target.exists() and target.stat().st_size > 0:
            return target  # same run, same file: already here
        if url.startswith("data:"):
            data = decode_data_uri(url)
            self._write(target, data)
            return target
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                response = await self._files_client().get(url)
            except httpx.TransportError as exc:
                failure: SafePushError = TransientError(
                    f"downloading output {url} failed: {type(exc).__name__}"
                )
            else:
                if response.status_code < 400:
                    self._write(target, response.content)
                    return target
                status = response.status_code
                if status not in TRANSIENT_STATUS:
                    raise PlatformError(f"downloading output {url} failed: HTTP {status}")
                failure = TransientError(f"downloading output {url} failed: HTTP {status}")
            if attempt == READ_ATTEMPTS:
                raise failure
            await asyncio.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        partial.replace(target)

    # ---- deployments -----------------------------------------------------------------------

    def upsert_deployment(self, deployment: DeploymentSpec, ref: str, version_id: str) -> None:
        self._run(self._upsert_deployment(deployment, ref, version_id))

    async def _upsert_deployment(
        self, deployment: DeploymentSpec, ref: str, version_id: str
    ) -> dict[str, Any]:
        split_ref(ref)
        path = f"/v1/deployments/{deployment.owner}/{deployment.name}"
        response = await self._api("GET", path, allow=(404,))
        if response.status_code != 404:
            patched = await self._api("PATCH", path, body={"version": version_id})
            return patched.json()
        low, high = default_instances(deployment.hardware)
        body = {
            "name": deployment.name,
            "model": ref,
            "version": version_id,
            "hardware": deployment.hardware,
            "min_instances": low if deployment.min_instances is None else deployment.min_instances,
            "max_instances": high if deployment.max_instances is None else deployment.max_instances,
        }
        created = await self._api("POST", "/v1/deployments", body=body, retry="refused")
        return created.json()

    # ---- lifecycle -------------------------------------------------------------------------

    def inflight(self) -> list[str]:
        with self._lock:
            return list(self._inflight)

    def cancel_all(self) -> None:
        """Cancel every run this process started that is still running (early exit).

        Runs whose create is still being held are canceled as soon as their id is known."""
        with self._lock:
            self._stopping = True
            runs = list(self._inflight.items())
            loop = self._loop
        if not runs or loop is None or loop.is_closed():
            return

        async def cancel_each() -> None:
            await asyncio.gather(
                *(self._cancel_remote(kind, run_id) for run_id, kind in runs),
                return_exceptions=True,
            )

        with contextlib.suppress(Exception):  # best effort on the way out
            self._run(cancel_each(), timeout=60)

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return

        async def shutdown() -> None:
            # Runs still being followed end now (their callers get CancelledError, and each
            # cancels its prediction on Replicate); nothing is left waiting on a dead loop.
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=PREFER_WAIT_CAP + 20)
            if self._client is not None:
                with contextlib.suppress(Exception):
                    await self._client._async_client.aclose()
            if self._downloader is not None:
                await self._downloader.aclose()

        with contextlib.suppress(Exception):  # closing must not mask the run's outcome
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(PREFER_WAIT_CAP + 40)
        self._client = None
        self._downloader = None
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)
        loop.close()
