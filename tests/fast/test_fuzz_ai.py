"""AI fuzz-input generation against the fake Anthropic server (real HTTP, the real SDK)."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from tasks.ai.client import AI, AIError
from tasks.fuzz import sample_media
from tasks.fuzz.ai_batches import FuzzGenerationError, FuzzStats, generate_ai_inputs
from tasks.fuzz.validate import validate_payload
from tests.fakes.anthropic_server import FakeAnthropic

SCHEMA = {
    "type": "object",
    "required": ["prompt", "image"],
    "properties": {
        "prompt": {"type": "string", "x-order": 0, "description": "What to draw"},
        "image": {"type": "string", "format": "uri", "x-order": 1, "description": "Init image"},
        "voice": {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "x-order": 2,
            "description": "Speech sample",
        },
        "logo": {"type": "string", "format": "uri", "x-order": 3, "description": "An SVG logo"},
        "num_steps": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20, "x-order": 4},
        "scheduler": {
            "allOf": [{"enum": ["DDIM", "K_EULER", "PNDM"], "type": "string"}],
            "default": "DDIM",
            "x-order": 5,
        },
        "seed": {"type": "integer", "nullable": True, "x-order": 6},
        "fast": {"type": "boolean", "default": False, "x-order": 7},
    },
}


@pytest.fixture
def fake(fake_anthropic: FakeAnthropic) -> FakeAnthropic:
    return fake_anthropic


def asked_count(body: dict[str, Any]) -> int:
    match = re.search(r"Generate (\d+) different", FakeAnthropic.text_of(body))
    assert match, "the prompt says how many payloads it wants"
    return int(match.group(1))


class Writer:
    """A stand-in for Claude: writes `count` payloads, every `sloppy`-th one off-schema
    in ways repair can fix (out-of-range number, lower-case enum, null, unknown key)."""

    def __init__(self, sloppy: int = 0) -> None:
        self.sloppy = sloppy
        self.written = 0

    def __call__(self, body: dict[str, Any]) -> str:
        payloads = []
        for _ in range(asked_count(body)):
            i = self.written
            self.written += 1
            payload: dict[str, Any] = {
                "prompt": f"a lighthouse at dusk, variation {i}",
                "image": "@media:"
                + ["scene-256.jpg", "gradient-64.png", "pattern-256.webp"][i % 3],
                "logo": "@media:logo.svg",
                "num_steps": 1 + i % 50,
                "scheduler": ["DDIM", "K_EULER", "PNDM"][i % 3],
            }
            if i % 2:
                payload["voice"] = "@media:tone-1s.wav"
            if self.sloppy and i % self.sloppy == 0:
                payload.update(num_steps=500, scheduler="pndm", seed=None, style="anime")
            payloads.append(payload)
        return json.dumps(payloads)


def quick_ai(**kwargs: Any) -> AI:
    return AI(**kwargs)


def generate(n: int, **kwargs: Any) -> list[dict[str, Any]]:
    options: dict[str, Any] = {
        "fixed": {},
        "disabled": [],
        "prompt": None,
        "ai": quick_ai(),
        "rng": random.Random(0),
    }
    options.update(kwargs)
    return generate_ai_inputs(SCHEMA, n, **options)


def test_twenty_inputs_in_batches_of_ten_take_two_calls(fake: FakeAnthropic):
    fake.default(Writer())
    payloads = generate(20, batch_size=10)
    assert len(fake.requests) == 2
    assert len(payloads) == 20
    assert all(validate_payload(p, SCHEMA) == [] for p in payloads)
    assert len({p["prompt"] for p in payloads}) == 20
    assert [asked_count(r) for r in fake.requests] == [10, 10]


@pytest.mark.parametrize(("n", "batch", "calls"), [(25, 10, 3), (20, 20, 1), (3, 10, 1)])
def test_number_of_calls_is_n_over_batch(fake: FakeAnthropic, n: int, batch: int, calls: int):
    fake.default(Writer())
    assert len(generate(n, batch_size=batch)) == n
    assert len(fake.requests) == calls


def test_prompt_carries_schema_fixed_disabled_guidance_history_and_media(fake: FakeAnthropic):
    fake.default(Writer())
    generate(
        12,
        batch_size=6,
        fixed={"num_steps": 4},
        disabled=["fast"],
        prompt="Prompts should be about lighthouses.",
    )
    first, second = (FakeAnthropic.text_of(r) for r in fake.requests)
    assert '"scheduler"' in first and '"K_EULER"' in first  # the dereferenced schema
    assert "Fixed inputs" in first and '{"num_steps": 4}' in first
    assert "Disabled inputs: never include these keys: fast" in first
    assert '"fast"' not in first.split("Disabled inputs")[0]  # not offered in the schema
    assert "Prompts should be about lighthouses." in first
    image_block = first.split('- "image" takes image files')[1].split('- "')[0]
    assert "@media:landscape-512x384.jpg" in image_block and "logo.svg" not in image_block
    voice_block = first.split('- "voice" takes audio files')[1].split('- "')[0]
    assert "@media:speech-3s.wav" in voice_block and "tone-1s.wav" not in voice_block
    assert "@media:logo.svg" in first.split('- "logo" takes image files')[1]
    assert "Already generated" not in first
    # The second batch sees the first, with media by name (no base64 in the prompt).
    assert "Already generated (6 payloads)" in second
    assert "variation 5" in second and "@media:scene-256.jpg" in second
    assert "base64" not in second


def test_media_names_become_data_uris(fake: FakeAnthropic):
    fake.default(Writer())
    payloads = generate(4)
    scene = sample_media.as_input_value(sample_media.by_name("scene-256.jpg"))
    tone = sample_media.as_input_value(sample_media.by_name("tone-1s.wav"))
    svg = sample_media.as_input_value(sample_media.by_name("logo.svg"))
    assert payloads[0]["image"] == scene
    assert payloads[1]["voice"] == tone
    assert all(p["logo"] == svg for p in payloads)  # this input says it takes SVG
    assert all(len(v) < 256 * 1024 for p in payloads for v in p.values() if isinstance(v, str))


def test_repairable_payloads_are_repaired_without_asking_again(fake: FakeAnthropic):
    fake.default(Writer(sloppy=4))
    stats = FuzzStats()
    payloads = generate(20, batch_size=10, stats_out=stats)
    assert len(fake.requests) == 2  # no re-ask: repair was enough
    assert stats.generated == 20 and stats.repaired == 5 and stats.reasks == 0
    assert stats.repair_share == 0.25
    sloppy = payloads[0]
    assert sloppy["num_steps"] == 50 and sloppy["scheduler"] == "PNDM"
    assert "seed" not in sloppy and "style" not in sloppy
    assert all(validate_payload(p, SCHEMA) == [] for p in payloads)


def test_fixed_and_disabled_inputs_are_honoured(fake: FakeAnthropic):
    def writer(body: dict[str, Any]) -> str:
        return json.dumps(
            [
                {"prompt": "a", "image": "@media:scene-256.jpg", "fast": True, "num_steps": 9},
                {"prompt": "b", "image": "@media:scene-256.jpg", "logo": "@media:logo.svg"},
            ]
        )

    fake.default(writer)
    stats = FuzzStats()
    payloads = generate(
        2,
        fixed={"num_steps": 3, "scheduler": "K_EULER"},
        disabled=["fast", "logo"],
        stats_out=stats,
    )
    assert all(p["num_steps"] == 3 and p["scheduler"] == "K_EULER" for p in payloads)
    assert not any("fast" in p or "logo" in p for p in payloads)
    # Both needed repair (a disabled key was sent); leaving out a fixed input did not count.
    assert stats.repaired == 2


def test_invalid_batch_is_asked_again_with_the_errors(fake: FakeAnthropic):
    bad = json.dumps([{"prompt": "x", "image": "@media:scene-256.jpg", "num_steps": "many"}])
    fake.reply(bad)
    fake.default(Writer())
    stats = FuzzStats()
    payloads = generate(1, stats_out=stats)
    assert len(fake.requests) == 2
    retry = fake.requests[1]["messages"]
    assert retry[1] == {"role": "assistant", "content": bad}  # it sees its own answer
    assert "num_steps: 'many' is not of type 'integer'" in retry[2]["content"]
    assert payloads[0]["prompt"].startswith("a lighthouse")
    assert stats.reasks == 1


def test_stage_fails_clearly_after_the_bounded_re_asks(fake: FakeAnthropic):
    fake.default(json.dumps([{"prompt": ["not", "text"], "image": "@media:scene-256.jpg"}]))
    with pytest.raises(FuzzGenerationError) as caught:
        generate(5, ai=quick_ai(max_reasks=2))
    assert len(fake.requests) == 3  # one ask + two re-asks, then stop
    message = str(caught.value)
    assert (
        "after 2 re-asks" in message
        and "prompt: ['not', 'text'] is not of type 'string'" in message
    )
    assert caught.value.exit_code == 1


def test_unparseable_answers_are_re_asked(fake: FakeAnthropic):
    fake.reply("Sure! Here are some inputs: [oops")
    fake.default(Writer())
    assert len(generate(2)) == 2
    assert len(fake.requests) == 2


def test_invented_urls_and_unwanted_svgs_are_replaced(fake: FakeAnthropic):
    fake.default(
        json.dumps(
            [
                {"prompt": "x", "image": "https://example.com/cat.jpg", "voice": "@media:nope.wav"},
                {"prompt": "y", "image": "@media:logo.svg", "voice": "tone-1s.wav"},
            ]
        )
    )
    stats = FuzzStats()
    first, second = generate(2, stats_out=stats)
    for payload in (first, second):
        assert payload["image"].startswith("data:image/")
        assert not payload["image"].startswith("data:image/svg")
        assert payload["voice"].startswith("data:audio/")
    assert second["voice"] == sample_media.as_input_value(sample_media.by_name("tone-1s.wav"))
    assert stats.repaired == 2


def test_a_model_that_keeps_answering_short_is_not_asked_forever(fake: FakeAnthropic):
    fake.default(json.dumps([{"prompt": "only one", "image": "@media:scene-256.jpg"}]))
    with pytest.raises(FuzzGenerationError, match="only 4 of 10"):
        generate(10, batch_size=10)
    assert len(fake.requests) == 4  # ceil(10/10) + 3 extra batches


def test_transport_errors_are_not_disguised(fake: FakeAnthropic):
    fake.fail_next(401)
    with pytest.raises(AIError) as caught:
        generate(3)
    assert not isinstance(caught.value, FuzzGenerationError)
    assert caught.value.status == 401
    assert "test-key-fake-anthropic" not in str(caught.value)


def test_measured_cost_and_repair_share(fake: FakeAnthropic, capsys: pytest.CaptureFixture):
    """The numbers for the closing note: AI calls per 20 inputs, share needing repair."""
    fake.default(Writer(sloppy=5))
    stats = FuzzStats()
    generate(20, batch_size=10, stats_out=stats)
    calls = len(fake.requests)
    assert calls == 2
    assert stats.repair_share == pytest.approx(0.2)
    with capsys.disabled():
        print(f"\nfuzz AI: {calls} calls per 20 inputs; {stats.repair_share:.0%} needed repair")


def test_a_named_sample_of_the_wrong_kind_is_replaced_by_one_that_fits(fake: FakeAnthropic):
    """A photo named for a PDF input, an SVG in a list of masks: each becomes a sample the
    input takes (the PDF; a mask), and the payload counts as repaired."""
    schema = {
        "type": "object",
        "required": ["document"],
        "properties": {
            "document": {"type": "string", "format": "uri", "description": "A PDF to summarise"},
            "masks": {
                "type": "array",
                "items": {"type": "string", "format": "uri"},
                "description": "Inpainting masks",
            },
        },
    }
    answer = [{"document": "@media:scene-256.jpg", "masks": ["@media:mask-256.png", "logo.svg"]}]
    fake.default(json.dumps(answer))
    stats = FuzzStats()
    (payload,) = generate_ai_inputs(
        schema, 1, fixed={}, disabled=[], prompt=None, ai=quick_ai(), rng=random.Random(0),
        stats_out=stats,
    )  # fmt: skip
    pdf = sample_media.as_input_value(sample_media.by_name("logbook-2p.pdf"))
    assert payload["document"] == pdf
    kept, replaced = (sample_media.sample_for_value(v) for v in payload["masks"])
    assert kept is not None and kept.name == "mask-256.png"
    assert replaced is not None and "mask" in replaced.traits
    assert stats.repaired == 1
