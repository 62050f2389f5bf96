"""The differential gate, end to end: what a new version must not do to the people who use it.

Each case is a live version (the model users run today; none for a first push) and a
candidate, both tiny Cog models of our own (tests/models/differential: one live `predict.py`
per family, candidates in `variants/`), run through the real CLI. The live version is pushed
straight to the platform, as a maintainer's own `cog push` would; then the candidate is
checked with the config its maintainer would write (the family's cog-safe-push.yaml: one
test case, 8 fuzz iterations, `parallel: 2`) and a fixed `--seed`.

CASES is the whole gate at a glance. "blocked": exit 1, nothing pushed, the named stage
failed. "warned": exit 0, pushed, the named stage warned. "pushed": exit 0, pushed, the named
stage passed. What the stage says must name the input or the difference, every prediction it
failed (or forgave) must have the inputs shown, and a case with a live version that passes
must have compared outputs on the test case, on the required inputs alone and on fuzz inputs.

Platforms: every case runs on `replicate` (the real client against the fake Replicate, every
version running the model it was pushed from: tests/fakes/cog_models.py). Cases where the
platform's own behaviour decides the outcome (how errors, streamed text, files, logs and
timings come back) also run on `local` (Cog's own runtime). A run of the tool costs about
2.5 s of CPU on the fake and 3.6 s locally, Prefect server included, so every case on both
platforms (COG_SAFE_PUSH_TEST_EVERY_PLATFORM=1) costs about 140 s of CPU against this
module's budget of 90 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import replicate
import yaml

from tasks.core.openapi import input_schema
from tasks.core.platform_data import PushOptions
from tasks.platforms import resolve_spec
from tasks.platforms.local.platform import LocalPlatform
from tasks.platforms.local.registry import LocalRegistry
from tests import helpers
from tests.fakes.cog_models import PushedModels, cache_schema
from tests.fakes.replicate_server import FakeReplicate, Logged
from tests.helpers import BIN, CANARY, stage

MODELS = helpers.ROOT / "tests" / "models" / "differential"
SEED = "11"
COMPARE = "compare outputs"


@dataclass(frozen=True)
class Matches:
    """An input value that satisfies a rule, e.g. "any non-ASCII text"."""

    what: str
    test: Callable[[Any], bool]

    def __repr__(self) -> str:
        return self.what


_ABSENT = object()  # an input the prediction did not send
NON_ASCII = Matches("non-ASCII text", lambda v: isinstance(v, str) and not v.isascii())
NOT_SENT = Matches("not sent", lambda v: v is _ABSENT)


@dataclass(frozen=True)
class SlowerBy:
    """A message naming a slowdown ratio of at least `ratio` ("6.1x", "6.1×", "6.1 times").
    Choose a ratio above the configured limit, which the message may name too ("limit 2x")."""

    ratio: float

    def found_in(self, text: str) -> bool:
        figures = re.findall(r"(\d+(?:\.\d+)?)\s*(?:x\b|×|times\b)", text)
        return any(float(figure) >= self.ratio for figure in figures)

    def __repr__(self) -> str:
        return f"a slowdown of >= {self.ratio:g}x"


@dataclass(frozen=True)
class Outcome:
    """What must happen: the exit code, the stage that decides and its status, what it says,
    and which inputs the predictions it failed or warned about have."""

    code: int  # 0: passed and pushed; 1: a check failed, nothing pushed
    stage: str
    status: str  # passed | warning | failed
    says: tuple[str | SlowerBy, ...] = ()  # all in its error, warnings or failed predictions
    where: dict[str, Any] = field(default_factory=dict)
    also: dict[str, str] = field(default_factory=dict)  # other stages' statuses
    logs: tuple[str, ...] = ()  # lines some prediction's logs contain


def blocked(
    stage_name: str, *says: str | SlowerBy, also: dict[str, str] | None = None, **where: Any
) -> Outcome:
    return Outcome(1, stage_name, "failed", says, where, also or {})


def warned(stage_name: str, *says: str | SlowerBy, **where: Any) -> Outcome:
    return Outcome(0, stage_name, "warning", says, where)


def pushed(stage_name: str = COMPARE, logs: tuple[str, ...] = ()) -> Outcome:
    return Outcome(0, stage_name, "passed", logs=logs)


@dataclass(frozen=True)
class Case:
    id: str
    platforms: tuple[str, ...]
    live: str | None  # "family" (its predict.py) or "family/variant"; None: a first push
    candidate: str  # "family/variant"
    expected: Outcome
    settings: dict[str, Any] = field(default_factory=dict)  # added to the `predict:` section
    why: str = ""


CRASH = "string index out of range"
ONLY_COMPARE_SEES_IT = {"test cases": "passed"}
BOTH = ("local", "replicate")  # where the platform's own behaviour matters to the case
REPLICATE = ("replicate",)  # platform-independent logic: the cheaper platform (see above)

# fmt: off
CASES = [
    #    id                       platforms  live version        candidate
    #    expected outcome (and extra `predict:` settings)
    #    why
    Case("crash-on-empty-text",   BOTH,      "text",             "text/crash_empty",
         blocked("fuzz", "IndexError", CRASH, text=""),
         why="text[0] raises IndexError on ''"),
    Case("crash-on-non-ascii",    REPLICATE, "text",             "text/crash_ascii",
         blocked("fuzz", "UnicodeEncodeError", "ordinal not in range", text=NON_ASCII),
         why="text.encode('ascii') raises UnicodeEncodeError on non-ASCII text"),
    Case("crash-on-zero",         REPLICATE, "share",            "share/crash_zero",
         blocked("fuzz", "ZeroDivisionError", "by zero", portions=0),
         why="120 // portions raises ZeroDivisionError at 0"),
    Case("crash-at-maximum",      REPLICATE, "levels",           "levels/crash_max",
         blocked("fuzz", "IndexError", "list index out of range", level=5),
         why="a table one row short raises IndexError at the maximum"),
    Case("first-push-crash",      REPLICATE, None,               "text/crash_empty",
         blocked("fuzz", "IndexError", CRASH, text=""),
         why="no live version to compare with, and a crash still blocks"),
    Case("first-push-refusal",    BOTH,      None,               "text/refuse_empty",
         warned("fuzz", "text must not be empty", text=""),
         why="a ValueError naming the input is a refusal on purpose"),
    Case("refactor",              REPLICATE, "text",             "text/refactor",
         pushed(),
         why="every output stays the same"),
    Case("log-lines",             BOTH,      "text",             "text/logs",
         pushed(logs=("describing", "encoding as UTF-8")),
         why="what a model prints goes to the logs, not the output"),
    Case("changed-default",       REPLICATE, "greeting",         "greeting/changed_default",
         blocked(COMPARE, "Hello", "!", also=ONLY_COMPARE_SEES_IT, punctuation=NOT_SENT),
         why="default '!' became '.'; the test case sets it: only required-only inputs see it"),
    Case("new-optional-input",    REPLICATE, "greeting",         "greeting/new_optional",
         pushed(),
         why="the new input's default keeps the old output"),
    Case("lost-last-word",        BOTH,      "story",            "story/lost_word",
         blocked(COMPARE, "dog", also=ONLY_COMPARE_SEES_IT),
         why="live repeats itself byte for byte, so the candidate must match exactly"),
    Case("random-text",           REPLICATE, "chatter",          "chatter/refactor",
         pushed(),
         why="live varies; the candidate is no further from live than live from itself"),
    Case("random-image",          BOTH,      "noise",            "noise/refactor",
         pushed(),
         why="live varies; the candidate is no further from live than live from itself"),
    Case("default-out-of-bounds", REPLICATE, "bounds",           "bounds/default_outside",
         blocked("schema lint", "num", "default"),
         why="default=1 with ge=2 breaks its own constraint: cog build refuses it"),
    Case("relaxed-bound",         REPLICATE, "bounds",           "bounds/relaxed",
         pushed(),
         why="le=10 became le=20: every old request still works the same"),
    Case("pre-existing-crash",    BOTH,      "text/crash_empty", "text/crash_empty_refactor",
         warned("fuzz", CRASH, text=""),
         why="live fails the same way: an old bug, not a regression"),
    Case("pre-existing-blocking", REPLICATE, "text/crash_empty", "text/crash_empty_refactor",
         blocked("fuzz", CRASH, text=""), settings={"fail_on_preexisting": True},
         why="the same, and the maintainer asked to block old bugs too"),
    Case("slower",                BOTH,      "pace",             "pace/slow",
         warned("latency", SlowerBy(3)),
         why="0.8 s of work where live takes 0.1 s: eight times slower"),
    Case("slower-blocking",       REPLICATE, "pace",             "pace/slow",
         blocked("latency", SlowerBy(3)), settings={"fail_on_slowdown": True},
         why="the same, and the maintainer asked to block slowdowns"),
    Case("faster",                REPLICATE, "pace",             "pace/fast",
         pushed("latency"),
         why="0.01 s of work where live takes 0.1 s"),
]
# fmt: on


# --- the two platforms -----------------------------------------------------------------------


class Platform:
    """Where a case runs: push a live version, run the tool, read a model's latest version."""

    kind = ""

    def add_model(self, model: str) -> None:
        """Models exist before the tool runs (the local registry creates them on push)."""

    def push_live(self, model: str, model_dir: Path) -> str:
        raise NotImplementedError

    def latest(self, model: str) -> str | None:
        raise NotImplementedError

    def schema(self, model: str, version: str) -> dict[str, Any]:
        """A version's OpenAPI document, as the platform keeps it."""
        raise NotImplementedError

    def run(self, model_dir: Path, *flags: str) -> tuple[int, dict[str, Any]]:
        return helpers.run(model_dir, "--platform", self.kind, *flags)


