"""What the AI was asked and what it answered, as debug log lines (the CLI shows them at -vvv).

Why: an AI verdict can block a push, so a person debugging one must be able to see the exact
request (model, system prompt, every message) and the reply, its tokens and its time. The
client calls `sending` before each request, whichever service it goes to, and `replied` or
`failed` after it.
Pure logic: the standard `logging` module only; whether the lines reach the terminal (or a
Prefect run's logs) is the caller's choice (flows/runtime.py). Every line is scrubbed of
our secrets, and an image is described by type, size and weight, never by its base64.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasks.core.secrets import scrub

log = logging.getLogger(__name__)

TEXT_LIMIT = 20_000  # characters of one text block shown; callers already bound their prompts
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Sent:
    """One request on its way: its number (to pair it with its reply when calls overlap) and
    when it left."""

    number: int
    started: float

    def seconds(self) -> float:
        return time.monotonic() - self.started


def sending(kwargs: Mapping[str, Any], via: str | None = None) -> Sent:
    """Log the request about to be sent (model, max_tokens, system, messages) and, when it
    is not Anthropic's API, the service it goes through."""
    sent = Sent(next(_numbers), time.monotonic())
    if log.isEnabledFor(logging.DEBUG):  # describing images costs a decode: only when shown
        log.debug("%s", scrub(request_text(sent.number, kwargs, via)))
    return sent


def replied(sent: Sent, reply: Any) -> None:
    """Log a reply (a tasks.ai.exchange.Reply, read by duck typing)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    parts = getattr(reply, "parts", ()) or (getattr(reply, "text", ""),)
    text = reply_text(
        sent.number,
        "\n".join(_cut(part) for part in parts),
        int(getattr(reply, "input_tokens", 0) or 0),
        int(getattr(reply, "output_tokens", 0) or 0),
        sent.seconds(),
        getattr(reply, "prediction_id", None),
    )
    log.debug("%s", scrub(text))


def failed(sent: Sent, error: BaseException) -> None:
    """Log a request that got no reply: its HTTP status and error type, or the exception's."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", scrub(failure_text(sent.number, error, sent.seconds())))


# --- formatting (plain data in, text out) -----------------------------------------------


def request_text(number: int, kwargs: Mapping[str, Any], via: str | None = None) -> str:
    """The whole request as readable lines: model, limits, system prompt, each message."""
    model, limit = kwargs.get("model"), kwargs.get("max_tokens")
    where = f" on {via.title()}" if via and via != "anthropic" else ""
    lines = [f"AI request #{number}: model {model}, max_tokens {limit}{where}"]
    system = kwargs.get("system")
    if system:
        lines += ["system:", _indent(_content_text(system))]
    for message in kwargs.get("messages") or []:
        lines += [f"{message.get('role', '?')}:", _indent(_content_text(message.get("content")))]
    return "\n".join(lines)


def reply_text(
    number: int,
    body: str,
    input_tokens: int,
    output_tokens: int,
    seconds: float,
    prediction_id: str | None = None,
) -> str:
    """A reply as readable lines: time, tokens (and the prediction), then what the AI said."""
    by = f", prediction {prediction_id}" if prediction_id else ""
    head = (
        f"AI reply #{number} after {seconds:.2f} s "
        f"({input_tokens} input, {output_tokens} output tokens{by}):"
    )
    return f"{head}\n{_indent(body or '(no text)')}"


def failure_text(number: int, error: BaseException, seconds: float) -> str:
    """A failed call in one line: status and error type when the API answered."""
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(error, "status", None)
    kind, detail = _error_of(getattr(error, "body", None))
    kind = kind or str(getattr(error, "kind", None) or "")
    detail = detail or str(getattr(error, "detail", None) or "")
    name = type(error).__name__
    what = f"{status} {kind or name}" if status is not None else (kind or name)
    said = f" ({detail[:300]})" if detail else ""
    return f"AI request #{number} failed after {seconds:.2f} s: {what}{said}"


def image_summary(block: Mapping[str, Any]) -> str:
    """An image block as "[image: image/png, 512x384, 48 KB]": what the AI saw, not its bytes."""
    source = block.get("source") or {}
    if source.get("type") != "base64":
        return f"[image: {source.get('type', 'unknown')} source {source.get('url', '')}]".strip()
    media = source.get("media_type", "unknown type")
    try:
        data = base64.b64decode(source.get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        return f"[image: {media}, not valid base64]"
    return f"[image: {media}, {_dimensions(data)}{_weight(len(data))}]"


def _content_text(content: Any) -> str:
    """A message's content (a string, or a list of blocks) as text, images summarised."""
    if isinstance(content, str):
        return _cut(content)
    parts = []
    for block in content or []:
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            parts.append(_cut(str(block.get("text", ""))))
        elif kind == "image":
            parts.append(image_summary(block))
        else:
            parts.append(f"[{kind or type(block).__name__} block]")
    return "\n".join(parts)


def _dimensions(data: bytes) -> str:
    """Width x height from the image's header, or nothing when it cannot be read."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except Exception:  # a description must never break the call it describes
        return ""
    return f"{width}x{height}, "


def _weight(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _error_of(body: Any) -> tuple[str, str]:
    """The API's error type and message, from an error body {"error": {"type", "message"}}."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return "", ""
    return str(error.get("type") or ""), str(error.get("message") or "")


def _cut(text: str) -> str:
    if len(text) <= TEXT_LIMIT:
        return text
    return f"{text[:TEXT_LIMIT]}… ({len(text) - TEXT_LIMIT} more characters)"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines() or [""])
