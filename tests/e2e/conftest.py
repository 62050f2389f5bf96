"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import prefect_server
from tests.e2e.new_user import marked_processes


@pytest.fixture
def user(tmp_path) -> Iterator[Path]:
    """A fresh user home whose managed server (if any) is stopped at the end."""
    home = tmp_path / f"user-{uuid.uuid4().hex[:8]}"
    home.mkdir()
    yield home
    prefect_server.stop(prefect_server.server_dir(home / "tool"))
    for pid in marked_processes(home.name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
