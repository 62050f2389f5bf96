"""Claude hosted on Replicate: one request as one prediction of the model, text and tokens back.

Why: with it, CI needs one secret (REPLICATE_API_TOKEN) for the models and the AI checks.
The `replicate` client honours REPLICATE_API_TOKEN and REPLICATE_BASE_URL; the token travels
only in its Authorization header, never in an input. How a request reaches the model:
- the model's input schema is looked up once (GET /v1/models/{owner}/{name}: its latest
  version's OpenAPI Input) and our request is mapped onto it (tasks.ai.replicate_input);
- the prediction is created on the model (POST /v1/models/{owner}/{name}/predictions, as
  official models are run) with `Prefer: wait`, then polled until it ends, within the AI
  client's timeout; one that outlives it, or a run that stops, is canceled;
- the output, an array of text tokens (or a string), is joined; the prediction's metrics
  give the tokens (input_token_count, output_token_count).
One attempt per call: Prefer's wait, the client's own retries (a RetryTransport, replaced by
a plain transport here) and Prefect's retries (tasks.core.retry.retried) would multiply.
An HTTP error keeps its status (429 and 5xx are retried by Prefect; 401 says to check the
token), a prediction the model failed is an AIError that is not retried, and one Replicate
interrupted is transient. One backend serves a run (tasks.ai.client keeps it in the run's
scope), so the schema is read once per run and a stopped run cancels what it has in flight.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tasks.ai.errors import AIError, AIUnreachable
from tasks.ai.exchange import Reply, Request
from tasks.ai.replicate_input import InputFields, input_fields, model_input
from tasks.core.ai_provider import Provider
from tasks.core.errors import UsageError
from tasks.core.refs import split_ref
from tasks.core.retry import TRANSIENT_STATUS, interrupted
from tasks.core.run_scope import current

T = TypeVar("T")

DEFAULT_MODEL = "anthropic/claude-4.5-sonnet"
TOKEN_ENV = "REPLICATE_API_TOKEN"
BASE_URL_ENV = "REPLICATE_BASE_URL"
DEFAULT_BASE_URL = "https://api.replicate.com"
WAIT_SECONDS = 60  # the longest a create may be held open (Prefer: wait=60)
TERMINAL = ("succeeded", "failed", "canceled")


def api_base() -> str:
    return os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL


class ReplicateBackend:
    """A model hosted on Replicate, asked through one `replicate` client; thread-safe."""

    provider: Provider = "replicate"

    def __init__(self, model: str, timeout: float) -> None:
        try:
            self.owner, self.name = split_ref(model, "--ai-model")
        except UsageError as exc:
            raise AIError(f"{exc} (a model hosted on Replicate)") from None
        self.model = model
        self.timeout = timeout
        self._client: Any = None
        self._transport: Any = None
        self._fields: InputFields | None = None
        self._lock = threading.Lock()
        self._lookup = threading.Lock()
        self._inflight: set[str] = set()
        self._heard = threading.local()  # Retry-After of the last error response, per thread

    def __repr__(self) -> str:  # never shows a client (and so never a token)
        return f"ReplicateBackend(model={self.model!r})"

    # -- the client

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx
                import replicate

                token = os.environ.get(TOKEN_ENV, "").strip()
                if not token:
                    raise AIError(f"{TOKEN_ENV} is not set; the AI on Replicate is not available")
                self._transport = httpx.HTTPTransport()
                self._client = replicate.Client(
                    api_token=token,
                    base_url=api_base(),
                    timeout=httpx.Timeout(10.0, read=30.0, write=30.0, connect=10.0, pool=60.0),
                    mounts={"all://": self._transport},  # no hidden retries: see above
                    event_hooks={"response": [self._note_retry_after]},
                )
            return self._client

    def _note_retry_after(self, response: Any) -> None:
        if response.status_code >= 400:
            self._heard.retry_after = _seconds(response.headers.get("Retry-After"))

    # -- the model's inputs

    def fields(self) -> InputFields:
        """Where our request goes in the model's input, from its schema (read once)."""
        with self._lookup:
            if self._fields is None:
                client = self._get_client()
                found = self._call("look up", lambda: client.models.get(self.model))
                version = getattr(found, "latest_version", None)
                schema = getattr(version, "openapi_schema", None) or {}
                self._fields = input_fields(self.model, schema)
            return self._fields

    # -- one request

    def send(self, request: Request) -> Reply:
        fields = self.fields()
        values = model_input(fields, request)
        client = self._get_client()
        deadline = time.monotonic() + self.timeout
        wait = max(1, min(WAIT_SECONDS, int(self.timeout)))
        prediction = self._call(
            "run",
            lambda: client.models.predictions.create(
                model=(self.owner, self.name), input=values, wait=wait
            ),
        )
        with self._lock:
            self._inflight.add(prediction.id)
        try:
            while prediction.status not in TERMINAL:
                if current().stopped():
                    self._cancel(prediction.id)
                    raise AIError(f"the run is stopping: canceled prediction {prediction.id}")
                if time.monotonic() > deadline:
                    self._cancel(prediction.id)
                    raise AIUnreachable(
                        f"{self.model} did not answer within {self.timeout:g} s "
                        f"(prediction {prediction.id}, canceled)",
                        kind="timeout",
                    )
                time.sleep(client.poll_interval)
                self._call("poll", prediction.reload)
        finally:
            with self._lock:
                self._inflight.discard(prediction.id)
        return self._reply(prediction)

    def _reply(self, prediction: Any) -> Reply:
        if prediction.status == "failed":
            error = str(prediction.error or "no error message")
            message = f"{self.model} failed (prediction {prediction.id}): {error[:500]}"
            if interrupted(error):
                raise AIUnreachable(message, kind="interrupted", detail=error[:300])
            raise AIError(message, kind="prediction failed", detail=error[:300])
        if prediction.status == "canceled":
            raise AIError(f"prediction {prediction.id} of {self.model} was canceled")
        output = prediction.output
        if isinstance(output, list):
            text = "".join(str(part) for part in output if part is not None)
        else:
            text = "" if output is None else str(output)
        metrics = prediction.metrics or {}
        return Reply(
            text=text,
            input_tokens=_count(metrics.get("input_token_count")),
            output_tokens=_count(metrics.get("output_token_count")),
            parts=(text,),
            prediction_id=prediction.id,
        )

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """One API call; its failure as an AIError that carries the HTTP status."""
        import httpx
        from replicate.exceptions import ReplicateError

        self._heard.retry_after = None
        try:
            return call()
        except ReplicateError as exc:
            status = exc.status or 0
            detail = str(exc.detail or exc.title or "")[:500]
            raise AIError(
                self._describe(what, status, detail),
                status=status,
                retry_after=getattr(self._heard, "retry_after", None),
                kind=str(exc.title or "") or None,
                detail=detail,
            ) from None
        except httpx.TransportError as exc:  # its text may quote the URL: the name says enough
            raise AIUnreachable(
                f"could not reach Replicate to {what} {self.model} ({type(exc).__name__})",
                kind=type(exc).__name__,
            ) from None

    def _describe(self, what: str, status: int, detail: str) -> str:
        said = f": {detail}" if detail else ""
        if status == 401:
            return f"Replicate rejected the token (401): check {TOKEN_ENV}{said}"
        if status == 404 and what == "look up":
            return f"Replicate has no model {self.model} (404): check --ai-model{said}"
        if status in TRANSIENT_STATUS:
            return f"Replicate is unavailable or busy ({status}) to {what} {self.model}{said}"
        return f"Replicate refused to {what} {self.model} ({status}){said}"

    # -- a run's resource: cancel what is in flight, close at the end

    def _cancel(self, prediction_id: str) -> None:
        # best effort: a prediction left running ends on its own anyway
        with contextlib.suppress(Exception):
            self._get_client().predictions.cancel(prediction_id)

    def cancel_all(self) -> None:
        with self._lock:
            ids = list(self._inflight)
        for prediction_id in ids:
            self._cancel(prediction_id)

    def close(self) -> None:
        with self._lock:
            transport, self._transport, self._client = self._transport, None, None
        if transport is not None:
            transport.close()


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
