"""The flows with the AI: match_prompt checks, AI fuzz generation and AI output comparison,
against the fake Anthropic Messages API (the real anthropic SDK talks HTTP to it), and the
same AI jobs through Claude hosted on the fake Replicate API (the real `replicate` client),
with the models on Replicate or on this machine."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import helpers
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.replicate_server import (
    CLAUDE_MODEL,
    FakeClaude,
    FakeFile,
    FakeReplicate,
    host_claude,
)
from tests.helpers import CANARY, cog_dir, copy_example, edit, run, set_config, stage

pytestmark = pytest.mark.usefixtures("registry")


def payloads_in(text: str) -> str:
    """Answer a fuzz batch: as many valid hello payloads as the prompt asks for."""
    count = int(re.search(r"JSON array of exactly (\d+) objects", text).group(1))
    names = ["Ada", "Grace", "Linus", "Barbara", "Edsger", "Alan", "Frances", "Ken"]
    return json.dumps(
        [{"name": names[i % len(names)], "repeat": 1 + i % 3, "seed": i} for i in range(count)]
    )


def answer(request: dict) -> str:
    text = FakeAnthropic.text_of(request)
    if "JSON array of exactly" in text:
        return payloads_in(text)
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


# --- Claude hosted on Replicate: one token for the models and the AI -------------------------

PREDICTIONS = "/v1/models/{owner}/{name}/predictions"


def verdict(value: str, reason: str = "it is fine") -> str:
    return json.dumps({"verdict": value, "reason": reason})


def on_replicate(model_dir: Path, *flags: str) -> tuple[int, dict]:
    return run(model_dir, "--platform", "replicate", *flags)


def claude_predictions(fake: FakeReplicate) -> list:
    return [r for r in fake.runs_of("prediction") if r.model == CLAUDE_MODEL]


@pytest.fixture
def hosted(hello_fake: FakeReplicate, monkeypatch: pytest.MonkeyPatch) -> FakeClaude:
    """Claude on the fake Replicate beside the hello models; no Anthropic key, and the AI
    provider left to its default (the session says none: tests/conftest.py)."""
    monkeypatch.delenv("COG_SAFE_PUSH_AI_PROVIDER", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return host_claude(hello_fake)


def test_with_only_a_replicate_token_the_ai_is_claude_on_replicate(hello_fake, hello_dir, hosted):
    """No ANTHROPIC_API_KEY: the AI fuzz generator and match_prompt go through Claude hosted
    on Replicate, each request one prediction; a split vote takes the third; the report
    counts the predictions; no secret reaches the model, though the model under test leaks
    one into its output."""
    votes = iter(["no", "yes", "yes"])

    def answer_hosted(inputs: dict) -> str:
        text = FakeClaude.text_of(inputs)
        if "JSON array of exactly" in text:
            return payloads_in(text)
        if "a friendly greeting" in text:
            return verdict(next(votes), "it greets Ada")
        return verdict("yes")

    def leaky(inputs: dict) -> str:  # a model that prints its environment into its output
        return helpers.hello_behaviour()(inputs) + f" (token {CANARY})"

    hosted.default(answer_hosted)
    hello_fake.set_behaviour("acme/hello-test", leaky)
    set_config(
        hello_dir,
        predict={
            "test_cases": [{"inputs": {"name": "Ada"}, "match_prompt": "a friendly greeting"}],
            "fuzz": {"iterations": 20},
        },
    )

    code, report = on_replicate(hello_dir, "--fuzz-batch-size", "5", "--no-push")

    assert code == 0, report
    texts = [FakeClaude.text_of(inputs) for inputs in hosted.requests]
    assert sum("JSON array of exactly" in t for t in texts) == 2  # 10 generated, 5 a batch
    fuzz = stage(report, "fuzz")["predictions"]
    assert len(fuzz) == 20 and sum(p["label"].startswith("edge ") for p in fuzz) == 10
    judged = [t for t in texts if "a friendly greeting" in t]
    assert len(judged) == 3  # no, yes: a split, so a third vote
    assert "Hello, Ada! (token ***)" in judged[0]
    assert stage(report, "test cases")["predictions"][0]["verdict"] == "passed"
    runs = claude_predictions(hello_fake)
    assert len(runs) == len(hosted.requests) == hello_fake.count("POST", PREDICTIONS)
    usage = report["ai_usage"]
    assert usage["provider"] == "replicate" and usage["model"] == CLAUDE_MODEL
    assert usage["calls"] == usage["predictions"] == len(runs)
    assert usage["input_tokens"] == sum(r.metrics["input_token_count"] for r in runs)
    assert usage["output_tokens"] == sum(r.metrics["output_token_count"] for r in runs) > 0
    assert CANARY not in json.dumps(hosted.requests)
    assert all(r["authorized"] for r in hello_fake.requests if r["pattern"] == PREDICTIONS)


# The painter: a model whose output is a picture, on the fake Replicate.
PAINTER = """from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(
        self,
        colour: str = Input(description="Colour of the picture", default="red"),
    ) -> Path:
        return Path("picture.png")
