"""Which failures are retried: transient trouble only, never a failed check or a 4xx."""

from __future__ import annotations

import httpx
import pytest

from tasks.core.errors import CheckFailed, TransientError, UsageError
from tasks.core.retry import is_transient


class _HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retried(status):
    assert is_transient(_HTTPError(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_never_retried(status):
    assert not is_transient(_HTTPError(status))


@pytest.mark.parametrize(
    "exc",
    [
        TransientError("slow down", retry_after=2),
        ConnectionResetError("reset by peer"),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectError("refused"),
    ],
)
def test_connection_trouble_is_retried(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [CheckFailed("outputs differ"), UsageError("bad"), ValueError("x")])
def test_results_and_bugs_are_not_retried(exc):
    assert not is_transient(exc)
