"""Benchmark: N variants of one model checked in one invocation, against N runs one after
another (what a CI matrix on one runner does), on the fake Replicate API.

Prints, for each way: wall seconds, predictions run, and the most predictions the server had
going at once (the shared --parallel budget holds it to --parallel for the whole fleet). Each
run pushes its test model (`--push-seconds`, the stand-in cog's delay) and runs every
prediction anew (`--refresh`), as a first run of a changed model does.

Run: .venv/bin/python benchmarks/variants.py [--variants 3] [--latency 2] [--push-seconds 6]
It starts its own Prefect server (SQLite in a temporary directory) unless PREFECT_API_URL is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.harness import hello, prefect_server, run_cli, use_fake_replicate  # noqa: E402

WORK = Path(tempfile.mkdtemp(prefix="cog-safe-push-bench-"))
TOKEN = "r8_benchmark_token"


def _when(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def most_at_once(runs: list) -> int:
    """The most runs the server had going at one moment."""
    edges = sorted(
        [(_when(r.started_at), 1) for r in runs if r.started_at and r.completed_at]
        + [(_when(r.completed_at), -1) for r in runs if r.started_at and r.completed_at]
    )
    busy = most = 0
    for _, step in edges:
        busy += step
        most = max(most, busy)
    return most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--push-seconds", type=float, default=6.0)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()

    from tests.fakes.replicate_server import FakeReplicate

    use_fake_replicate(WORK, TOKEN)
    model_dir = WORK / "hello"
    shutil.copytree(ROOT / "examples" / "hello", model_dir)
    base = yaml.safe_load((model_dir / "cog-safe-push.yaml").read_text())
    names = [f"v{i}" for i in range(1, args.variants + 1)]
    configs = model_dir / "configs"
    configs.mkdir()
    for name in names:
        config = {**base, "model": f"acme/{name}", "test_model": f"acme/{name}-test"}
        config["parallel"] = args.parallel
        config["predict"] = {**base["predict"], "fuzz": {"iterations": args.iterations}}
        (configs / f"{name}.yaml").write_text(yaml.safe_dump(config))
    common = ["--no-push", "--seed", "1", "--fuzz-generator", "schema"]
    with prefect_server(WORK), FakeReplicate(token=TOKEN) as fake:
        os.environ["REPLICATE_BASE_URL"] = fake.url
        os.environ["FAKE_REPLICATE_URL"] = fake.url
        for name in names:
            fake.add_model(f"acme/{name}")
            fake.set_behaviour(f"acme/{name}", hello)
            fake.set_behaviour(f"acme/{name}-test", hello)
        # Prefect and the models warmed up once, outside the measurement.
        assert run_cli(model_dir, WORK, "--config", str(configs), *common)[0] == 0
        fake.latency = args.latency
        os.environ["FAKE_COG_DELAY"] = f"{args.push_seconds:g}"

        before = set(fake.runs)
        seconds_one_by_one = 0.0
        for name in names:
            code, report, wall = run_cli(
                model_dir, WORK, "--config", str(configs / f"{name}.yaml"), "--refresh", *common
            )
            assert code == 0, report["error"]
            seconds_one_by_one += wall
        one_by_one = [fake.runs[i] for i in set(fake.runs) - before]

        before = set(fake.runs)
        code, report, seconds_together = run_cli(
            model_dir, WORK, "--config", str(configs), "--refresh", *common
        )
        assert code == 0, report["error"]
        together = [fake.runs[i] for i in set(fake.runs) - before]

    print(
        f"{args.variants} variants, {args.iterations} fuzz iterations each, --parallel "
        f"{args.parallel}, {args.latency:.2f} s per prediction, {args.push_seconds:g} s per push"
    )
    print(
        f"one after another: {seconds_one_by_one:.1f} s wall, {len(one_by_one)} predictions, "
        f"at most {most_at_once(one_by_one)} at once"
    )
    print(
        f"one invocation:    {seconds_together:.1f} s wall, {len(together)} predictions, "
        f"at most {most_at_once(together)} at once (budget {report['budget']})"
    )
    print(f"speed-up: {seconds_one_by_one / seconds_together:.2f}x")


if __name__ == "__main__":
    main()