"""


def picture(shift: int, noise: int = 0) -> bytes:
    """A smooth 96x64 picture; `noise` adds a little randomness (a model without a seed)."""
    pixels = helpers.gradient(96, 64, shift).astype(np.int16)
    pixels += np.random.default_rng(random.randrange(10**6)).integers(
        -noise, noise + 1, pixels.shape
    )
    buf = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def painter(shift: int, noise: int = 0):
    def paint(inputs: dict) -> FakeFile:
        return FakeFile("picture.png", picture(shift, noise), "image/png")

    return paint


@pytest.fixture
def painter_dir(tmp_path: Path) -> Path:
    target = cog_dir(tmp_path, "painter", PAINTER)
    (target / "cog-safe-push.yaml").write_text(
        "model: acme/painter\ntest_model: acme/painter-test\ntest_hardware: cpu\n"
        "predict:\n  predict_timeout: 60\n  fuzz:\n    iterations: 0\n  test_cases:\n"
        "    - inputs: {colour: red}\n      match_prompt: a smooth colour gradient\n"
    )
    return target


@pytest.fixture
def painter_fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with FakeReplicate(token=CANARY) as server:
        server.add_model("acme/painter", hardware="cpu")
        helpers.use_fake_replicate(monkeypatch, server.url, tmp_path / "cache")
        monkeypatch.delenv("COG_SAFE_PUSH_AI_PROVIDER", raising=False)
        yield server


def test_pictures_are_shown_to_claude_on_replicate(painter_fake, painter_dir):
    """match_prompt on an image output attaches the picture; the comparison judge shows
    Claude, which takes one image, the live and the test picture side by side."""
    claude = host_claude(painter_fake)
    claude.default(verdict("yes", "a gradient, and the two are alike"))
    painter_fake.set_behaviour("acme/painter-test", painter(0, noise=3))
    assert on_replicate(painter_dir)[0] == 0  # the live version: pushed, checked alone
    [first] = claude.requests[:1]
    [shown] = FakeClaude.images_in(first)
    assert Image.open(io.BytesIO(shown)).size == (96, 64)  # the output itself, attached
    assert "a smooth colour gradient" in first["prompt"] and "side by side" not in first["prompt"]

    painter_fake.set_behaviour("acme/painter", painter(0, noise=3))  # live varies a little
    painter_fake.set_behaviour("acme/painter-test", painter(140))  # the new one: further off
    edit(painter_dir / "predict.py", '"picture.png"', '"new-picture.png"')
    before = len(claude.requests)
    code, report = on_replicate(painter_dir, "--no-push")

    assert code == 0, report
    compared = stage(report, "compare outputs")
    assert compared["status"] == "passed", compared
    assert all("the AI judged" in p["message"] for p in compared["predictions"])
    judged = [r for r in claude.requests[before:] if "side by side" in r["prompt"]]
    assert len(judged) == 2 * len(compared["predictions"])  # two agreeing votes each
    [both] = FakeClaude.images_in(judged[0])
    width, height = Image.open(io.BytesIO(both)).size
    assert width > 2 * 96 and height > 64  # two pictures, labelled above
    assert "The first image is the output of the current version" in judged[0]["prompt"]
    assert report["ai_usage"]["predictions"] == len(claude.requests) - before


def test_on_the_local_platform_the_env_setting_sends_the_ai_to_replicate(
    tmp_path, monkeypatch, fake_anthropic
):
    """COG_SAFE_PUSH_AI_PROVIDER=replicate: the models run on this machine, the AI checks go
    through Claude on the fake Replicate, though an Anthropic key is set too."""
    hello = copy_example("hello", tmp_path)
    set_config(
        hello,
        predict={
            "test_cases": [{"inputs": {"name": "Ada"}, "match_prompt": "a friendly greeting"}],
            "fuzz": {"iterations": 4},
        },
    )
    with FakeReplicate(token=CANARY) as server:
        claude = host_claude(server)
        claude.default(
            lambda inputs: (
                payloads_in(FakeClaude.text_of(inputs))
                if "JSON array of exactly" in FakeClaude.text_of(inputs)
                else verdict("yes")
            )
        )
        monkeypatch.setenv("REPLICATE_API_TOKEN", CANARY)
        monkeypatch.setenv("REPLICATE_BASE_URL", server.url)
        monkeypatch.setenv("COG_SAFE_PUSH_AI_PROVIDER", "replicate")
        code, report = run(hello, "--fuzz-generator", "ai")

    assert code == 0, report
    assert report["platform"] == "local"
    assert fake_anthropic.requests == []  # the explicit setting wins over the key
    texts = [FakeClaude.text_of(inputs) for inputs in claude.requests]
    assert any("JSON array of exactly" in t for t in texts)
    assert sum("a friendly greeting" in t for t in texts) == 2
    assert {r.model for r in server.runs_of("prediction")} == {CLAUDE_MODEL}  # models ran here
    assert report["ai_usage"]["provider"] == "replicate"
    assert report["ai_usage"]["predictions"] == len(claude.requests)


def test_an_explicit_provider_without_its_secret_stops_before_anything_runs(
    tmp_path, monkeypatch, capsys
):
    hello = copy_example("hello", tmp_path)
    monkeypatch.setenv("COG_SAFE_PUSH_AI_PROVIDER", "replicate")
    code, _ = run(hello)
    assert code == 2
    err = capsys.readouterr().err
    assert "COG_SAFE_PUSH_AI_PROVIDER replicate needs REPLICATE_API_TOKEN" in err
    assert helpers.versions("examples/hello") == []  # nothing was pushed
