"""-vvv shows what the AI was asked: the transcript of every AI call (tasks.ai.transcript) and
the evidence behind every output comparison, on stderr at -vvv only, never with a secret or
an image's base64, and without Prefect's debug flood."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prefect import flow

import tasks.retrying  # noqa: F401 - the retry layer of AI requests
from tasks.ai.client import AI, DEFAULT_MODEL, AIError
from tests.fakes.anthropic_server import FakeAnthropic, env_for
from tests.helpers import CANARY, cog_dir, make_image, openapi, prop, run_flow

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPT = "tasks.ai.transcript"
EVIDENCE = "tasks.compare_outputs"

pytestmark = pytest.mark.usefixtures("outputs_in_tmp")


def quick() -> AI:
    return AI()


def noisy_png(path: Path, width: int = 512, height: int = 384) -> Path:
    """A PNG that does not compress to nothing, so its weight is in kilobytes."""
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return make_image(path, pixels)


class Lines(logging.Handler):
    """The records one logger writes. Attached to that logger itself, not to the root: a
    session's first flow run imports Prefect, whose logging set-up replaces the root's
    handlers (pytest's log capture among them)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)


def listen(name: str, level: int = logging.DEBUG) -> Iterator[Lines]:
    logger, lines = logging.getLogger(name), Lines()
    before = logger.level
    logger.setLevel(level)
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)
        logger.setLevel(before)


@pytest.fixture
def transcript() -> Iterator[Lines]:
    yield from listen(TRANSCRIPT)


@pytest.fixture
def evidence_log() -> Iterator[Lines]:
    yield from listen(EVIDENCE)


# --- the transcript, through the real client and the fake Messages API ----------------------


