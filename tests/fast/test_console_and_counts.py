"""What a person reads at a glance (#22): one count for a stage everywhere, a failed
comparison that links to the red task run, positions counted from 1, and colour only where a
person at a terminal wants it.

The counts: a comparison that fails for one of two inputs is one failed item of two on the
live display, in the final table and in the JSON report alike.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from urllib.parse import urlparse
from uuid import UUID

import pytest

from flows.console import Console, LiveProgress
from tasks.core.results import PredictionRecord, stage_from_records
from tasks.core.run_scope import RunScope, watched_by
from tasks.outputs.compare import compare_outputs, compare_with_live
from tasks.stage_runner import StageRunner
from tests.helpers import cog_dir, openapi, prop, run_flow, stage, wait_for

MODEL, TEST = "acme/m", "acme/m-test"
DOC = openapi(
    {
        "text": prop(default="hello", maxLength=200),
        "punctuation": prop(default="!", enum=["!", ".", "?"]),
    }
)
COMPARE = "compare outputs"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def symbols_every_font_has(text: str) -> bool:
    """Beyond ASCII, only box drawing and the marks ✓ ✗ … (no emoji such as ✅ ❌ ⚠️)."""
    other = {ch for ch in text if ord(ch) > 127 and not 0x2500 <= ord(ch) <= 0x257F}
    return other <= {"✓", "✗", "…"}


@pytest.fixture
def model_dir(tmp_path):
    return cog_dir(tmp_path)


def greet(punctuation_default: str):
    def behave(inputs):
        return inputs.get("text", "hello") + inputs.get("punctuation", punctuation_default)

    return behave


class Recording(LiveProgress):
    """The live display, and the order in which the flow told it things."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.events: list[tuple] = []

    def prediction_done(self, stage: str, ok: bool) -> None:
        self.events.append(("done", stage, ok))
        super().prediction_done(stage, ok)

    def stage_finished(self, name, status, seconds, counts=None) -> None:
        self.events.append(("finished", name, status, counts))
        super().stage_finished(name, status, seconds, counts)


def one_comparison_fails(world, model_dir, tmp_path):
    """Live ends a greeting with "!"; the test version's default is "." instead: the test
    case (which sets the punctuation) compares equal, the required-inputs-only input does
    not. Returns the console's text, the display, the flow's report and the JSON report."""
    world.add_version(MODEL, DOC, greet("!"))
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, greet("."))
    config = {
        "model": MODEL,
        "parallel": 2,
        "predict": {
            "test_cases": [{"inputs": {"text": "Ada", "punctuation": "!"}, "exact_string": "Ada!"}],
            "fuzz": {"iterations": 0},
        },
    }
    out = io.StringIO()
    console = Console(stream=out)
    console.rich.width = 200  # one table row per stage: its numbers on one line
    display = Recording(console)
    path = tmp_path / "report.json"
    with watched_by(display):
        code, report = run_flow(world, model_dir, config, report_json=str(path))
    console.summary(report)
    assert code == 1, report
    return out.getvalue(), display, report, json.loads(path.read_text())


def test_a_stage_has_one_count_on_the_display_in_the_table_and_in_the_json(
    world, model_dir, tmp_path
):
    text, display, _, written = one_comparison_fails(world, model_dir, tmp_path)
    compared = stage(written, COMPARE)["predictions"]
    verdicts = sorted(p["verdict"] for p in compared)
    assert verdicts == ["failed", "passed"]  # the JSON report: two comparisons, one failed

    # the live display: each comparison counted as it is judged, with its verdict, before
    # the stage ends (not a jump from 0/2 to a total at the end)
    events = [e for e in display.events if e[1] == COMPARE]
    assert sorted(e[2] for e in events[:-1] if e[0] == "done") == [False, True]
    assert events[-1] == ("finished", COMPARE, "failed", (2, 1))
    entry = display.stages[COMPARE]
    assert (entry.done, entry.total, entry.failed) == (2, 2, 1)

    # the same numbers in what was printed: the plain progress line and the final table
    done = re.search(rf"{COMPARE}: failed in [\d.]+ s \((\d+)/(\d+) done, (\d+) failed\)", text)
    assert done is not None, text
    row = re.search(rf"│ {COMPARE} +│ failed +│ [\d.]+ +│ (\d+) +│ (\d+) of (\d+) failed", text)
    assert row is not None, text
    shown_done, shown_total, shown_failed = map(int, done.groups())
    listed, failed_of, of = map(int, row.groups())
    assert shown_done == shown_total == listed == of == len(compared) == 2
    assert shown_failed == failed_of == verdicts.count("failed") == 1
    assert text.count(f"✗ {COMPARE} / ") == 1


