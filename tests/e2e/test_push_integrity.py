"""What is pushed is exactly what was tested, by one run at a time, against a fresh baseline.

End to end on the local platform with real Cog models. The models here reach outside their
sandbox on purpose (through COG_TEST_* variables, which the allowlist passes) to play the
careless or hostile world: a developer editing the directory mid-run, someone pushing to the
live model while the run is checking it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flows.lease import lease_name, model_lease
from tasks.platforms import resolve_spec
from tasks.platforms.local.registry import LocalRegistry
from tasks.schema.diff import breaking, diff_schemas
from tests.helpers import ROOT, copy_example, run, stage, versions, wait_for

pytestmark = pytest.mark.usefixtures("registry")
EXAMPLE_MODEL = "examples/hello"

EDITS_ITSELF = """
import os
from pathlib import Path
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, name: str = Input(description="Who to greet", default="world")) -> str:
        (Path(os.environ["COG_TEST_SOURCE"]) / "notes.txt").write_text("edited after the push")
        return f"Hello, {name}!"
"""

PUSHES_TO_LIVE = """
import os
import sys
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, name: str = Input(description="Who to greet", default="world")) -> str:
        sys.path.insert(0, os.environ["COG_TEST_REPO"])
        from tasks.core.platform_data import PlatformSpec, PushOptions
        from tasks.platforms.local.platform import LocalPlatform

        live = LocalPlatform(PlatformSpec(kind="local", registry=os.environ["COG_TEST_REGISTRY"]))
        if len(live.list_versions("acme/raced")) < 2:  # once: the "someone else" push
            live.push("acme/raced", os.environ["COG_TEST_OTHER"], PushOptions())
        live.close()
        return f"Hello, {name}!"
"""

PLAIN = """
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, name: str = Input(description="Who to greet", default="world")) -> str:
        return f"Hello, {name}!"
"""

WITH_EXTRA_INPUT = """
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        name: str = Input(description="Who to greet", default="world"),
        title: str = Input(description="A title to use"),
    ) -> str:
        return f"Hello, {title} {name}!"
