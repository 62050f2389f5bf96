"""Building the `replicate` client so that nothing retries behind our back.

Three things the client cannot be asked for directly, done through public httpx options it
passes on to its `httpx.AsyncClient`:
- No hidden retries. `replicate.Client` wraps its transport in a RetryTransport (up to ten
  attempts on 429/503/504), which multiplied with ours. A plain transport mounted for every
  URL (`mounts`) takes its place, so tasks.platforms.replicate.calls is the one retry layer.
- Cancel-After. The client's create methods send no extra headers; a request hook adds the
  header to the POST made while `noting(cancel_after=...)` is active in the current task.
- Retry-After. ReplicateError keeps a response's status and body but not its headers; a
  response hook notes Retry-After for the call that is running.
Only the client's async methods are used: the hooks are coroutines.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import httpx
import replicate

from tasks.core.errors import UsageError
from tasks.platforms.replicate.errors import TOKEN_ENV, parse_retry_after

DEFAULT_BASE_URL = "https://api.replicate.com"
TIMEOUT = httpx.Timeout(10.0, read=30.0, write=30.0, connect=10.0, pool=60.0)


@dataclass
class CallNotes:
    """What one API call sends beyond the client's own request, and what it heard back."""

    cancel_after: str | None = None
    retry_after: float | None = None


_NOTES: ContextVar[CallNotes | None] = ContextVar("replicate_call_notes", default=None)


@contextlib.contextmanager
def noting(cancel_after: str | None = None) -> Iterator[CallNotes]:
    """Notes for the calls made inside the block (by this task and the tasks it starts)."""
    notes = CallNotes(cancel_after=cancel_after)
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


async def _on_request(request: httpx.Request) -> None:
    notes = _NOTES.get()
    if notes is not None and notes.cancel_after and request.method == "POST":
        request.headers["Cancel-After"] = notes.cancel_after


async def _on_response(response: httpx.Response) -> None:
    notes = _NOTES.get()
    if notes is not None and response.status_code >= 400:
        notes.retry_after = parse_retry_after(response.headers.get("Retry-After"))


def read_token() -> str:
    """The API token from the environment; a usage error (exit 2) when it is missing."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            f"{TOKEN_ENV} is not set; create a token at "
            "https://replicate.com/account/api-tokens (or use --platform local)"
        )
    return token


def api_base(base_url: str | None) -> str:
    """The API's base URL as the client will use it."""
    return base_url or os.environ.get("REPLICATE_BASE_URL") or DEFAULT_BASE_URL


def build_client(base_url: str | None) -> tuple[replicate.Client, httpx.AsyncHTTPTransport]:
    """A client for the async API and the transport it uses (closed by the caller)."""
    transport = httpx.AsyncHTTPTransport()
    client = replicate.Client(
        api_token=read_token(),
        base_url=api_base(base_url),
        timeout=TIMEOUT,
        mounts={"all://": transport},
        event_hooks={"request": [_on_request], "response": [_on_response]},
    )
    return client, transport
