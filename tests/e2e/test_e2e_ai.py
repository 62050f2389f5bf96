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
    code, report = run(hello, "--fuzz-batch-size", "5")
    assert code == 0, report
    fuzz_calls = [r for r in fake_ai.requests if "JSON array of exactly" in fake_ai.text_of(r)]
    # half of the 20 iterations are edge cases; the AI writes the other 10, 5 per request
    assert len(fuzz_calls) == 2
    predictions = stage(report, "fuzz")["predictions"]
    assert len(predictions) == 20
    assert sum(p["label"].startswith("edge ") for p in predictions) == 10
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


def test_varying_outputs_beyond_live_variation_are_judged_by_the_ai(hello, fake_ai):
    """The live version varies (a random tag), so its own variation is the yardstick; the
    new greeting is further from live than that, so the AI is asked, and says yes."""
    edit(hello / "predict.py", "from cog import", "import random\n\nfrom cog import")
    edit(
        hello / "predict.py",
        'return " ".join([line] * repeat)',
        'return " ".join([line] * repeat) + " #" + str(random.randrange(10**6, 10**7))',
    )
    set_config(hello, predict={"fuzz": {"iterations": 0}})
    assert run(hello, "--fuzz-generator", "schema")[0] == 0
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Greetings and welcome"')
    code, report = run(hello, "--fuzz-generator", "schema")
    compare = stage(report, "compare outputs")
    asked = [r for r in fake_ai.requests if "Greetings and welcome" in fake_ai.text_of(r)]
    assert asked, "the AI was not asked to compare the two outputs"
    assert code == 0 and compare["status"] == "passed", report
    assert all("the AI judged" in p["message"] for p in compare["predictions"])


def test_a_live_version_that_repeats_itself_is_matched_exactly_without_the_ai(hello, fake_ai):
    """No seed anywhere: the live version still gives the same greeting twice, so the new
    greeting is a mismatch, and the AI, which would have said yes, is never asked."""
    set_config(hello, predict={"fuzz": {"iterations": 0}})
    assert run(hello, "--fuzz-generator", "schema")[0] == 0
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello there"')
    code, report = run(hello, "--fuzz-generator", "schema", "--fuzz-disabled-inputs", "seed")
    assert code == 1
    assert "gives this text every time" in stage(report, "compare outputs")["error"]
    assert not [r for r in fake_ai.requests if "Hello there" in fake_ai.text_of(r)]
