"""Confirm what landed, end to end on the replicate platform (issue #20, point 6).

The real command line, the real `replicate` client and the stand-in `cog` against the fake
Replicate API. The fake's `push_hook` runs as a push lands, so a test scripts what the API
does right after the final `cog push`: fail (500s until the retries run out), show someone
else's version as the latest, or hold a schema other than the tested one. Each ends with exit
4, one line that says it was pushed but not confirmed, and the deployment left where it was.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.platforms.replicate import calls
from tests import helpers
from tests.fakes.replicate_server import FakeReplicate
from tests.helpers import (
    CANARY,
    copy_example,
    edit,
    hello_behaviour,
    set_config,
    stage,
    use_fake_replicate,
)

MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"
DEPLOYMENT = "acme/hello-prod"
VERSIONS = "/v1/models/{owner}/{name}/versions"


hello = hello_behaviour()


@pytest.fixture
def fake(monkeypatch, tmp_path):
    with FakeReplicate(token=CANARY) as server:
        server.add_model(MODEL, hardware="cpu")
        server.set_behaviour(MODEL, hello)
        server.set_behaviour(TEST_MODEL, hello)
        use_fake_replicate(monkeypatch, server.url, tmp_path / "cache")
        monkeypatch.setattr(calls, "BACKOFF_BASE", 0.01)  # the same retries, sooner
        yield server


@pytest.fixture
def model_dir(tmp_path):
    target = copy_example("hello", tmp_path)
    set_config(target, model=MODEL, test_model=TEST_MODEL, deployment={"name": "hello-prod"})
    return target


def run(model_dir: Path, *flags: str) -> tuple[int, dict]:
    return helpers.run(model_dir, "--platform", "replicate", "--fuzz-iterations", "0", *flags)


def served(fake: FakeReplicate) -> str:
    return fake.deployments[DEPLOYMENT]["current_release"]["version"]


class AfterPush:
    """Counts the API requests made after the final push to `ref` lands, and runs `action`
    (given the new version id) at that moment."""

    def __init__(self, fake: FakeReplicate, ref: str, action: Callable[[str], None]) -> None:
        self.fake, self.ref, self.action = fake, ref, action
        self.mark: int | None = None
        fake.push_hook = self

    def __call__(self, ref: str, version: str, body: dict) -> None:
        if ref == self.ref:
            self.mark = len(self.fake.requests)
            self.action(version)

    def requests(self, method: str, path: str) -> int:
        assert self.mark is not None, "nothing was pushed to the model"
        later = self.fake.requests[self.mark :]
        return sum(1 for r in later if r["method"] == method and r["path"] == path)


def live_and_changed(fake: FakeReplicate, model_dir: Path) -> str:
    """A first run makes the live version and the deployment; then the code changes."""
    code, report = run(model_dir)
    assert code == 0, report
    assert served(fake) == report["version"]
    edit(model_dir / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Hello"  # v2')
    return report["version"]


def test_a_confirmed_push_reads_the_latest_once_then_updates_the_deployment(fake, model_dir):
    live = live_and_changed(fake, model_dir)
    after = AfterPush(fake, MODEL, lambda version: None)
    code, report = run(model_dir)
    assert code == 0 and report["status"] == "passed", report
    assert report["version"] == fake.latest_version_id(MODEL) != live
    assert after.requests("GET", f"/v1/models/{MODEL}/versions") == 1
    assert "confirmed" in (stage(report, "push")["detail"] or "")
    assert served(fake) == report["version"]


def test_an_api_failing_after_the_push_exits_4_in_one_line(fake, model_dir, capfd, tmp_path):
    live = live_and_changed(fake, model_dir)
    attempts = ["500"] * calls.ATTEMPTS
    after = AfterPush(fake, MODEL, lambda version: fake.fail_next("GET", VERSIONS, *attempts))
    junit = tmp_path / "junit.xml"
    capfd.readouterr()
    code, report = run(model_dir, "--junit-xml", str(junit))
    terminal = capfd.readouterr().err
    pushed = fake.latest_version_id(MODEL)
    assert code == 4, report
    assert report["status"] == "unconfirmed" and report["pushed"] is True
    assert report["version"] == pushed != live
    # every retry of the one read was spent, and nothing touched the deployment afterwards
    assert after.requests("GET", f"/v1/models/{MODEL}/versions") == calls.ATTEMPTS
    assert fake.faults_injected["500"] == calls.ATTEMPTS
    assert after.requests("PATCH", f"/v1/deployments/{DEPLOYMENT}") == 0
    assert served(fake) == live
    assert stage(report, "deployment")["status"] == "skipped"
    confirm = stage(report, "confirm push")
    assert confirm["status"] == "failed" and "500" in confirm["error"]
    lines = [line for line in terminal.splitlines() if "not confirmed" in line]
    assert len(lines) == 1, terminal
    assert lines[0].startswith(
        "cog-safe-push: pushed, but not confirmed: could not read the latest version of "
        "acme/hello after the push"
    )
    assert f"deployment {DEPLOYMENT} not updated" in lines[0]
    assert lines[0].endswith(f"; version {MODEL}:{pushed}")
    assert not any(
        line.rstrip().endswith(f"pushed {MODEL}:{pushed}") for line in terminal.splitlines()
    )
    failures = [
        c for c in ET.parse(junit).getroot().iter("testcase") if c.find("failure") is not None
    ]
    assert [c.get("name") for c in failures] == ["confirm push"]


def test_another_version_that_appears_as_latest_exits_4(fake, model_dir):
    live = live_and_changed(fake, model_dir)
    schema = fake.versions[MODEL][0]["openapi_schema"]
    others: list[str] = []
    AfterPush(fake, MODEL, lambda version: others.append(fake.add_version(MODEL, schema)))
    code, report = run(model_dir)
    assert code == 4 and report["status"] == "unconfirmed", report
    pushed = fake.pushes[-1]["id"]
    assert report["pushed"] is True and report["version"] == pushed
    assert fake.latest_version_id(MODEL) == others[0] != pushed
    assert f"is {others[0]}, not the one pushed" in stage(report, "confirm push")["error"]
    assert served(fake) == live


def test_a_pushed_schema_other_than_the_tested_one_exits_4(fake, model_dir):
    live = live_and_changed(fake, model_dir)

    def rebuilt_differently(version: str) -> None:
        landed = fake.versions[MODEL][0]
        schema = copy.deepcopy(landed["openapi_schema"])
        schema["components"]["schemas"]["Output"]["description"] = "not what was tested"
        landed["openapi_schema"] = schema

    AfterPush(fake, MODEL, rebuilt_differently)
    code, report = run(model_dir)
    assert code == 4 and report["status"] == "unconfirmed", report
    assert report["version"] == fake.latest_version_id(MODEL)
    assert "differs from the tested one (Output)" in stage(report, "confirm push")["error"]
    assert served(fake) == live


@pytest.mark.parametrize("overtaken", [False, True], ids=["confirmed", "overtaken"])
def test_an_official_model_push_is_confirmed_by_its_version_alone(fake, model_dir, overtaken):
    official = "acme/hello-official"
    set_config(model_dir, official_model=official)
    fake.add_model(official, official=True, visibility="public")
    others: list[str] = []

    def action(version: str) -> None:
        if overtaken:
            schema = fake.versions[official][0]["openapi_schema"]
            others.append(fake.add_version(official, schema))

    after = AfterPush(fake, official, action)
    code, report = run(model_dir, "--push-official-model")
    # an official model lists no versions (404): its own latest_version says what landed
    assert after.requests("GET", f"/v1/models/{official}/versions") == 1
    assert after.requests("GET", f"/v1/models/{official}") == 1
    if not overtaken:
        assert code == 0 and report["status"] == "passed", report
        assert [s["name"] for s in report["stages"]] == ["preflight", "push official model"]
        assert "schema not compared" in stage(report, "push official model")["detail"]
    else:
        assert code == 4 and report["status"] == "unconfirmed", report
        assert report["pushed"] is True and report["version"] == fake.pushes[-1]["id"]
        assert f"is {others[0]}, not the one pushed" in report["error"]
