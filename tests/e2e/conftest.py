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
from tests import helpers
from tests.e2e.new_user import marked_processes

HELLO_MODEL, HELLO_TEST_MODEL = "acme/hello", "acme/hello-test"


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


@pytest.fixture
def hello_fake(monkeypatch, tmp_path):
    """The fake Replicate API running the hello example as acme/hello and acme/hello-test."""
    with helpers.hello_on_fake_replicate(
        monkeypatch, tmp_path, HELLO_MODEL, HELLO_TEST_MODEL
    ) as server:
        yield server


@pytest.fixture
def hello_dir(tmp_path) -> Path:
    """A copy of examples/hello configured for acme/hello."""
    target = helpers.copy_example("hello", tmp_path)
    helpers.set_config(target, model=HELLO_MODEL, test_model=HELLO_TEST_MODEL)
    return target
