"""The flows with the AI: match_prompt checks, AI fuzz generation and AI output comparison,
against the fake Anthropic Messages API (the real anthropic SDK talks HTTP to it)."""

from __future__ import annotations

import json
import re

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.helpers import copy_example, edit, run, set_config, stage

pytestmark = pytest.mark.usefixtures("registry")


def payloads_for(request: dict) -> str:
    """Answer a fuzz batch: as many valid hello payloads as the prompt asks for."""
    text = FakeAnthropic.text_of(request)
    count = int(re.search(r"JSON array of exactly (\d+) objects", text).group(1))
    names = ["Ada", "Grace", "Linus", "Barbara", "Edsger", "Alan", "Frances", "Ken"]
    return json.dumps(
        [{"name": names[i % len(names)], "repeat": 1 + i % 3, "seed": i} for i in range(count)]
    )


def answer(request: dict) -> str:
    text = FakeAnthropic.text_of(request)
    if "JSON array of exactly" in text:
        return payloads_for(request)
    if "Grace" in text:
        return json.dumps({"verdict": "no", "reason": "the greeting is not in French"})
    return json.dumps({"verdict": "yes", "reason": "it is a greeting"})


@pytest.fixture
def fake_ai(fake_anthropic: FakeAnthropic) -> FakeAnthropic:
    fake_anthropic.default(answer)
    return fake_anthropic


@pytest.fixture
def hello(tmp_path):
    return copy_example("hello", tmp_path)


def test_match_prompt_and_ai_fuzzing_through_the_flow(hello, fake_ai):
    set_config(
        hello,
        predict={
            "test_cases": [{"inputs": {"name": "Ada"}, "match_prompt": "a friendly greeting"}],
            "fuzz": {"iterations": 20},
        },
    )
    code, report = run(hello, "--fuzz-batch-size", "10")
    assert code == 0, report
    fuzz_calls = [r for r in fake_ai.requests if "JSON array of exactly" in fake_ai.text_of(r)]
    assert len(fuzz_calls) == 2  # 20 inputs in batches of 10
    assert len(stage(report, "fuzz")["predictions"]) == 20
    check_calls = [r for r in fake_ai.requests if "a friendly greeting" in fake_ai.text_of(r)]
    assert check_calls and "Hello, Ada!" in fake_ai.text_of(check_calls[0])
    assert report["ai_usage"]["calls"] == len(fake_ai.requests)
    assert report["ai_usage"]["input_tokens"] > 0


def test_a_no_from_the_ai_is_re_asked_and_fails_with_its_reason(hello, fake_ai):
    set_config(
        hello,
        predict={"test_cases": [{"inputs": {"name": "Grace"}, "match_prompt": "French"}]},
    )
    code, report = run(hello, "--fuzz-generator", "schema")
    assert code == 1
    case = stage(report, "test cases")["predictions"][0]
    assert case["verdict"] == "failed" and "not in French" in case["message"]
    # a NO is asked again: two NOs are already the majority of three
    assert len([r for r in fake_ai.requests if "French" in fake_ai.text_of(r)]) == 2


def test_match_prompt_without_a_key_is_a_usage_error_before_anything_runs(hello, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    set_config(hello, predict={"test_cases": [{"inputs": {}, "match_prompt": "a greeting"}]})
    code, _ = run(hello)
    assert code == 2


def test_unseeded_string_outputs_are_judged_by_the_ai(hello, fake_ai):
    set_config(hello, predict={"fuzz": {"iterations": 0}})
    assert run(hello, "--fuzz-generator", "schema")[0] == 0
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello there"')
    code, report = run(hello, "--fuzz-generator", "schema", "--fuzz-disabled-inputs", "seed")
    compare = stage(report, "compare outputs")
    assert "seed" not in compare["predictions"][0]["inputs"]
    asked = [r for r in fake_ai.requests if "Hello there" in fake_ai.text_of(r)]
    assert asked, "the AI was not asked to compare the two outputs"
    assert code == 0 and compare["status"] == "passed"
