"""Claude through Replicate: a request mapped onto the hosted model's own input schema
(tasks.ai.replicate_input, pure), and sent as a prediction through the real `replicate`
client to the fake Replicate API hosting a fake Claude (tasks.ai.replicate_backend)."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from prefect import flow

import tasks.retrying  # noqa: F401 - installs the retry layer of AI requests
from tasks.ai import client as ai_mod
from tasks.ai.client import AI, AIError
from tasks.ai.exchange import Request
from tasks.ai.images import MAX_DATA_URI_BYTES, Picture, image_block, within
from tasks.ai.replicate_input import InputFields, flatten, input_fields, model_input
from tasks.core.retry import is_transient
from tasks.core.run_scope import run_scope
from tests.fakes.replicate_server import CLAUDE_MODEL, FakeClaude, FakeReplicate, claude_schema
from tests.fakes.replicate_server import host_claude as host
from tests.helpers import CANARY, gradient, make_image, task_run_histories

pytestmark = pytest.mark.usefixtures("outputs_in_tmp")

CREATE = "/v1/models/{owner}/{name}/predictions"
LOOKUP = "/v1/models/{owner}/{name}"


def png(width: int = 64, height: int = 48, shift: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(gradient(width, height, shift)).save(buf, format="PNG")
    return buf.getvalue()


def request(*messages: dict[str, Any], system: str | None = None, tokens: int = 4096) -> Request:
    return Request(model=CLAUDE_MODEL, max_tokens=tokens, messages=list(messages), system=system)


def user(text: str, *images: bytes) -> dict[str, Any]:
    blocks = [image_block(Picture(data, "image/png")) for data in images]
    return {"role": "user", "content": [*blocks, {"type": "text", "text": text}]}


def decoded(uri: str) -> Image.Image:
    assert uri.startswith("data:image/")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


# --- the schema mapping (pure) ---------------------------------------------------------------


def test_the_fields_of_replicates_claude_are_found_in_its_schema():
    fields = input_fields(CLAUDE_MODEL, claude_schema())
    assert fields == InputFields(
        model=CLAUDE_MODEL,
        prompt="prompt",
        system="system_prompt",
        max_tokens="max_tokens",
        token_bounds=(1024, 64000),
        image="image",
        images=None,
    )
    several = input_fields("acme/vlm", claude_schema(image=False, images=True))
    assert several.image is None and several.images == "images"
    haiku = input_fields("anthropic/claude-4.5-haiku", claude_schema(image=False))
    assert haiku.image is None and haiku.images is None


def test_other_names_and_shapes_are_found_by_what_they_are():
    doc = claude_schema(image=False)
    props = doc["components"]["schemas"]["Input"]["properties"]
    props["question"] = props.pop("prompt")
    props["system"] = props.pop("system_prompt")
    props["max_new_tokens"] = {"type": "integer", "maximum": 2048}
    del props["max_tokens"]
    props["input_image_1"] = {"type": "string", "format": "uri"}
    fields = input_fields("acme/other", doc)
    assert (fields.prompt, fields.system, fields.max_tokens) == (
        "question",
        "system",
        "max_new_tokens",
    )
    assert fields.token_bounds == (None, 2048) and fields.image == "input_image_1"


def test_a_model_without_a_prompt_is_refused_clearly():
    doc = claude_schema()
    del doc["components"]["schemas"]["Input"]["properties"]["prompt"]
    with pytest.raises(AIError, match=r"acme/painter has no prompt input \(its inputs: ") as info:
        input_fields("acme/painter", doc)
    assert "anthropic/claude-4.5-sonnet" in str(info.value)  # what to choose instead
    assert not is_transient(info.value)
    with pytest.raises(AIError, match="publishes no input schema"):
        input_fields("acme/empty", {})


def test_prompt_system_and_max_tokens_go_where_the_schema_says():
    fields = input_fields(CLAUDE_MODEL, claude_schema())
    values = model_input(fields, request(user("Is this a cat?"), system="Be brief.", tokens=100))
    assert values == {"prompt": "Is this a cat?", "system_prompt": "Be brief.", "max_tokens": 1024}
    no_system = InputFields(model="acme/x", prompt="prompt", max_tokens="max_tokens")
    values = model_input(no_system, request(user("Q?"), system="Be brief.", tokens=100_000))
    assert values == {"prompt": "Be brief.\n\nQ?", "max_tokens": 100_000}  # no bound: as asked


def test_one_image_goes_in_the_image_field_as_a_data_uri():
    fields = input_fields(CLAUDE_MODEL, claude_schema())
    picture = png()
    values = model_input(fields, request(user("What is this?", picture)))
    assert values["prompt"] == "What is this?"
    assert values["image"] == f"data:image/png;base64,{base64.b64encode(picture).decode()}"


def test_several_images_for_one_image_field_become_one_labelled_picture():
    fields = input_fields(CLAUDE_MODEL, claude_schema())
    left, right = png(64, 48), png(80, 48, shift=90)
    values = model_input(fields, request(user("Are these alike?", left, right)))
    combined = decoded(values["image"])
    assert combined.width >= 64 + 80 and combined.height > 48  # side by side, labels above
    assert combined.getpixel((5, combined.height - 5)) != combined.getpixel(
        (combined.width - 5, combined.height - 5)
    )
    assert values["prompt"].startswith("The 2 images this question refers to are attached as")
    assert '"image 1" (the leftmost) is the first image' in values["prompt"]
    assert values["prompt"].endswith("Are these alike?")


def test_several_images_for_a_list_field_stay_apart():
    fields = input_fields("acme/vlm", claude_schema(image=False, images=True))
    values = model_input(fields, request(user("Alike?", png(), png(shift=50))))
    assert len(values["images"]) == 2 and values["prompt"] == "Alike?"
    assert decoded(values["images"][1]).size == (64, 48)


def test_an_image_for_a_model_without_image_input_is_refused():
    fields = input_fields("anthropic/claude-4.5-haiku", claude_schema(image=False))
    with pytest.raises(AIError, match="takes no image, and this question shows 1"):
        model_input(fields, request(user("What is this?", png())))


def test_a_big_image_is_made_small_enough_for_a_data_uri():
    pixels = np.random.default_rng(3).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)
    noisy = Image.fromarray(pixels)
    buf = io.BytesIO()
    noisy.save(buf, format="PNG")
    assert len(buf.getvalue()) > MAX_DATA_URI_BYTES
    small = within(Picture(buf.getvalue(), "image/png"))
    assert len(small.data) <= MAX_DATA_URI_BYTES and small.media == "image/jpeg"


def test_a_conversation_is_flattened_into_one_prompt():
    text, pictures = flatten(
        [
            user("Give JSON.", png()),
            {"role": "assistant", "content": "{not json"},
            {"role": "user", "content": "That answer could not be used: bad. Reply again."},
        ]
    )
    assert len(pictures) == 1
    assert text.startswith("Our conversation so far, turn by turn. Reply to my last message")
    assert (
        text.index("--- my message ---\nGive JSON.")
        < text.index("--- your answer ---\n{not json")
        < text.index("--- my message ---\nThat answer could not be used")
    )
    assert flatten([user("Just one.")]) == ("Just one.", [])


# --- the backend, through the real client and the fake Replicate -----------------------------


@pytest.fixture
def replicate(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReplicate]:
    with FakeReplicate(token=CANARY) as server:
        monkeypatch.setenv("REPLICATE_API_TOKEN", CANARY)
        monkeypatch.setenv("REPLICATE_BASE_URL", server.url)
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        monkeypatch.delenv("COG_SAFE_PUSH_AI_PROVIDER", raising=False)
        ai_mod.reset_usage()
        yield server


@pytest.fixture
def claude(replicate: FakeReplicate) -> FakeClaude:
    return host(replicate)


def hosted(**kwargs: Any) -> AI:
    return AI(provider="replicate", **kwargs)


def in_flow(call: Callable[[], Any]) -> tuple[Any, str]:
    @flow(name="replicate ai request test")
    def run() -> Any:
        try:
            return call()
        except AIError as exc:
            return exc

    state = run(return_state=True)
    return state.result(), str(state.state_details.flow_run_id)


def test_a_question_is_one_prediction_of_the_hosted_model(replicate, claude):
    claude.reply("A greeting, yes.")
    ai = hosted()
    assert ai.model == CLAUDE_MODEL  # the default hosted Claude
    assert ai.ask("Is 'Hello' a greeting?", system="Answer in one line.") == "A greeting, yes."
    [sent] = claude.requests
    assert sent == {
        "prompt": "Is 'Hello' a greeting?",
        "system_prompt": "Answer in one line.",
        "max_tokens": 4096,
    }
    assert replicate.count("POST", CREATE) == 1 and replicate.count("GET", LOOKUP) == 1
    create = next(r for r in replicate.requests if r["pattern"] == CREATE)
    assert create["prefer"].startswith("wait") and create["authorized"]
    [run] = replicate.runs_of("prediction")
    assert run.model == CLAUDE_MODEL and run.output == ["A gr", "eeti", "ng, ", "yes."]
    ai.ask("Again?")
    assert replicate.count("GET", LOOKUP) == 1  # the schema is read once


def test_usage_counts_predictions_and_tokens_from_their_metrics(replicate, claude):
    claude.default("yes")
    hosted().ask("one")
    hosted(model=CLAUDE_MODEL).ask("two")
    total = ai_mod.usage()
    runs = replicate.runs_of("prediction")
    assert total.to_dict() == {
        "calls": 2,
        "input_tokens": sum(r.metrics["input_token_count"] for r in runs),
        "output_tokens": sum(r.metrics["output_token_count"] for r in runs),
        "predictions": 2,
        "provider": "replicate",
        "model": CLAUDE_MODEL,
    }
    assert total.input_tokens > 0 and total.output_tokens == 2  # "yes" is one token, twice


def test_json_reasks_are_sent_as_one_flattened_prompt(replicate, claude):
    claude.reply("{not json", '{"ok": true}')
    assert hosted().ask_json("Give JSON.") == {"ok": True}
    first, second = (r["prompt"] for r in claude.requests)
    assert first == "Give JSON."
    assert "--- your answer ---\n{not json" in second and "not valid JSON" in second


def test_majority_of_three_through_replicate(replicate, claude):
    votes = ["no", "yes", "yes"]  # a split: the third call decides
    claude.reply(*[json.dumps({"verdict": v, "reason": f"r{i}"}) for i, v in enumerate(votes)])
    assert hosted().ask_yes_no_majority("Is it fine?") == (True, "r2")
    assert len(claude.requests) == 3


def test_the_comparison_judge_sees_both_images_in_one(replicate, claude, tmp_path):
    old = make_image(tmp_path / "old.png", gradient(64, 48))
    new = make_image(tmp_path / "new.png", gradient(64, 48, shift=120))
    claude.reply(json.dumps({"verdict": "yes", "reason": "same"}))
    hosted().ask_yes_no("The first image is ...; the second is ...", images=[old, new])
    [sent] = claude.requests
    [picture] = FakeClaude.images_in(sent)
    assert Image.open(io.BytesIO(picture)).width > 2 * 64
    assert "side by side" in sent["prompt"]


def test_no_secret_is_sent_to_the_model_and_the_token_only_authorizes(
    replicate, claude, monkeypatch
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-also-secret")
    claude.reply("noted")
    hosted().ask(f"The output said {CANARY} and sk-ant-also-secret", system=f"sys {CANARY}")
    dumped = json.dumps(claude.requests)
    assert CANARY not in dumped and "sk-ant-also-secret" not in dumped
    assert "The output said *** and ***" in dumped
    assert all(r["authorized"] for r in replicate.requests)
    assert CANARY not in repr(hosted())


def test_a_rejected_token_says_which_secret_to_check(replicate, claude, monkeypatch):
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_wrong_token_value")
    value, run_id = in_flow(lambda: hosted().ask("q"))
    assert isinstance(value, AIError) and value.status == 401
    assert "check REPLICATE_API_TOKEN" in str(value) and "r8_wrong" not in str(value)
    assert not is_transient(value)
    [history] = task_run_histories(run_id, "ai request")
    assert history[-1] == "Failed" and "AwaitingRetry" not in history
    assert claude.requests == []


def test_an_unknown_model_is_named(replicate, claude):
    with pytest.raises(AIError, match=r"Replicate has no model anthropic/claude-9 \(404\)"):
        hosted(model="anthropic/claude-9").ask("q")


@pytest.mark.parametrize("status", ["429", "503"])
def test_transient_statuses_are_retried_by_prefect(replicate, claude, status):
    replicate.fail_next("POST", CREATE, status, status)
    claude.reply("finally")
    value, run_id = in_flow(lambda: hosted().ask("q"))
    assert value == "finally"
    assert replicate.count("POST", CREATE) == 3 and len(claude.requests) == 1
    [history] = task_run_histories(run_id, "ai request")
    assert history.count("Retrying") == 2 and history[-1] == "Completed"


def test_a_prediction_the_model_failed_is_not_retried(replicate, claude):
    claude.fail_next("prompt is too long: 250000 tokens > 200000 maximum")
    value, run_id = in_flow(lambda: hosted().ask("q"))
    assert isinstance(value, AIError) and not is_transient(value)
    assert "prompt is too long" in str(value) and CLAUDE_MODEL in str(value)
    assert len(claude.requests) == 1
    [history] = task_run_histories(run_id, "ai request")
    assert "AwaitingRetry" not in history


def test_a_prediction_replicate_interrupted_is_retried(replicate, claude):
    claude.fail_next("Prediction interrupted; please retry (code: PA)")
    claude.reply("second time lucky")
    value, _ = in_flow(lambda: hosted().ask("q"))
    assert value == "second time lucky" and len(claude.requests) == 2


def test_a_slow_answer_is_canceled_at_the_timeout(replicate, claude):
    replicate.set_behaviour(CLAUDE_MODEL, claude, latency=30)
    start = time.monotonic()
    with pytest.raises(AIError, match="did not answer within 2 s") as info:
        hosted(timeout=2).ask("q")
    assert time.monotonic() - start < 10 and is_transient(info.value)
    [run] = replicate.runs_of("prediction")
    assert run.status == "canceled"


def test_in_a_run_one_backend_serves_every_client_and_closes_with_it(replicate, claude):
    claude.default("ok")
    with run_scope():
        hosted().ask("a")
        hosted().ask("b")
    assert replicate.count("GET", LOOKUP) == 1 and len(claude.requests) == 2


def test_the_summary_says_which_model_answered_and_where():
    from tasks.core.results import StageResult
    from tasks.core.run_scope import Usage
    from tasks.report.render import build_report, markdown_summary

    usage = Usage()
    for _ in range(3):
        usage.add(100, 7, provider="replicate", model=CLAUDE_MODEL, prediction=True)
    report = build_report(
        stages=[StageResult("preflight", "passed")],
        model="acme/hello",
        test_model="acme/hello-test",
        platform="replicate",
        status="passed",
        pushed=False,
        version="abc",
        ai_usage=usage.to_dict(),
    )
    assert report["ai_usage"]["predictions"] == 3
    text = markdown_summary(report)
    assert (
        f"- AI (`{CLAUDE_MODEL}` on Replicate, 3 predictions): 3 calls, 300 input + 21 output "
        "tokens"
    ) in text


def test_the_transcript_names_replicate_and_the_prediction(replicate, claude, tmp_path):
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("tasks.ai.transcript")
    before = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        claude.reply("Blue.")
        image = make_image(tmp_path / "p.png", gradient())
        hosted().ask(f"Which colour? ({CANARY})", images=[image])
        claude.fail_next("the model broke")
        with pytest.raises(AIError):
            hosted().ask("Again?")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
    shown = "\n".join(r.getMessage() for r in records)
    run = replicate.runs_of("prediction")[-1]  # the first, which answered
    assert f"model {CLAUDE_MODEL}, max_tokens 4096 on Replicate" in shown
    assert "Which colour? (***)" in shown and "[image: image/png, 64x48" in shown
    assert f"tokens, prediction {run.id}):\n  Blue." in shown
    assert "failed after" in shown and "prediction failed (the model broke)" in shown
    assert CANARY not in shown