def test_the_transcript_shows_request_image_reply_tokens_and_time_but_no_secret(
    fake_anthropic: FakeAnthropic,
    tmp_path: Path,
    transcript: Lines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", CANARY)
    key = os.environ["ANTHROPIC_API_KEY"]
    image = noisy_png(tmp_path / "picture.png")
    fake_anthropic.reply(f"A noisy picture. The token was {CANARY}, the key {key}.")

    answer = quick().ask(
        f"Describe this picture. (Leaked: {CANARY})", system="Be brief.", images=[image]
    )

    assert CANARY in answer  # the caller gets the reply as it came...
    shown = transcript.text()
    assert CANARY not in shown and key not in shown  # ...the log never shows a secret
    assert f"model {DEFAULT_MODEL}, max_tokens 4096" in shown
    assert "system:\n  Be brief." in shown
    assert "Describe this picture. (Leaked: ***)" in shown
    weight = round(image.stat().st_size / 1024)
    assert f"[image: image/png, 512x384, {weight} KB]" in shown
    sent = fake_anthropic.requests[0]["messages"][0]["content"][0]["source"]["data"]
    assert sent[:40] not in shown and "base64" not in shown
    usage = fake_anthropic.responses[0]["usage"]
    assert re.search(
        rf"AI reply #\d+ after \d+\.\d\d s \({usage['input_tokens']} input, "
        rf"{usage['output_tokens']} output tokens\):\n  A noisy picture\. "
        r"The token was \*\*\*, the key \*\*\*\.",
        shown,
    ), shown


def test_a_retried_failure_and_a_reask_are_each_on_the_record(
    fake_anthropic: FakeAnthropic, transcript: Lines
) -> None:
    fake_anthropic.fail_next(529)
    fake_anthropic.reply("{not json", '{"ok": true}')

    @flow(name="transcript test")
    def ask() -> object:  # in a run, Prefect retries the overloaded request
        return quick().ask_json("Give JSON.")

    assert ask() == {"ok": True}

    shown = transcript.text()
    numbers = [int(n) for n in re.findall(r"AI request #(\d+):", shown)]
    assert len(numbers) == 3, shown  # the overloaded try, its retry, the re-ask
    first = numbers[0]
    assert f"AI request #{first} failed after" in shown
    assert "529 overloaded_error (fake failure 529)" in shown
    assert f"AI reply #{first + 1} after" in shown and "{not json" in shown
    # the re-ask carries the conversation: the bad answer, then why it could not be used
    assert "assistant:\n  {not json\nuser:\n  That answer could not be used" in shown


def test_a_rejected_call_is_logged_with_its_status_and_error_type(
    fake_anthropic: FakeAnthropic, transcript: Lines
) -> None:
    fake_anthropic.fail_next(400)
    with pytest.raises(AIError):
        quick().ask("Hello?")
    assert re.search(
        r"AI request #\d+ failed after \d+\.\d\d s: 400 invalid_request_error", transcript.text()
    )


def test_nothing_is_logged_below_debug(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    for lines in listen(TRANSCRIPT, logging.INFO):
        quick().ask("Hello?", images=[noisy_png(tmp_path / "p.png")])
        assert lines.records == []


# --- the command line: -vvv shows it on stderr, -vv does not, Prefect's DEBUG stays off -----

TERMINAL = """
import logging, sys
from prefect.logging.configuration import setup_logging
setup_logging()
from flows.runtime import configure_terminal_logging
configure_terminal_logging(int(sys.argv[1]))
logging.getLogger("prefect.flow_engine").debug("PREFECT-DEBUG-FLOOD")
from tasks.ai.client import AI
print(AI().ask("What is two plus two?"))
"""


def _terminal(fake: FakeAnthropic, verbose: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_for(fake)}
    done = subprocess.run(
        [sys.executable, "-c", TERMINAL, str(verbose)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Four.", done.stdout
    return done


def test_the_transcript_reaches_stderr_at_vvv_only_and_prefect_debug_stays_off() -> None:
    with FakeAnthropic() as fake:
        fake.default("Four.")
        quiet = _terminal(fake, 2)
        loud = _terminal(fake, 3)
    assert "AI request" not in quiet.stderr and "What is two plus two?" not in quiet.stderr
    assert "AI request #1: model" in loud.stderr
    assert "  What is two plus two?" in loud.stderr
    assert "AI reply #1 after" in loud.stderr and "  Four." in loud.stderr
    assert "test-key-fake-anthropic" not in loud.stderr
    assert "PREFECT-DEBUG-FLOOD" not in loud.stderr + quiet.stderr


IN_A_RUN = """
import sys
from prefect import flow
from prefect.logging.configuration import setup_logging
setup_logging()
from flows.runtime import configure_terminal_logging
configure_terminal_logging(3)
from tasks.ai.client import AI

@flow(name="ai transcript in the run logs")
def asks():
    return AI().ask("Name a colour.")

state = asks(return_state=True)
print(state.state_details.flow_run_id)
"""


def test_at_vvv_the_transcript_is_also_in_the_prefect_runs_logs() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with FakeAnthropic() as fake:
        fake.default("Teal.")
        done = subprocess.run(
            [sys.executable, "-c", IN_A_RUN],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=ROOT,
            env={**os.environ, **env_for(fake)},
        )
    assert done.returncode == 0, done.stderr
    flow_run_id = done.stdout.strip().splitlines()[-1]

    async def messages() -> list[str]:
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
            return [line.message for line in logs if line.name == TRANSCRIPT]

    logged = asyncio.run(messages())
    assert any("Name a colour." in m for m in logged), logged
    assert any("AI reply" in m and "Teal." in m for m in logged), logged


# --- the comparison stage: which evidence decided each comparison ---------------------------

MODEL, TEST = "acme/m", "acme/m-test"
DOC = openapi(
    {
        "text": prop(default="hello", maxLength=200),
        "punctuation": prop(default="!", enum=["!", ".", "?"]),
    }
)


def greet(default: str):
    def behave(inputs):
        return inputs.get("text", "hello") + inputs.get("punctuation", default)

    return behave


def by_label(log: Lines) -> dict[str, str]:
    """label -> its debug line."""
    assert all(r.levelno == logging.DEBUG for r in log.records)
    return {r.getMessage().split(": ")[1]: r.getMessage() for r in log.records}


def test_each_comparison_logs_its_verdict_and_the_evidence_that_decided_it(
    world, tmp_path: Path, evidence_log: Lines
) -> None:
    world.add_version(MODEL, DOC, greet("!"))
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, greet("."))  # a changed default: only the required-only run sees it
    case = {"inputs": {"text": "Ada", "punctuation": "!"}, "exact_string": "Ada!"}
    config = {
        "model": MODEL,
        "parallel": 2,
        "predict": {"fuzz": {"iterations": 0}, "test_cases": [case]},
    }

    code, _ = run_flow(world, cog_dir(tmp_path), config)

    assert code == 1
    lines = by_label(evidence_log)
    assert set(lines) == {"compare 1 (test case 1)", "compare 2 (required inputs only)"}
    same = lines["compare 1 (test case 1)"]
    assert same.startswith("compare outputs: compare 1 (test case 1): passed (live ran once): ")
    assert "identical to the live version's output" in same
    exact = lines["compare 2 (required inputs only)"]
    assert "failed (live ran twice)" in exact
    assert "the live version gives the same output twice" in exact
    assert "'hello!' became 'hello.'" in exact  # the spot, and what differs there


def test_a_comparison_judged_by_live_variation_says_so(
    world, tmp_path: Path, evidence_log: Lines
) -> None:
    letters = string.ascii_letters + string.digits

    def random_words(inputs):
        return " ".join(
            "".join(random.choice(letters) for _ in range(random.randint(3, 8))) for _ in range(20)
        )

    world.add_version(MODEL, DOC, random_words)
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, random_words)
    config = {"model": MODEL, "predict": {"fuzz": {"iterations": 0}, "test_cases": []}}

    code, _ = run_flow(world, cog_dir(tmp_path), config)

    assert code == 0
    line = by_label(evidence_log)["compare 1 (required inputs only)"]
    assert "passed (live ran twice)" in line
    assert re.search(r"varies from run to run: output: text distance \d\.\d\d from live", line)


def test_image_summaries_name_what_cannot_be_read() -> None:
    from tasks.ai.transcript import image_summary

    def block(data: str, media: str = "image/png") -> dict:
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}

    assert image_summary(block("%%%")) == "[image: image/png, not valid base64]"
    assert image_summary(block(base64.b64encode(b"x" * 10).decode())) == (
        "[image: image/png, 10 bytes]"
    )