class Local(Platform):
    kind = "local"

    def push_live(self, model: str, model_dir: Path) -> str:
        platform = LocalPlatform(resolve_spec("local"))
        try:
            return platform.push(model, str(model_dir), PushOptions())
        finally:
            platform.close()

    def latest(self, model: str) -> str | None:
        found = helpers.versions(model)
        return found[-1] if found else None

    def schema(self, model: str, version: str) -> dict[str, Any]:
        registry = LocalRegistry(resolve_spec("local").registry or "")
        record = registry.get_version(model, version)
        assert record is not None, f"no version {version} of {model}"
        return record["openapi_schema"]


class Replicate(Platform):
    kind = "replicate"

    def __init__(self, fake: FakeReplicate, models: PushedModels) -> None:
        self.fake = fake
        self.models = models

    def add_model(self, model: str) -> None:
        self.fake.add_model(model, hardware="cpu")

    def push_live(self, model: str, model_dir: Path) -> str:
        return self.models.push(model, model_dir)

    def latest(self, model: str) -> str | None:
        return self.fake.latest_version_id(model)

    def schema(self, model: str, version: str) -> dict[str, Any]:
        found = [v for v in self.fake.versions[model] if v["id"] == version]
        assert found, f"no version {version} of {model}"
        return found[0]["openapi_schema"]

    def run(self, model_dir: Path, *flags: str) -> tuple[int, dict[str, Any]]:
        cache_schema(model_dir)  # the stand-in cog reads it instead of generating it again
        return super().run(model_dir, *flags)