def test_skipped_items_are_not_counted_as_done(monkeypatch):
    """A stage whose run stopped under it: what ran is done, what was canceled is not,
    and the table says how many were skipped (nothing counts a skipped item as done)."""
    import tasks.stage_runner

    # no flow run to log to here: the stage runner's log lines go to a plain logger
    monkeypatch.setattr(tasks.stage_runner, "get_run_logger", lambda: logging.getLogger(__name__))
    out = io.StringIO()
    console = Console(stream=out)
    console.rich.width = 200
    display = LiveProgress(console)
    runner = StageRunner(RunScope(display), fail_fast=False)
    records = [
        PredictionRecord("test cases", "test case 1 (exact_string)", {}, "failed", "succeeded"),
        PredictionRecord("test cases", "test case 2 (exact_string)", {}, "skipped", "canceled"),
        PredictionRecord("test cases", "test case 3 (exact_string)", {}, "skipped", "canceled"),
    ]
    runner.begin("test cases", 3)
    finished = runner.finish(stage_from_records("test cases", records, 0.0))
    entry = display.stages["test cases"]
    assert (entry.done, entry.total, entry.failed) == (1, 3, 1)
    assert "(1/3 done, 1 failed)" in out.getvalue()
    report = {
        "status": "failed",
        "pushed": False,
        "model": MODEL,
        "stages": [finished.to_dict()],
    }
    console.summary(report)
    assert "1 of 3 failed, 2 skipped (listed below)" in out.getvalue()


