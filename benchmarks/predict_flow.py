"""Benchmark: the predict flow on the replicate platform against the fake Replicate API.

Prints: wall seconds of a 20-iteration fuzz run at parallel 4 with a fixed per-prediction
latency, the ideal lower bound (fixed stages + ceil(predictions / parallel) x latency) and the
ratio; API requests per prediction; GPU-seconds spent after the first failed check of a
failing run with and without --fail-fast; GPU-seconds of an unchanged rerun against the first run.

Run: .venv/bin/python benchmarks/predict_flow.py [--latency 1.0] [--iterations 20]
It starts its own Prefect server (SQLite in a temporary directory) unless PREFECT_API_URL is set.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.harness import hello, prefect_server, run_cli, use_fake_replicate  # noqa: E402

WORK = Path(tempfile.mkdtemp(prefix="cog-safe-push-bench-"))
TOKEN = "r8_benchmark_token"
MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"
PREDICTION_STAGES = {"compare outputs", "test cases", "fuzz"}


def crashes_on_three(inputs: dict) -> str:
    if int(inputs.get("repeat", 1)) == 3:
        raise RuntimeError("cannot repeat three times")
    return hello(inputs)


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def gpu_seconds(fake, since: float | None = None, ids: set[str] | None = None) -> float:
    """Seconds models spent processing (after `since`, a wall-clock timestamp, if given)."""
    total = 0.0
    now = time.time()
    for run in fake.runs.values():
        if ids is not None and run.id not in ids:
            continue
        start, end = _ts(run.started_at), _ts(run.completed_at) or now
        if start is None:
            continue
        if since is not None:
            start = max(start, since)
        total += max(0.0, end - start)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()

    from tests.fakes.replicate_server import FakeReplicate

    use_fake_replicate(WORK, TOKEN)
    model_dir = WORK / "hello"
    shutil.copytree(ROOT / "examples" / "hello", model_dir)
    config = (model_dir / "cog-safe-push.yaml").read_text()
    config = config.replace("model: examples/hello\n", f"model: {MODEL}\n")
    (model_dir / "cog-safe-push.yaml").write_text(config.replace("examples/hello-test", TEST_MODEL))
    common = [
        "--parallel",
        str(args.parallel),
        "--fuzz-iterations",
        str(args.iterations),
        "--seed",
        "1",
        "--fuzz-fixed-inputs",
        "seed=7",
        "-v",
    ]
    with prefect_server(WORK), FakeReplicate(token=TOKEN) as fake:
        os.environ["REPLICATE_BASE_URL"] = fake.url
        os.environ["FAKE_REPLICATE_URL"] = fake.url
        fake.add_model(MODEL)
        fake.set_behaviour(MODEL, hello)
        fake.set_behaviour(TEST_MODEL, hello)
        # A live version to compare against (not measured).
        assert run_cli(model_dir, WORK, "--fuzz-iterations", "0")[0] == 0

        fake.latency = args.latency
        fake.reset_counts()
        before = set(fake.runs)
        code, report, wall = run_cli(model_dir, WORK, "--no-push", *common)
        assert code == 0, report["error"]
        first_ids = set(fake.runs) - before
        predictions = len(first_ids)
        fixed = sum(s["seconds"] for s in report["stages"] if s["name"] not in PREDICTION_STAGES)
        ideal = fixed + math.ceil(predictions / args.parallel) * args.latency
        creates = fake.count("POST", "/v1/predictions")
        print(
            f"predictions: {predictions} (parallel {args.parallel}, latency {args.latency:.2f} s)"
        )
        print(f"wall seconds: {wall:.2f}")
        print(
            f"ideal lower bound: {ideal:.2f} (fixed stages {fixed:.2f} + {math.ceil(predictions / args.parallel)} x {args.latency:.2f})"
        )
        print(f"ratio wall / ideal: {wall / ideal:.2f}")
        print(
            f"API requests: {fake.api_requests()} for {creates} prediction creates = {fake.api_requests() / max(creates, 1):.2f} per prediction"
        )
        first_gpu = gpu_seconds(fake, ids=first_ids)

        before = set(fake.runs)
        code, report, rerun_wall = run_cli(model_dir, WORK, "--no-push", *common)
        rerun_ids = set(fake.runs) - before
        rerun_gpu = gpu_seconds(fake, ids=rerun_ids)
        push = next(s for s in report["stages"] if s["name"] == "push test model")
        print(
            f"unchanged rerun: {len(rerun_ids)} predictions, {rerun_gpu:.2f} GPU-s vs {first_gpu:.2f} GPU-s first run; wall {rerun_wall:.2f} s; test model: {push['detail']}"
        )

        fake.set_behaviour(TEST_MODEL, crashes_on_three)
        (model_dir / "predict.py").write_text(
            (model_dir / "predict.py").read_text() + "\n# failing variant\n"
        )
        for index, flags in enumerate((["--fail-fast"], [])):
            before = set(fake.runs)
            # a fixed seed of its own per run, so no run replays another's cached predictions
            own = [*common[:-2], f"seed={100 + index}", "-v"]
            code, report, failing_wall = run_cli(model_dir, WORK, "--no-push", *flags, *own)
            ids = set(fake.runs) - before
            # The first failed check, not the first failed run: an error_contains case fails on
            # purpose and passes its check.
            failed_checks = {
                p["id"]
                for s in report["stages"]
                for p in s.get("predictions", [])
                if p["verdict"] == "failed" and p.get("id") in ids
            }
            failed_at = min(
                (_ts(fake.runs[i].completed_at) for i in failed_checks),
                default=None,
            )
            after = gpu_seconds(fake, since=failed_at, ids=ids) if failed_at else 0.0
            label = "with --fail-fast" if flags else "without --fail-fast"
            print(
                f"failing run {label}: exit {code}, {len(ids)} predictions started, {after:.2f} GPU-s after the first failure, wall {failing_wall:.2f} s"
            )
            time.sleep(args.latency + 0.5)  # let canceled runs settle before the next measurement
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