@pytest.fixture
def platform(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(tmp_path / "home"))
    # What models write to their temporary directory stays inside this test's directory,
    # in model processes (TMPDIR) and in this one (the fake Replicate runs models here).
    model_tmp = tmp_path / "model-tmp"
    model_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(model_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(model_tmp))
    if request.param == "local":
        yield Local()
        return
    with FakeReplicate(token=CANARY) as fake, PushedModels(fake) as models:
        monkeypatch.setenv("REPLICATE_API_TOKEN", CANARY)
        monkeypatch.setenv("REPLICATE_BASE_URL", fake.url)
        monkeypatch.setenv("FAKE_REPLICATE_URL", fake.url)
        monkeypatch.setenv("FAKE_COG_PYTHON", sys.executable)
        monkeypatch.setenv("PYTHONPATH", str(helpers.ROOT))
        monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
        yield Replicate(fake, models)


# --- running a case --------------------------------------------------------------------------


def use(model_dir: Path, name: str) -> None:
    """Put a family's live predictor ("family") or a variant ("family/variant") in place."""
    family, _, variant = name.partition("/")
    source = MODELS / family / (f"variants/{variant}.py" if variant else "predict.py")
    shutil.copyfile(source, model_dir / "predict.py")


def configure(model_dir: Path, model: str, extra: dict[str, Any]) -> dict[str, Any]:
    path = model_dir / "cog-safe-push.yaml"
    config = yaml.safe_load(path.read_text())
    config.update(model=model, test_model=f"{model}-test")
    config["predict"].update(extra)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