def _task_run(task_run_id: str):
    """The task run as the Prefect API has it once it has ended (None until then: task runs
    are recorded from events, a moment after they happen)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async def read():
        async with get_client() as client:
            try:
                run = await client.read_task_run(UUID(task_run_id))
            except ObjectNotFound:
                return None
            return run if run.state is not None and run.state.is_final() else None

    return wait_for(lambda: asyncio.run(read()), 30, f"task run {task_run_id} to end")


def test_a_failed_comparison_links_to_its_own_failed_task_run(world, model_dir, tmp_path):
    _, _, report, written = one_comparison_fails(world, model_dir, tmp_path)
    failed = next(p for p in stage(report, COMPARE)["predictions"] if p["verdict"] == "failed")
    assert failed["label"] == "compare 2 (required inputs only)"  # what a link reads as
    task_run_id = urlparse(failed["url"]).path.rstrip("/").rsplit("/", 1)[-1]
    assert failed["id"] == task_run_id
    judged = _task_run(task_run_id)
    assert judged.name == failed["label"] and judged.state.is_failed()

    # the runs it compared stay one click away: the test run (Completed: it ran fine) and live
    related = {r["name"]: r for r in failed["related"]}
    assert set(related) == {
        "compare 2 (required inputs only): test",
        "compare 2 (required inputs only): live",
        "compare 2 (required inputs only): live again",
    }
    test_run_id = urlparse(related["compare 2 (required inputs only): test"]["url"]).path
    test_run = _task_run(test_run_id.rstrip("/").rsplit("/", 1)[-1])
    assert test_run.state.is_completed() and test_run.id != judged.id
    # and the JSON report carries the same
    written_failed = next(
        p for p in stage(written, COMPARE)["predictions"] if p["verdict"] == "failed"
    )
    assert written_failed["url"] == failed["url"] and written_failed["related"] == list(
        failed["related"]
    )


# --- positions are counted from 1 ---------------------------------------------------------


def test_the_first_difference_is_counted_from_one():
    hello = compare_outputs("Hello", "Howdy", deterministic=True)
    assert "first difference at character 2: 'Hello' became 'Howdy'" in hello.messages[0]
    longer = compare_outputs("hello", "hello!", deterministic=True)
    assert "first difference at character 6" in longer.messages[0]  # the "!" is the 6th
    first = compare_with_live("abc", "xbc", "abc")
    assert "first difference at character 1" in " ".join(first.messages)


# --- colour -------------------------------------------------------------------------------


def _report() -> dict:
    def record(label, verdict):
        return {"label": label, "verdict": verdict, "status": "succeeded", "inputs": {"a": 1}}

    failed = dict(record("compare 1 (test case 1)", "failed"), message="outputs differ")
    return {
        "status": "failed",
        "pushed": False,
        "model": MODEL,
        "stages": [
            {"name": "preflight", "status": "passed", "error": None, "seconds": 0.1,
             "predictions": []},
            {"name": COMPARE, "status": "failed", "error": "1 of 2 failed", "seconds": 1.0,
             "predictions": [failed, record("compare 2 (fuzz 1)", "passed")]},
            {"name": "fuzz", "status": "warning", "error": None, "seconds": 2.0,
             "warnings": ["fuzz 1: refused on purpose"], "predictions": []},
            {"name": "push", "status": "skipped", "error": None, "seconds": 0.0,
             "predictions": []},
        ],
    }  # fmt: skip


def _printed(monkeypatch, terminal: bool | None, **env: str) -> str:
    """What the console draws for a failed run: the live display's last picture, then the
    summary (not the plain progress lines a console that is not interactive also prints)."""
    for name in ("NO_COLOR", "CI", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    forced = {} if terminal is None else {"terminal": terminal}
    console = Console(stream=out, **forced)
    display = LiveProgress(console)
    for name, status, counts in [
        ("preflight", "passed", None),
        (COMPARE, "failed", (2, 1)),
        ("fuzz", "warning", (6, 0)),
        ("push", "skipped", None),
    ]:
        display.stage_started(name, counts[0] if counts else None)
        display.stage_finished(name, status, 1.0, counts)
    display.stage_started("deployment", None)  # still running
    start = out.tell()
    console.rich.print(display.render())
    console.summary(_report())
    return out.getvalue()[start:]


def test_colour_on_a_terminal(monkeypatch):
    text = _printed(monkeypatch, terminal=True)
    red, green, yellow = "\x1b[31m", "\x1b[32m", "\x1b[33m"
    assert f"{red}failed" in text  # the status column and the live display
    assert f"{red}✗ {COMPARE} / compare 1 (test case 1)" in text  # the failure line
    assert f"{red}cog-safe-push: failed: nothing pushed" in text  # the verdict line
    assert f"{green}passed" in text and f"{yellow}warning" in text and f"{yellow}skipped" in text
    assert f"{red}1 failed" in text  # the live display's failures so far
    assert symbols_every_font_has(text)


@pytest.mark.parametrize(
    "terminal, env",
    [
        (True, {"NO_COLOR": "1"}),
        (True, {"CI": "true"}),
        (None, {}),  # not a terminal
        (False, {}),
    ],
)
def test_no_colour_means_no_escape_codes_and_the_same_text(monkeypatch, terminal, env):
    text = _printed(monkeypatch, terminal, **env)
    assert "\x1b" not in text
    assert symbols_every_font_has(text)
    # the plain text is the coloured text without its colour, character for character
    assert text == ANSI.sub("", _printed(monkeypatch, terminal=True))


def test_an_empty_no_color_does_not_turn_colour_off(monkeypatch):
    assert "\x1b[31m" in _printed(monkeypatch, terminal=True, NO_COLOR="")


def test_the_plain_summary_reads_as_it_always_has(monkeypatch):
    """Tests and CI logs read these lines: without colour they are exactly these."""
    text = _printed(monkeypatch, terminal=None)
    lines = text.splitlines()
    assert (
        '  ✗ compare outputs / compare 1 (test case 1): outputs differ (inputs {"a": 1})' in lines
    )
    assert lines[-1] == "cog-safe-push: failed: nothing pushed to acme/m"
    assert "cog-safe-push: failed" in lines
    assert any(
        re.fullmatch(r"│ compare outputs +│ failed +│ 1\.0 +│ 2 +│ 1 of 2 failed .*", line)
        for line in lines
    ), text


def test_a_lease_taken_at_once_is_shown_nowhere_and_never_vanishes(world, model_dir):
    """A pushing run whose lease is free: no "model lease" line appears live and then goes
    missing from the table and the report; it is in none of them (a wait would be in all)."""

    class Started(Recording):
        def stage_started(self, name, total=None) -> None:
            self.events.append(("started", name))
            super().stage_started(name, total)

    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, greet("!"))
    config = {"model": MODEL, "predict": {"fuzz": {"iterations": 1}}}
    display = Started(Console(stream=io.StringIO()))
    with watched_by(display):
        code, report = run_flow(world, model_dir, config)
    assert code == 0 and report["pushed"] is True, report
    assert [e for e in display.events if e[1] == "model lease"] == []
    assert "model lease" not in [s["name"] for s in report["stages"]]
    assert ("started", "push") in display.events  # the display did see the run's stages
