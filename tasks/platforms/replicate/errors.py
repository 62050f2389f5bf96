"""Turning a failed API call into the tool's errors: usage, transient (retry), or refusal.

The `replicate` client raises ReplicateError (RFC 7807 status/title/detail) for HTTP errors
and lets httpx's transport errors through. Both become one SafePushError whose message is
built from those fields only and scrubbed of secrets: the HTTP layer's exceptions carry the
request and its Authorization header, so they are never chained into ours.

A transient error also says whether the request certainly never reached Replicate (`unsent`:
connect errors, an exhausted connection pool). Only then, or on HTTP 429, may a paid create be
sent again without first looking for the run it may have started.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from replicate.exceptions import ReplicateError

from tasks.core.errors import PlatformError, SafePushError, TransientError, UsageError
from tasks.core.retry import TRANSIENT_STATUS
from tasks.core.secrets import scrub

TOKEN_ENV = "REPLICATE_API_TOKEN"
MAX_RETRY_AFTER = 60.0
# Raised before a single byte of the request left this machine.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ReplicateAPIError(PlatformError):
    """A non-transient refusal from the API; `status` lets callers tell 403 from 404/422."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.status))


class ReplicateTransientError(TransientError):
    """A failure worth another try. `status` is the HTTP status (None for a network error);
    `unsent` is True when the request certainly never reached the server."""

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        status: int | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status
        self.unsent = unsent

    @property
    def refused(self) -> bool:
        """Nothing was started: safe to send a create again as it is."""
        return self.unsent or self.status == 429

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.retry_after, self.status, self.unsent))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), capped; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - time.time()))


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
        return ReplicateTransientError(message, retry_after=retry_after, status=status)
    return ReplicateAPIError(message, status)


def map_exception(
    exc: BaseException, what: str, retry_after: float | None = None
) -> SafePushError | None:
    """The tool's error for an exception of the client or httpx; None when it is neither
    (a bug of ours, or a cancellation, which must propagate as it is)."""
    if isinstance(exc, SafePushError):
        return exc
    if isinstance(exc, ReplicateError):
        title = scrub(str(exc.title)) if exc.title else None
        detail = scrub(str(exc.detail)[:500]) if exc.detail else None
        return error_for(exc.status or 0, title, detail, what, retry_after)
    if isinstance(exc, httpx.TransportError):
        # The class name says what happened; the text of some httpx errors quotes the URL.
        message = scrub(f"Replicate API {what} failed: {type(exc).__name__}")
        return ReplicateTransientError(message, unsent=isinstance(exc, UNSENT))
    return None
