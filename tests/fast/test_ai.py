"""tasks.ai.client against the fake Anthropic Messages API (a real HTTP server, the real SDK)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prefect import flow

import tasks.retrying  # noqa: F401 - installs the retry layer of AI requests
from tasks.ai import client as ai_mod
from tasks.ai.client import AI, AIError
from tasks.core.retry import STAGE_RETRIES, is_transient
from tests.fakes.anthropic_server import FakeAnthropic, env_for
from tests.helpers import gradient, make_image, task_run_histories

pytestmark = pytest.mark.usefixtures("outputs_in_tmp")


@pytest.fixture
def fake(fake_anthropic: FakeAnthropic) -> FakeAnthropic:
    return fake_anthropic


def quick(**kwargs: object) -> AI:
    return AI(**kwargs)  # type: ignore[arg-type]


def in_flow(call: Callable[[], Any]) -> tuple[Any, str]:
    """`call()` inside a Prefect flow run, where each AI request is a task run that Prefect
    retries (tasks.retrying; the session's retry delay is 0.05 s): (its value or the
    exception it raised, the flow run's id)."""

    @flow(name="ai request test")
    def run() -> Any:
        try:
            return call()
        except AIError as exc:
            return exc

    state = run(return_state=True)
    return state.result(), str(state.state_details.flow_run_id)


def test_ai_available_follows_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert not ai_mod.ai_available("anthropic")
    assert ai_mod.make_ai(None, "anthropic") is None
    with pytest.raises(AIError, match="ANTHROPIC_API_KEY is not set"):
        AI().ask("hello")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "  ")
    assert not ai_mod.ai_available("anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert ai_mod.ai_available("anthropic")
    assert not ai_mod.ai_available(None) and ai_mod.make_ai(None, None) is None


def test_ask_returns_text_and_ignores_thinking(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropic(thinking=True) as server:
        for key, value in env_for(server).items():
            monkeypatch.setenv(key, value)
        server.reply("hello there")
        assert quick().ask("say hello", system="be brief") == "hello there"
        body = server.requests[0]
        assert body["model"] == ai_mod.DEFAULT_MODEL
        assert body["max_tokens"] == 4096
        assert body["system"] == "be brief"
        assert body["messages"][0]["content"][-1] == {"type": "text", "text": "say hello"}


def test_model_and_max_tokens_are_configurable(fake: FakeAnthropic) -> None:
    fake.reply("x")
    quick(model="claude-haiku-4-5", max_tokens=99).ask("q")
    assert fake.requests[0]["model"] == "claude-haiku-4-5"
    assert fake.requests[0]["max_tokens"] == 99
    assert "system" not in fake.requests[0]


def test_images_attached_from_files_and_bytes(fake: FakeAnthropic, tmp_path: Path) -> None:
    png = make_image(tmp_path / "a.png", gradient())
    jpeg = make_image(tmp_path / "b.jpg", gradient(shift=40))
    webp = make_image(tmp_path / "c.webp", gradient(shift=80))
    tiff = make_image(tmp_path / "d.tiff", gradient(shift=120))
    fake.reply("seen")
    quick().ask("describe", images=[png, jpeg, webp, png.read_bytes(), tiff])
    body = fake.requests[0]
    assert FakeAnthropic.images_in(body) == 5
    blocks = body["messages"][0]["content"]
    media = [b["source"]["media_type"] for b in blocks if b["type"] == "image"]
    # TIFF is not accepted by the API, so it is re-encoded as PNG.
    assert media == ["image/png", "image/jpeg", "image/webp", "image/png", "image/png"]
    assert base64.b64decode(blocks[0]["source"]["data"]) == png.read_bytes()
    assert blocks[-1]["type"] == "text"  # the question comes after the images


def test_unreadable_image_is_a_clear_error(fake: FakeAnthropic, tmp_path: Path) -> None:
    bogus = tmp_path / "x.png"
    bogus.write_bytes(b"not an image")
    with pytest.raises(AIError, match="cannot attach x.png"):
        quick().ask("q", images=[bogus])
    assert fake.requests == []


def test_ask_json_plain_and_fenced(fake: FakeAnthropic) -> None:
    fake.reply('{"a": 1}', 'Here you go:\n```json\n{"b": [1, 2]}\n```\n')
    assert quick().ask_json("q") == {"a": 1}
    assert quick().ask_json("q") == {"b": [1, 2]}


def test_ask_json_reasks_with_the_problem(fake: FakeAnthropic) -> None:
    fake.reply("{not json", '{"ok": true}')
    assert quick().ask_json("give json") == {"ok": True}
    assert len(fake.requests) == 2
    second = fake.requests[1]["messages"]
    assert second[1] == {"role": "assistant", "content": "{not json"}
    assert "not valid JSON" in second[2]["content"]


def test_ask_json_check_failure_is_reasked(fake: FakeAnthropic) -> None:
    def check(value: object) -> None:
        if not isinstance(value, list):
            raise ValueError("expected a list of inputs")

    fake.reply('{"a": 1}', "[1]")
    assert quick().ask_json("q", check=check) == [1]
    assert "expected a list of inputs" in fake.requests[1]["messages"][2]["content"]


def test_ask_json_gives_up_after_bounded_reasks(fake: FakeAnthropic) -> None:
    fake.default("still not json")
    with pytest.raises(AIError, match="after 3 attempts") as info:
        quick(max_reasks=2).ask_json("q")
    assert len(fake.requests) == 3
    assert info.value.status is None
    assert not is_transient(info.value)


def test_ask_yes_no(fake: FakeAnthropic) -> None:
    fake.reply(
        '{"verdict": "YES", "reason": "a cat"}',
        '{"verdict": "maybe", "reason": "?"}',
        '{"verdict": "no", "reason": "a dog"}',
    )
    assert quick().ask_yes_no("cat?") == (True, "a cat")
    assert quick().ask_yes_no("cat?") == (False, "a dog")  # "maybe" was re-asked
    assert len(fake.requests) == 3
    assert '"verdict"' in FakeAnthropic.text_of(fake.requests[0])


@pytest.mark.parametrize(
    ("answers", "expected", "calls"),
    [
        (["yes", "yes"], True, 2),
        (["no", "no"], False, 2),
        (["no", "yes", "yes"], True, 3),
        (["yes", "no", "no"], False, 3),  # a first YES alone does not pass
        (["no", "yes", "no"], False, 3),
    ],
)
def test_majority_of_three(
    fake: FakeAnthropic, answers: list[str], expected: bool, calls: int
) -> None:
    fake.reply(*[json.dumps({"verdict": a, "reason": f"r{i}"}) for i, a in enumerate(answers)])
    verdict, reason = quick().ask_yes_no_majority("ok?")
    assert verdict is expected
    assert reason.startswith("r")
    assert len(fake.requests) == calls


@pytest.mark.parametrize("status", [529, 429, 500, 503])
def test_transient_statuses_are_retried_by_prefect(fake: FakeAnthropic, status: int) -> None:
    fake.fail_next(status, 2)
    fake.reply("finally")
    value, run_id = in_flow(lambda: quick().ask("q"))
    assert value == "finally"
    assert len(fake.requests) == 3
    [history] = task_run_histories(run_id, "ai request")
    assert history[-1] == "Completed"
    assert history.count("AwaitingRetry") == 2 and history.count("Retrying") == 2


@pytest.mark.parametrize("status", [401, 400, 403, 404])
def test_never_retries_client_errors(fake: FakeAnthropic, status: int) -> None:
    fake.fail_next(status, 5)
    value, run_id = in_flow(lambda: quick().ask("q"))
    assert isinstance(value, AIError)
    assert len(fake.requests) == 1
    assert value.status == status
    assert not is_transient(value)
    assert "test-key" not in str(value)
    [history] = task_run_histories(run_id, "ai request")
    assert history[-1] == "Failed" and "AwaitingRetry" not in history


def test_retries_are_bounded_and_classified_transient(fake: FakeAnthropic) -> None:
    fake.fail_next(529, 10)
    value, run_id = in_flow(lambda: quick().ask("q"))
    assert isinstance(value, AIError) and value.status == 529
    assert len(fake.requests) == 1 + STAGE_RETRIES
    assert is_transient(value)
    [history] = task_run_histories(run_id, "ai request")
    assert history.count("Retrying") == STAGE_RETRIES and history[-1] == "Failed"


def test_outside_a_run_a_request_makes_one_attempt(fake: FakeAnthropic) -> None:
    """No Prefect run, no retry layer: pure code on its own never loops by hand."""
    fake.fail_next(529, 1)
    with pytest.raises(AIError, match="529"):
        quick().ask("q")
    assert len(fake.requests) == 1


def test_retry_after_header_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropic(retry_after="0.6") as server:
        for key, value in env_for(server).items():
            monkeypatch.setenv(key, value)
        server.fail_next(429)
        import time

        start = time.monotonic()
        value, _ = in_flow(lambda: quick().ask("q"))
        assert value == "ok"
        assert time.monotonic() - start >= 0.6  # not the session's 0.05 s delay


def test_connection_errors_are_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropic() as server:
        url = server.url
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)  # nothing listens there any more
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-closed")
    value, run_id = in_flow(lambda: quick().ask("q"))
    assert isinstance(value, AIError) and "could not reach" in str(value)
    assert is_transient(value)
    [history] = task_run_histories(run_id, "ai request")
    assert history.count("Retrying") == STAGE_RETRIES


def test_usage_is_summed_across_threads(fake: FakeAnthropic) -> None:
    fake.default("twelve chars")
    client = quick()
    threads = [threading.Thread(target=client.ask, args=(f"q{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = ai_mod.usage()
    assert total.calls == 8
    assert total.input_tokens == sum(r["usage"]["input_tokens"] for r in fake.responses)
    assert total.output_tokens == sum(r["usage"]["output_tokens"] for r in fake.responses)
    assert total.to_dict() == {
        "calls": 8,
        "input_tokens": total.input_tokens,
        "output_tokens": total.output_tokens,
        "predictions": 0,  # Anthropic's API runs no prediction
        "provider": "anthropic",
        "model": ai_mod.DEFAULT_MODEL,
    }
    ai_mod.reset_usage()
    assert ai_mod.usage().calls == 0


def test_failed_calls_do_not_count_as_usage(fake: FakeAnthropic) -> None:
    fake.fail_next(401)
    with pytest.raises(AIError):
        quick().ask("q")
    assert ai_mod.usage().calls == 0


def test_key_is_scrubbed_from_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    err = AIError("upstream said: bad key sk-ant-very-secret")
    assert "sk-ant-very-secret" not in str(err)
    assert "***" in str(err)
    assert "secret" not in repr(AI())


def test_parse_json_is_strict() -> None:
    assert ai_mod.parse_json(" [1, 2] ") == [1, 2]
    assert ai_mod.parse_json('```\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(ValueError):
        ai_mod.parse_json('The answer is {"a": 1}')
    with pytest.raises(ValueError):
        ai_mod.parse_json("```json\n{'a': 1}\n```")
