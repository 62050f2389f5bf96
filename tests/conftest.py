"""Test session setup: an isolated Prefect home and one real Prefect server for the session.

Settings go into the environment before any test module imports Prefect, so that every flow
in the session (in-process or in a subprocess) talks to the same local server, and nothing
touches the developer's ~/.prefect or ~/.cache.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
from pathlib import Path

import pytest

from tests.prefect_server import free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
SESSION_DIR = Path(tempfile.mkdtemp(prefix="cog-safe-push-tests-"))


PREFECT_PORT = free_port()
os.environ.update(
    {
        "PREFECT_HOME": str(SESSION_DIR / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",
        "PREFECT_LOCAL_STORAGE_PATH": str(SESSION_DIR / "prefect" / "storage"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
        "COG_SAFE_PUSH_HOME": str(SESSION_DIR / "registry"),
        # Prefect's task retries wait 0.05, 0.1, 0.2, 0.4 s instead of 1, 2, 4, 8 s
        "COG_SAFE_PUSH_RETRY_DELAY": "0.05",
    }
)
for secret in (
    "REPLICATE_API_TOKEN",
    "ANTHROPIC_API_KEY",
    "REPLICATE_BASE_URL",
    "ANTHROPIC_BASE_URL",
):
    os.environ.pop(secret, None)
# No AI unless a test asks for one (the fake_anthropic fixture, or a test hosting Claude on the
# fake Replicate): on the replicate platform a token alone would otherwise be the AI
# (tasks.core.ai_provider), and a test of something else would spend predictions on it.
os.environ["COG_SAFE_PUSH_AI_PROVIDER"] = "none"
# The CI job that runs these tests sets CI, which makes a run without a token and without
# --platform refuse to start (tasks.platforms.resolve_spec); the tests that need CI set it.
os.environ.pop("CI", None)
# coglet starts its worker with `python` from PATH: make it this interpreter.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    """A real `prefect server start` (SQLite, 127.0.0.1, a free port) for the whole session."""
    url, stop = start_server(PREFECT_PORT, SESSION_DIR / "prefect-server.log")
    # Stopped at interpreter exit, after Prefect's own exit hooks (registered later, so run
    # earlier) have sent their last logs: otherwise they would find the server gone.
    atexit.register(stop, False)
    yield url


@pytest.fixture
def fake_anthropic(monkeypatch):
    """The fake Anthropic Messages API, with the SDK's environment pointed at it."""
    from tasks.ai import client as ai
    from tests.fakes.anthropic_server import FakeAnthropic, env_for

    with FakeAnthropic() as server:
        for key, value in env_for(server).items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("COG_SAFE_PUSH_AI_PROVIDER")  # the default rule: the key decides
        ai.reset_usage()
        yield server


@pytest.fixture
def registry(tmp_path, monkeypatch) -> Path:
    """A fresh local-platform registry for one test."""
    path = tmp_path / "registry"
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(path))
    return path


@pytest.fixture
def outputs_in_tmp(tmp_path, monkeypatch) -> Path:
    """Files a test makes in tmp_path count as the tool's own outputs: output files are only
    read inside the tool's home (tasks.outputs.files.trusted_roots)."""
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def world(tmp_path, monkeypatch):
    """The in-memory fake platform (tests/fakes/platform.py), registered as kind "fake"."""
    from tests.fakes.platform import FakeWorld, install

    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(tmp_path / "home"))
    return install(FakeWorld())