"""


def model(where: Path, name: str, source: str, config: str = "") -> Path:
    folder = where / name.replace("/", "-")
    folder.mkdir(parents=True)
    (folder / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(source)
    (folder / "cog-safe-push.yaml").write_text(
        f"model: {name}\npredict:\n  test_cases:\n    - inputs: {{name: Ada}}\n{config}"
    )
    return folder


def test_an_edit_after_the_test_push_is_never_pushed(tmp_path, monkeypatch):
    folder = model(tmp_path, "acme/edited", EDITS_ITSELF)
    monkeypatch.setenv("COG_TEST_SOURCE", str(folder))
    code, report = run(folder, "--fuzz-iterations", "0")
    assert code == 1, report
    push = stage(report, "push")
    assert push["status"] == "failed"
    assert "the Cog directory changed since it was tested" in push["error"]
    assert (folder / "notes.txt").is_file()  # the edit did happen
    assert versions("acme/edited") == []
    assert report["pushed"] is False


def test_the_local_platform_pushes_the_tested_snapshot_itself(tmp_path):
    folder = model(tmp_path, "acme/promoted", PLAIN)
    code, report = run(folder, "--fuzz-iterations", "0")
    assert code == 0, report
    (pushed,) = versions("acme/promoted")
    assert pushed == report["version"] == versions("acme/promoted-test")[-1]
    registry = LocalRegistry(os.environ["COG_SAFE_PUSH_HOME"])
    record = registry.get_version("acme/promoted", pushed)
    assert record["promoted_from"] == {"model": "acme/promoted-test", "version": pushed}


def test_a_live_version_pushed_during_the_run_is_checked_again(tmp_path, monkeypatch):
    """Someone pushes a version with a new required input while the run checks: the run's
    code (without that input) would break its callers, so nothing is pushed."""
    first = model(tmp_path, "acme/raced", PLAIN)
    assert run(first, "--fuzz-iterations", "0")[0] == 0
    other = model(tmp_path / "other", "acme/raced", WITH_EXTRA_INPUT)
    ours = model(tmp_path / "ours", "acme/raced", PUSHES_TO_LIVE)
    monkeypatch.setenv("COG_TEST_REPO", str(ROOT))
    monkeypatch.setenv("COG_TEST_REGISTRY", os.environ["COG_SAFE_PUSH_HOME"])
    monkeypatch.setenv("COG_TEST_OTHER", str(other))
    before = versions("acme/raced")
    code, report = run(ours, "--fuzz-iterations", "0", "--no-compare-outputs")
    raced = versions("acme/raced")
    assert len(raced) == len(before) + 1  # the outside push happened mid-run
    assert code == 1, report
    recheck = [s for s in report["stages"] if s["name"].startswith("schema compatibility (against")]
    assert recheck and recheck[0]["status"] == "failed" and "title" in recheck[0]["error"]
    assert versions("acme/raced") == raced  # and we pushed nothing on top


def test_two_runs_at_once_never_leave_a_breaking_change_in_the_history(tmp_path):
    """Run A adds an optional input; run B, the old code, starts while A holds the model's
    lease. B waits, is then checked against what A pushed, and fails without pushing.

    A's model holds its setup until B says it is waiting, so the overlap does not depend on
    how fast either run is."""
    base = copy_example("hello", tmp_path / "base")
    assert run(base, "--fuzz-iterations", "0")[0] == 0
    release = tmp_path / "release-a"
    a = copy_example("hello", tmp_path / "a")
    text = (a / "predict.py").read_text()
    hold = f"Path({str(release)!r}).exists() or time.sleep(0.1)"
    (a / "predict.py").write_text(
        text.replace(
            "    ) -> str:",
            '        shout: bool = Input(description="Greet loudly", default=False),\n'
            "    ) -> str:",
        )
        .replace(
            'self.greeting = "Hello"',
            'self.greeting = "Hello"\n'
            f"        deadline = time.monotonic() + 120\n"
            f"        while time.monotonic() < deadline and not {hold}:\n"
            "            pass",
        )
        .replace("from cog import", "import time\nfrom pathlib import Path\nfrom cog import")
    )
    b = copy_example("hello", tmp_path / "b")
    (b / "predict.py").write_text((b / "predict.py").read_text() + "\n# b\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(name: str, folder: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable, "-m", "flows.safe_push", "--platform", "local",
                "--fuzz-iterations", "2", "--report-json", str(tmp_path / f"{name}.json"),
            ],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    procs = {"a": start("a", a)}
    wait_for(
        lambda: _lease_held() or procs["a"].poll() is not None, 120, "run A to take the lease", 0.1
    )
    assert _lease_held(), procs["a"].communicate()[0]
    procs["b"] = start("b", b)
    b_lines: list[str] = []
    waiting = threading.Event()

    def read_b() -> None:
        for line in procs["b"].stdout:  # type: ignore[union-attr]
            b_lines.append(line)
            if "holds its lease" in line:
                waiting.set()

    reader = threading.Thread(target=read_b, daemon=True)
    reader.start()
    b_waited = waiting.wait(timeout=180)
    release.touch()
    outputs = {"a": procs["a"].communicate(timeout=600)[0]}
    procs["b"].wait(timeout=600)
    reader.join(timeout=10)
    outputs["b"] = "".join(b_lines)
    assert b_waited, outputs["b"]  # B said it was waiting for A's lease
    assert "ConcurrencySlotAcquisition" not in outputs["b"]  # in words, not Prefect's internals
    reports = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in procs}
    assert procs["a"].returncode == 0 and reports["a"]["pushed"], outputs["a"]
    assert "model lease" not in [s["name"] for s in reports["a"]["stages"]]
    assert procs["b"].returncode == 1 and not reports["b"]["pushed"], outputs["b"]
    assert stage(reports["b"], "model lease")["status"] == "passed"
    compatibility = stage(reports["b"], "schema compatibility")
    assert compatibility["status"] == "failed" and "shout" in compatibility["error"]
    registry = LocalRegistry(os.environ["COG_SAFE_PUSH_HOME"])
    history = [registry.get_version(EXAMPLE_MODEL, v) for v in versions(EXAMPLE_MODEL)]
    assert len(history) == 2  # the base version and A's
    old, new = history
    assert breaking(diff_schemas(old["openapi_schema"], new["openapi_schema"])) == []


def _lease_held() -> bool:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(
                lease_name(resolve_spec("local"), EXAMPLE_MODEL)
            )
        except Exception:  # noqa: BLE001 - not created yet
            return False
    return limit.active_slots > 0


@pytest.mark.parametrize(
    "flags, named",
    [((), "nosuch"), (("--fuzz-fixed-inputs", "alsonot=1"), "alsonot")],
    ids=["test case input", "fixed fuzz input"],
)
def test_inputs_the_model_does_not_have_fail_the_run_naming_them(tmp_path, flags, named):
    folder = model(tmp_path, "acme/strict", PLAIN)
    config = (folder / "cog-safe-push.yaml").read_text()
    if not flags:
        config = config.replace("{name: Ada}", "{name: Ada, nosuch: 1}")
    (folder / "cog-safe-push.yaml").write_text(config)
    code, report = run(folder, "--fuzz-iterations", "2", *flags)
    assert code == 2, report  # bad input, not a failed check
    inputs = stage(report, "inputs")
    assert inputs["status"] == "failed"
    assert named in inputs["error"] and "its inputs are: name" in inputs["error"]
    assert "test cases" not in [s["name"] for s in report["stages"]]  # nothing was sent
    assert versions("acme/strict") == []


def test_a_run_that_cannot_get_the_lease_fails_and_pushes_nothing(tmp_path, monkeypatch, capfd):
    """Another run holds the model for longer than we wait: exit 1, named, nothing pushed.
    A test-only run needs no lease and goes ahead."""
    hello = copy_example("hello", tmp_path)
    monkeypatch.setenv("COG_SAFE_PUSH_LEASE_TIMEOUT", "3")
    warnings: list[str] = []
    with model_lease(resolve_spec("local"), EXAMPLE_MODEL, on_wait=warnings.append) as lease:
        assert lease.waited == 0.0 and lease.took_over is None and warnings == []
        code, report = run(hello, "--fuzz-iterations", "0")
        assert code == 1, report
        assert stage(report, "model lease")["status"] == "failed"
        assert "another run of examples/hello" in report["error"]
        assert report["pushed"] is False and versions(EXAMPLE_MODEL) == []
        terminal = capfd.readouterr().err
        assert f"another run of examples/hello holds its lease (pid {os.getpid()} on " in terminal
        assert "; waiting for it to finish" in terminal
        assert "ConcurrencySlotAcquisition" not in terminal
        code, report = run(hello, "--fuzz-iterations", "0", "--no-push")
        assert code == 0, report
        assert "model lease" not in [s["name"] for s in report["stages"]]
    code, report = run(hello, "--fuzz-iterations", "0")  # released: the next run pushes
    assert code == 0 and "model lease" not in [s["name"] for s in report["stages"]]
    assert len(versions(EXAMPLE_MODEL)) == 1