@dataclass
class Result:
    code: int
    report: dict[str, Any]
    config: dict[str, Any]
    live: str | None  # the live version's id before the run
    latest: str | None  # the model's latest version after it
    schema: Callable[[], dict[str, Any]]  # the pushed version's OpenAPI document


def run_case(case: Case, platform: Platform, tmp_path: Path) -> Result:
    family = case.candidate.partition("/")[0]
    model_dir = tmp_path / family
    shutil.copytree(MODELS / family, model_dir, ignore=shutil.ignore_patterns("variants"))
    model = f"acme/{case.id}"
    platform.add_model(model)
    live = None
    if case.live is not None:
        use(model_dir, case.live)
        live = platform.push_live(model, model_dir)
    use(model_dir, case.candidate)
    config = configure(model_dir, model, case.settings)
    code, report = platform.run(model_dir, "--seed", SEED)
    latest = platform.latest(model)
    return Result(code, report, config, live, latest, lambda: platform.schema(model, latest or ""))


# --- judging a case --------------------------------------------------------------------------


def troubled(stage_record: dict[str, Any]) -> list[dict[str, Any]]:
    """Predictions the stage failed, or that failed and were forgiven (a warning)."""
    return [p for p in stage_record["predictions"] if "failed" in (p["verdict"], p["status"])]


def fits(inputs: dict[str, Any], where: dict[str, Any]) -> bool:
    for name, wanted in where.items():
        value = inputs.get(name, _ABSENT)
        ok = wanted.test(value) if isinstance(wanted, Matches) else value == wanted
        if not ok:
            return False
    return True


def summary(result: Result) -> str:
    stages = [
        (s["name"], s["status"], (s["error"] or "")[:300], s["warnings"][:3])
        for s in result.report.get("stages", [])
    ]
    return f"exit {result.code}; {result.report.get('error')!r}; stages: {stages}"


def check_compared_every_input(result: Result, safe_twin: bool) -> None:
    """Outputs were compared on the test case, on the required inputs alone, and on fuzz
    inputs: at least three inputs, all of them passing for a safe twin."""
    compare = stage(result.report, COMPARE)
    records = compare["predictions"]
    seen = [r["inputs"] for r in records]
    case_inputs = result.config["predict"]["test_cases"][0]["inputs"]
    required = set(input_schema(result.schema()).get("required") or [])
    assert case_inputs in seen, f"the test case was not compared: {seen}"
    assert any(set(i) == required for i in seen), f"no comparison on required inputs: {seen}"
    distinct = {json.dumps(i, sort_keys=True) for i in seen}
    assert len(distinct) >= 3, f"fewer than 3 inputs compared: {seen}"
    if safe_twin:
        assert compare["status"] == "passed", summary(result)
        assert all(r["verdict"] == "passed" for r in records), records
    else:
        assert compare["status"] in ("passed", "warning"), summary(result)


def check(case: Case, result: Result) -> None:
    expected, report = case.expected, result.report
    assert result.code == expected.code, summary(result)
    if expected.code == 0:
        assert report["pushed"] is True, summary(result)
        assert result.latest == report["version"] != result.live
    else:
        assert report["pushed"] is False, summary(result)
        assert result.latest == result.live, "a blocked candidate reached the model"
    decisive = stage(report, expected.stage)
    assert decisive["status"] == expected.status, summary(result)
    problems = troubled(decisive)
    said = "\n".join(
        [decisive["error"] or "", *decisive["warnings"], *(p["message"] for p in problems)]
    )
    for text in expected.says:
        found = text.found_in(said) if isinstance(text, SlowerBy) else text.lower() in said.lower()
        assert found, f"{expected.stage} does not say {text!r}: {said[:2000]}"
    if expected.where:
        assert problems, f"{expected.stage}: no prediction failed or warned: {summary(result)}"
        for p in problems:
            assert fits(p["inputs"], expected.where), f"{p['label']} {p['inputs']}: {p['message']}"
    for name, status in expected.also.items():
        assert stage(report, name)["status"] == status, summary(result)
    every_log = "\n".join(p.get("logs") or "" for s in report["stages"] for p in s["predictions"])
    for line in expected.logs:
        assert line in every_log, f"{line!r} not in any prediction's logs"
    if expected.code == 0 and result.live is not None:
        check_compared_every_input(result, safe_twin=expected.status == "passed")


