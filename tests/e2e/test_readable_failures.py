"""Failures a person can read: one line per failed prediction, short final lines, the model's
own logs kept in the report and shown with -v. The real CLI on a real failing Cog model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

FAILING = """
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        text: str = Input(description="Some text", default="hello"),
        repeat: int = Input(description="How many times", ge=1, le=5, default=1),
    ) -> str:
        print(f"working on {text!r} x{repeat}")
        if repeat >= 3:
            raise ValueError("repeat must stay below three, " + "really " * 300)
        return text * repeat
"""


def cli(folder: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COG_SAFE_PUSH_HOME": str(folder.parent / "registry")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", "--no-push", *flags],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_failures_are_one_line_each_and_the_logs_are_kept(tmp_path):
    folder = tmp_path / "failing"
    folder.mkdir()
    (folder / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(FAILING)
    (folder / "cog-safe-push.yaml").write_text(
        "model: acme/failing\npredict:\n  test_cases:\n"
        "    - inputs: {text: hi, repeat: 4}\n"
        "    - inputs: {text: ok}\n"
    )
    report_path = tmp_path / "report.json"
    done = cli(folder, "--fuzz-iterations", "0", "--report-json", str(report_path))
    assert done.returncode == 1
    err = done.stderr
    assert "Traceback" not in err
    assert "Prediction failed: Prediction failed" not in err
    assert "prediction failed: ValueError: repeat must stay below three" in err
    (line,) = [ln for ln in err.splitlines() if ln.strip().startswith("✗")]
    assert "test cases / test case 1 (must succeed)" in line
    assert '"repeat": 4' in line and len(line) < 400
    assert all(len(ln) < 500 for ln in err.splitlines())
    assert "working on 'hi' x4" not in err  # the model's logs only with -v
    report = json.loads(report_path.read_text())
    (case, _) = next(s for s in report["stages"] if s["name"] == "test cases")["predictions"]
    assert "working on 'hi' x4" in case["logs"]
    assert case["error"].count("really") == 300  # the JSON report keeps it whole
    verbose = cli(folder, "--fuzz-iterations", "0", "-v")
    assert verbose.returncode == 1
    assert "working on 'hi' x4" in verbose.stderr


PLAIN = """
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Some text", default="hi")) -> str:
        return text
"""

NEWER_COG = """
from cog import BasePredictor, Input
from cog.types import Weights


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Some text", default="hi")) -> str:
        return f"{text} {Weights.__name__}"
"""


def model(where: Path, source: str, cog_yaml: str) -> Path:
    folder = where / "model"
    folder.mkdir()
    (folder / "cog.yaml").write_text(cog_yaml + 'predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(source)
    (folder / "cog-safe-push.yaml").write_text(
        "model: acme/env\npredict:\n  fuzz:\n    iterations: 1\n"
    )
    return folder


def test_a_build_this_interpreter_does_not_meet_is_a_warning_naming_python(tmp_path):
    folder = model(
        tmp_path,
        PLAIN,
        'build:\n  python_version: "3.12"\n  python_packages:\n    - "pillow==12.0.0"\n',
    )
    done = cli(folder)
    assert done.returncode == 0, done.stderr[-2000:]  # a warning, not a failure
    assert "3.12" in done.stderr and "--python" in done.stderr
    assert "pillow" in done.stderr


def test_a_model_that_needs_a_newer_cog_fails_with_one_line(tmp_path):
    folder = model(tmp_path, NEWER_COG, "")
    done = cli(folder, "--report-json", str(tmp_path / "report.json"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    push = next(s for s in report["stages"] if s["name"] == "push test model")
    assert push["status"] == "failed" and "\n" not in push["error"]
    assert "cog.types import Weights" in push["error"] and "needs a newer Cog" in push["error"]
