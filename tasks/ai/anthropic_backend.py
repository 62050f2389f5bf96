"""Claude through Anthropic's Messages API: one request, one attempt, text and tokens back.

The anthropic SDK reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL itself; the key never
passes through our code. The SDK's own retries are off (max_retries=0): Prefect retries a
request (tasks.core.retry.retried), once. An HTTP error becomes an AIError carrying its
status (429, 529 and 5xx are transient; a 401 fails at once with a clear message).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from tasks.ai.errors import AIError, AIUnreachable
from tasks.ai.exchange import Reply, Request
from tasks.core.ai_provider import Provider, has_secret
from tasks.core.retry import TRANSIENT_STATUS

DEFAULT_MODEL = "claude-sonnet-5-5"


class AnthropicBackend:
    """A lazily built SDK client, shared by the threads of one AI client."""

    provider: Provider = "anthropic"

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows a client (and so never a key)
        return "AnthropicBackend()"

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import anthropic

                if not has_secret("anthropic", os.environ):
                    raise AIError("ANTHROPIC_API_KEY is not set; the AI is not available")
                self._client = anthropic.Anthropic(max_retries=0, timeout=self.timeout)
            return self._client

    def send(self, request: Request) -> Reply:
        import anthropic

        client = self._get_client()
        try:
            response = client.messages.create(**request.as_kwargs())
        except anthropic.APIStatusError as exc:
            kind, detail = _error_of(getattr(exc, "body", None))
            raise AIError(
                _describe_status(exc.status_code, detail or kind or ""),
                status=exc.status_code,
                retry_after=_retry_after(exc),
                kind=kind,
                detail=detail,
            ) from None
        except anthropic.APIConnectionError as exc:
            raise AIUnreachable(
                f"could not reach the Anthropic API ({type(exc).__name__})",
                kind=type(exc).__name__,
            ) from None
        used = getattr(response, "usage", None)
        blocks = list(getattr(response, "content", None) or [])
        return Reply(
            text="".join(
                getattr(block, "text", "")
                for block in blocks
                if getattr(block, "type", "") == "text"
            ),
            input_tokens=int(getattr(used, "input_tokens", 0) or 0),
            output_tokens=int(getattr(used, "output_tokens", 0) or 0),
            parts=tuple(_part(block) for block in blocks),
        )


def _part(block: Any) -> str:
    """A reply block for the transcript: text whole, any other block (thinking) by kind."""
    kind = getattr(block, "type", "")
    if kind == "text":
        return getattr(block, "text", "") or ""
    return f"[{kind or 'unknown'} block]"


def _error_of(body: Any) -> tuple[str | None, str]:
    """The API's error type and message, from an error body {"error": {"type", "message"}}."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    return (str(error.get("type") or "") or None), str(error.get("message") or "")


def _retry_after(exc: Any) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _describe_status(status: int, detail: str) -> str:
    if status == 401:
        return "the Anthropic API rejected the key (401): check ANTHROPIC_API_KEY"
    if status == 403:
        return f"the Anthropic API refused the request (403): {detail}"
    if status == 404:
        return f"the Anthropic API does not know this model or endpoint (404): {detail}"
    if status in TRANSIENT_STATUS:
        return f"the Anthropic API is unavailable or busy ({status}): {detail}"
    return f"the Anthropic API rejected the request ({status}): {detail}"