EVERY_PLATFORM = os.environ.get("COG_SAFE_PUSH_TEST_EVERY_PLATFORM") == "1"
RUNS = [
    pytest.param(kind, case, id=f"{kind}-{case.id}")
    for kind in BOTH
    for case in CASES
    if EVERY_PLATFORM or kind in case.platforms
]


@pytest.mark.parametrize(("platform", "case"), RUNS, indirect=["platform"])
def test_gate(platform: Platform, case: Case, tmp_path: Path) -> None:
    check(case, run_case(case, platform, tmp_path))


# --- the fake Replicate runs the real models ---------------------------------------------------


def test_pushed_versions_run_their_own_snapshot_with_real_tracebacks(tmp_path: Path) -> None:
    """No tool run: the runner itself, against the fake, through the real client."""
    model_dir = tmp_path / "text"
    shutil.copytree(MODELS / "text", model_dir, ignore=shutil.ignore_patterns("variants"))
    with FakeReplicate(token=CANARY) as fake, PushedModels(fake) as models:
        fake.add_model("acme/text")
        client = replicate.Client(api_token=CANARY, base_url=fake.url)
        use(model_dir, "text/logs")
        chatty = models.push("acme/text", model_dir)
        use(model_dir, "text/crash_empty")  # edited after the push: the version keeps its code
        crashes = models.push("acme/text", model_dir)

        ok = client.predictions.create(version=chatty, input={"text": ""}, wait=True)
        assert ok.status == "succeeded" and ok.output == "initial=- bytes=- length=0"
        assert "describing 0 characters" in ok.logs and "encoding as UTF-8" in ok.logs

        bad = client.predictions.create(version=crashes, input={}, wait=True)
        assert bad.status == "succeeded" and bad.output == "initial=H bytes=68656c6c length=5"
        bad = client.predictions.create(version=crashes, input={"text": ""}, wait=True)
        assert bad.status == "failed" and bad.error == CRASH
        assert "Traceback (most recent call last):" in bad.logs
        assert "initial = text[0].upper()" in bad.logs
        assert bad.logs.rstrip().endswith(f"IndexError: {CRASH}")


def test_outputs_cog_cannot_serialise_fail_like_cog(tmp_path: Path) -> None:
    model_dir = tmp_path / "odd"
    shutil.copytree(MODELS / "text", model_dir, ignore=shutil.ignore_patterns("variants"))
    (model_dir / "predict.py").write_text(
        '"""Returns what JSON cannot hold."""\n\nfrom typing import Any\n\n'
        "from cog import BasePredictor, Input\n\n\nclass Predictor(BasePredictor):\n"
        '    def predict(self, n: int = Input(description="How many", default=1)) -> Any:\n'
        "        return {'items': [object()] * n}\n"
    )
    with FakeReplicate(token=CANARY) as fake, PushedModels(fake) as models:
        fake.add_model("acme/odd")
        version = models.push("acme/odd", model_dir)
        behaviour = fake.behaviours[version].fn
        with pytest.raises(TypeError) as caught:
            behaviour({})
    assert str(caught.value) == (
        "Failed to serialize output: TypeError: Object of type object is not JSON serializable"
    )


def test_a_behaviour_can_log_what_the_model_printed() -> None:
    """The fake keeps a behaviour's own log lines, and a raised exception's type."""

    def chatty(inputs: dict[str, Any]) -> Logged:
        return Logged("done", "step 1\nstep 2\n")

    def broken(inputs: dict[str, Any]) -> str:
        error = KeyError("prompt")
        error.logs = "loading\n"  # type: ignore[attr-defined]
        raise error

    with FakeReplicate(token=CANARY) as fake:
        fake.add_model("acme/x")
        first = fake.add_version("acme/x", helpers.openapi({"prompt": helpers.prop()}))
        second = fake.add_version("acme/x", helpers.openapi({"prompt": helpers.prop()}))
        fake.set_behaviour(first, chatty)
        fake.set_behaviour(second, broken)
        client = replicate.Client(api_token=CANARY, base_url=fake.url)
        ok = client.predictions.create(version=first, input={}, wait=True)
        failed = client.predictions.create(version=second, input={}, wait=True)
    assert ok.output == "done" and "step 1\nstep 2\n" in ok.logs
    assert failed.status == "failed" and failed.error == "'prompt'"
    assert failed.logs.index("loading") < failed.logs.index("Traceback (most recent call last):")
    assert failed.logs.rstrip().endswith("KeyError: 'prompt'")
