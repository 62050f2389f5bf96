"""The fuzz-input Prefect task: a rerun replays cached inputs without asking the AI again."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

from tasks.core.errors import UsageError
from tasks.fuzz.request import FuzzRequest
from tasks.fuzz.validate import validate_payload
from tasks.fuzz_inputs import fuzz_task
from tests.fakes.anthropic_server import FakeAnthropic

SCHEMA = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "x-order": 0, "description": "Text"},
        "repeat": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1, "x-order": 1},
        "mode": {"enum": ["same", "upper"], "type": "string", "default": "same", "x-order": 2},
    },
}


@pytest.fixture(scope="module", autouse=True)
def prefect_storage() -> Iterator[Path]:
    """Results (and so cache entries) in a directory of this module's own.

    The Prefect API itself is the session's test server from conftest.py (one real server
    for the whole run); starting prefect_test_harness here as well would only add a second.
    """
    with (
        tempfile.TemporaryDirectory() as directory,
        temporary_settings({PREFECT_LOCAL_STORAGE_PATH: directory}),
    ):
        yield Path(directory)


@pytest.fixture
def fake(fake_anthropic: FakeAnthropic) -> FakeAnthropic:
    fake_anthropic.default(writer)
    return fake_anthropic


def writer(body: dict[str, Any]) -> str:
    text = FakeAnthropic.text_of(body)
    count = int(re.search(r"Generate (\d+) different", text).group(1))
    done = len(re.findall(r'^\{"', text, flags=re.MULTILINE))
    return json.dumps([{"text": f"hello {done + i}", "repeat": 9} for i in range(count)])


@flow(name="fuzz-cache-test")
def fuzz_flow(refresh: bool = False, **settings: Any) -> Any:
    options: dict[str, Any] = {
        "input_schema": SCHEMA,
        "iterations": 6,
        "generator": "ai",
        "batch_size": 3,
    }
    options.update(settings)
    state = fuzz_task(refresh)(FuzzRequest(**options), return_state=True)
    return state.name, state.result()


def test_rerun_replays_ai_inputs_without_calling_the_ai(fake: FakeAnthropic, prefect_storage: Path):
    name, first = fuzz_flow(prompt="rerun test")
    assert name == "Completed" and len(fake.requests) == 2  # 6 inputs, batches of 3
    assert all(validate_payload(p, SCHEMA) == [] for p in first)
    assert all(p["repeat"] == 5 for p in first)  # repaired before caching
    name, again = fuzz_flow(prompt="rerun test")
    assert name == "Cached"
    assert again == first
    assert len(fake.requests) == 2  # no new AI call
    assert any(path.name.startswith("fuzz-inputs-") for path in prefect_storage.rglob("*"))


def test_refresh_asks_again_and_settings_change_the_key(fake: FakeAnthropic):
    fuzz_flow(prompt="refresh test")
    assert len(fake.requests) == 2
    name, _ = fuzz_flow(refresh=True, prompt="refresh test")
    assert name == "Completed" and len(fake.requests) == 4
    name, _ = fuzz_flow(prompt="refresh test", disabled=["mode"])
    assert name == "Completed" and len(fake.requests) == 6
    name, _ = fuzz_flow(prompt="refresh test", iterations=3)
    assert name == "Completed" and len(fake.requests) == 7


def test_schema_generator_is_cached_only_with_a_seed():
    name, first = fuzz_flow(generator="schema", seed=7, iterations=10)
    assert name == "Completed" and len(first) == 10
    name, again = fuzz_flow(generator="schema", seed=7, iterations=10)
    assert name == "Cached" and again == first
    name, unseeded = fuzz_flow(generator="schema", iterations=10)
    name_again, unseeded_again = fuzz_flow(generator="schema", iterations=10)
    assert name == name_again == "Completed"
    assert unseeded != unseeded_again


def test_cache_key_covers_every_setting():
    base = FuzzRequest(input_schema=SCHEMA, iterations=6, generator="ai")
    key = base.cache_material()
    assert key is not None
    changed = {
        "input_schema": {**SCHEMA, "required": []},
        "iterations": 7,
        "fixed": {"mode": "upper"},
        "disabled": ["mode"],
        "prompt": "p",
        "seed": 1,
        "batch_size": 5,
        "ai_model": "claude-x",
    }
    for field, value in changed.items():
        assert replace(base, **{field: value}).cache_material() != key, field
    assert replace(base, generator="schema").cache_material() is None  # unseeded schema runs
    assert replace(base, generator="schema", seed=1).cache_material() != key
    # The same schema inside an OpenAPI document is the same cache entry.
    document = {"components": {"schemas": {"Input": SCHEMA}}}
    assert replace(base, input_schema=document).cache_material() == key


def test_ai_generator_without_a_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        fuzz_flow(prompt="no key")
