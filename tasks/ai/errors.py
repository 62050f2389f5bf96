"""The AI's errors: a request that got no usable answer, and one that got no answer at all.

Their own module so that the provider-neutral client and each backend raise the same classes
without importing each other. `status` lets tasks.core.retry tell a transient failure (429,
5xx, overload) from a refusal; `kind` and `detail` are the service's error type and message,
for the transcript of a failed request (tasks.ai.transcript).
"""

from __future__ import annotations

from tasks.core.errors import SafePushError, TransientError
from tasks.core.secrets import scrub


class AIError(SafePushError):
    """The AI could not give a usable answer. `status` lets tasks.core.retry classify it,
    `retry_after` is the wait a 429 or 529 asked for."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        kind: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(scrub(message))
        self.status = status
        self.retry_after = retry_after
        self.kind = kind
        self.detail = scrub(detail) if detail else detail

    def __reduce__(self) -> tuple:
        return (_rebuild, (type(self), str(self), self.status, self.retry_after, self.kind))


class AIUnreachable(AIError, TransientError):
    """The request never got an answer (connection refused, reset, timed out): transient."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        kind: str | None = None,
        detail: str | None = None,
    ) -> None:
        AIError.__init__(self, message, status, retry_after, kind=kind, detail=detail)


def _rebuild(
    cls: type[AIError], message: str, status: int | None, retry: float | None, kind: str | None
) -> AIError:
    """Unpickling (Prefect stores a failed task's exception): keyword-only fields included."""
    return cls(message, status, retry, kind=kind)
