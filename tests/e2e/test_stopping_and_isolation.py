"""Stopping a run and what a model may see, on the real local platform.

- After --fail-fast (or a signal) no new prediction starts: queued ones are skipped, not run.
- SIGTERM during a model's setup() ends the run at once instead of waiting out the setup.
- The model under test gets an allowlisted environment: none of our credentials.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.core.platform_data import PlatformSpec, PushOptions
from tasks.platforms.local.platform import LocalPlatform
from tests.helpers import ROOT, run, wait_for

COUNTING = """
import os
import time
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, n: int = Input(description="Which call", default=0)) -> str:
        with open(os.environ["COG_TEST_CALLS"], "a") as calls:
            calls.write(f"{n}\\n")
        if n % 2 == 0:
            raise RuntimeError(f"even {n}")
        time.sleep(1)
        return f"ok {n}"
"""

SLOW_SETUP = """
import os
import time
from pathlib import Path
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        Path(os.environ["COG_TEST_IN_SETUP"]).touch()
        time.sleep(300)

    def predict(self, text: str = Input(description="Anything", default="x")) -> str:
        return text
"""

ENVIRONMENT = """
import os
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, prefix: str = Input(description="Only names starting so", default="")) -> str:
        return " ".join(sorted(name for name in os.environ if name.startswith(prefix)))
"""


def model(where: Path, source: str, config: str) -> Path:
    folder = where / "model"
    folder.mkdir()
    (folder / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(source)
    (folder / "cog-safe-push.yaml").write_text(config)
    return folder


@pytest.mark.usefixtures("registry")
def test_after_fail_fast_no_queued_prediction_starts(tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    calls.touch()
    monkeypatch.setenv("COG_TEST_CALLS", str(calls))
    folder = model(
        tmp_path,
        COUNTING,
        "model: acme/counting\nparallel: 1\npredict:\n  test_cases:\n"
        + "".join(f"    - inputs: {{n: {n}}}\n" for n in range(8)),
    )
    code, report = run(folder, "--fail-fast", "--fuzz-iterations", "0")
    assert code == 1
    started = calls.read_text().split()
    # test case 1 (n=0) fails; with one worker nothing after it may reach the model
    assert started == ["0"], started
    cases = next(s for s in report["stages"] if s["name"] == "test cases")["predictions"]
    assert [c["verdict"] for c in cases][1:] == ["skipped"] * 7


def test_sigterm_during_setup_ends_the_run_without_waiting_for_setup(tmp_path):
    folder = model(
        tmp_path,
        SLOW_SETUP,
        "model: acme/slow-setup\npredict:\n  test_cases:\n    - inputs: {text: hi}\n",
    )
    in_setup = tmp_path / "in-setup"
    env = {
        **os.environ,
        "COG_SAFE_PUSH_HOME": str(tmp_path / "registry"),
        "PYTHONPATH": str(ROOT),
        "COG_TEST_IN_SETUP": str(in_setup),  # COG_*: the model's environment allowlist passes it
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", "--no-push"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(in_setup.exists, 180, "the model to enter setup()", interval=0.2)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    took = time.monotonic() - sent
    print(f"exit {proc.returncode} {took:.1f} s after SIGTERM")
    assert proc.returncode != 0
    assert took < 60, output[-2000:]  # the setup would have taken 300 s
    assert "Traceback" not in output


def test_the_model_never_sees_our_credentials(tmp_path, monkeypatch):
    secrets = {
        "REPLICATE_API_TOKEN": "r8_secret",
        "ANTHROPIC_API_KEY": "sk-secret",
        "PREFECT_API_KEY": "pnu_secret",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "HF_TOKEN": "hf_secret",
        "GITHUB_TOKEN": "ghp_secret",
        "COG_TOKEN": "cog-secret",
        "SOME_PASSWORD": "hunter2",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HF_HOME", "/tmp/hf")
    monkeypatch.setenv("COG_SAFE_PUSH_MODEL_ENV", "HF_HOME")
    folder = model(tmp_path, ENVIRONMENT, "model: acme/env\n")
    platform = LocalPlatform(PlatformSpec(kind="local", registry=str(tmp_path / "registry")))
    try:
        version = platform.push("acme/env", str(folder), PushOptions())
        result = platform.predict("acme/env", version, {}, timeout=120)
    finally:
        platform.close()
    assert result.ok, result.error
    seen = set(result.output.split())
    assert not seen & set(secrets), seen & set(secrets)
    assert not any(name.startswith("AWS_") for name in seen)
    assert {"PATH", "HOME", "HF_HOME"} <= seen
    assert json.dumps(result.output).count("secret") == 0
