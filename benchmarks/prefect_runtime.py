"""Benchmark: what the Prefect runtime costs a command-line run.

The workload of the runtime issue: 20 fuzz inputs, an output comparison (2 predictions) and
2 test cases, so 24 predictions, `--parallel 4`, every prediction taking `--latency` seconds
(5 by default) on the fake Replicate API. The real CLI runs as a subprocess with a fresh HOME
and tool home and no PREFECT_API_URL, as a new user's would.

Prints, cold (no managed Prefect server yet, so the run starts it) and warm (it runs):
  whole    the run's wall time
  fixed    the same run with 0 predictions (no fuzzing, no test cases, no comparison)
  marginal (whole - fixed) / (ceil(24 / 4) x latency): 1.00 is a perfect scheduler
and the time of `--help` and of a usage error (exit 2).

Run: .venv/bin/python benchmarks/prefect_runtime.py [--latency 5] [--busy 2]
`--busy N` keeps N CPU-bound processes running throughout, like a shared CI runner.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.harness import hello, subprocess_env  # noqa: E402
from tests.fakes.busy_cpu import busy_cpu  # noqa: E402
from tests.fakes.replicate_server import FakeReplicate  # noqa: E402

TOKEN = "r8_benchmark_token"
MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"
PREDICTIONS = 24

CONFIG = f"""\
model: {MODEL}
test_model: {TEST_MODEL}
test_hardware: cpu
parallel: 4
predict:
  compare_outputs: true
  predict_timeout: 120
  test_cases:
    - inputs: {{name: Ada}}
      exact_string: "Hello, Ada!"
    - inputs: {{name: Grace, repeat: 2}}
  fuzz:
    iterations: 20
    disabled_inputs: [seed]
"""


class Bench:
    def __init__(self, work: Path, fake: FakeReplicate) -> None:
        self.work = work
        self.model_dir = work / "hello"
        shutil.copytree(ROOT / "examples" / "hello", self.model_dir)
        (self.model_dir / "cog-safe-push.yaml").write_text(CONFIG)
        fixed = CONFIG.split("predict:")[0] + "predict:\n  compare_outputs: false\n"
        (self.model_dir / "fixed.yaml").write_text(fixed + "  fuzz:\n    iterations: 0\n")
        self.env = subprocess_env(work, fake.url, TOKEN, ROOT / "tests" / "fakes" / "bin")
        (work / "home").mkdir()

    def cli(self, *args: str, cwd: Path | None = None, env: dict | None = None) -> float:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "flows.safe_push", *args],
            cwd=str(cwd or self.model_dir),
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        self.last = done
        return seconds

    def run(self, *flags: str) -> float:
        seconds = self.cli("--platform", "replicate", "--no-push", *flags)
        if self.last.returncode != 0:
            raise SystemExit(f"run failed ({self.last.returncode}):\n{self.last.stderr[-3000:]}")
        return seconds

    def whole(self) -> float:
        return self.run()

    def fixed(self) -> float:
        return self.run("--config", "fixed.yaml")

    def stop_server(self) -> None:
        self.cli("server", "stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=5.0)
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes alongside")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cog-safe-push-bench-"))
    try:
        with FakeReplicate(token=TOKEN) as fake, busy_cpu(args.busy):
            fake.add_model(MODEL)
            fake.set_behaviour(MODEL, hello)
            fake.set_behaviour(TEST_MODEL, hello)
            bench = Bench(work, fake)
            # The live version to compare against, pushed with a throwaway server (not timed).
            bench.cli("--platform", "replicate", "--fuzz-iterations", "0", "--no-server")
            assert bench.last.returncode == 0, bench.last.stderr[-3000:]
            fake.latency = args.latency

            help_times = [bench.cli("--help") for _ in range(3)]
            usage_times = [bench.cli("acme/x", cwd=work) for _ in range(3)]
            assert bench.last.returncode == 2, bench.last.stderr

            cold_whole = bench.whole()  # starts the managed server
            warm_whole = bench.whole()
            warm_fixed = bench.fixed()
            bench.stop_server()
            cold_fixed = bench.fixed()
            bench.stop_server()
            runs = fake.count("POST", "/v1/predictions")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ideal = math.ceil(PREDICTIONS / 4) * args.latency
    print(
        f"workload: {PREDICTIONS} predictions, parallel 4, {args.latency:g} s each "
        f"(ideal {ideal:g} s); {args.busy} busy process(es); {runs} creates in all"
    )
    print(
        f"--help: {statistics.median(help_times):.2f} s; usage error: "
        f"{statistics.median(usage_times):.2f} s (median of 3)"
    )
    for label, whole, fixed in (("cold", cold_whole, cold_fixed), ("warm", warm_whole, warm_fixed)):
        marginal = (whole - fixed) / ideal
        print(f"{label}: whole {whole:.1f} s, fixed {fixed:.1f} s, marginal {marginal:.2f}")


if __name__ == "__main__":
    main()
