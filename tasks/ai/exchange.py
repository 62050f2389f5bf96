"""One AI request and its reply, as every backend sees them: the provider-neutral words.

Why: the shared client (tasks.ai.client) asks, re-asks and judges; a backend only sends one
request and returns the text and the tokens it cost. The conversation is kept as role-tagged
messages whose content is text and base64 image blocks (the form tasks.ai.images makes):
Anthropic's API takes it as it is, Replicate's hosted models get it flattened into one prompt
(tasks.ai.replicate_input), and the transcript logs it the same way for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tasks.core.ai_provider import Provider


@dataclass(frozen=True)
class Request:
    """What to ask: the model, the answer's token limit, a system prompt, the messages."""

    model: str
    max_tokens: int
    messages: list[dict[str, Any]]
    system: str | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """The request as the Messages API's keyword arguments (and the transcript's input)."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": self.messages,
        }
        if self.system:
            kwargs["system"] = self.system
        return kwargs


@dataclass(frozen=True)
class Reply:
    """What came back: the answer's text, the tokens it cost, and for the transcript every
    part of the reply (`parts`: text, and other blocks by their kind) and, for a hosted
    model, the prediction that answered."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    parts: tuple[str, ...] = ()
    prediction_id: str | None = None


class Backend(Protocol):
    """Sends one request, one attempt; raises AIError (with the HTTP status when there is
    one) or AIUnreachable. Shared by the threads of a run; holds no secret in its repr."""

    provider: Provider

    def send(self, request: Request) -> Reply: ...
