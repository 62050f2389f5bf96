"""Benchmark: what differential testing costs, in predictions and in wall time.

The workload is a maintainer's default config (one test case, `fuzz.iterations` 10,
`parallel` 4, a live version to compare against) on the replicate platform against the fake
Replicate API, every prediction taking `--latency` seconds. Three candidates:

- refactor: the same outputs as live (the common case);
- random: an unseeded model whose outputs vary from run to run, so live runs each compared
  input a second time;
- crash: a candidate that crashes where live does not (`repeat` 2): a regression, found
  with one more run on live per failed input.

Prints, per candidate: predictions on live and on the test version, the total against the
seed tool's schedule (2 to compare + test cases + fuzz iterations), the wall seconds, and
the span of the prediction stages (they share one pool of workers, so the longest). `--code DIR` runs another checkout of this project (e.g.
a `git worktree` of the commit before differential testing) on the same workload, for the
before/after figures; that code must understand the config used here (no new fields).

Run: .venv/bin/python benchmarks/differential_cost.py [--latency 1.0] [--code DIR]
It starts its own Prefect server unless PREFECT_API_URL is set.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="cog-safe-push-bench-"))
TOKEN = "r8_benchmark_token"
MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"
PREDICTION_STAGES = {"compare outputs", "latency", "test cases", "fuzz"}
CONFIG = f"""model: {MODEL}
test_model: {TEST_MODEL}
parallel: 4
predict:
  predict_timeout: 120
  test_cases:
    - inputs: {{name: Ada, punctuation: "!"}}
  fuzz:
    iterations: 10
"""


def hello(inputs: dict) -> str:
    line = f"Hello, {str(inputs.get('name', 'world')).strip() or 'stranger'}"
    return " ".join([line + inputs.get("punctuation", "!")] * int(inputs.get("repeat", 1)))


def random_hello(inputs: dict) -> str:
    return hello(inputs) + " #" + "".join(random.choice("abcdef") for _ in range(6))


def crashes_on_two(inputs: dict) -> str:
    if int(inputs.get("repeat", 1)) == 2:
        raise IndexError("list index out of range")
    return hello(inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--code", default=str(HERE), help="the checkout whose tool runs")
    args = parser.parse_args()
    code_dir = Path(args.code).resolve()
    sys.path.insert(0, str(HERE))  # the fakes and the server helper of this checkout
    sys.path.insert(0, str(code_dir))  # ... and the tool under measurement, first

    from benchmarks.harness import prefect_server, run_cli
    from tests.fakes.replicate_server import FakeReplicate

    os.environ.update(
        {
            "REPLICATE_API_TOKEN": TOKEN,
            "COG_SAFE_PUSH_HOME": str(WORK / "cache"),
            "PATH": f"{HERE / 'tests' / 'fakes' / 'bin'}{os.pathsep}{Path(sys.executable).parent}"
            f"{os.pathsep}{os.environ['PATH']}",
            "FAKE_COG_PYTHON": sys.executable,
            "PYTHONPATH": str(code_dir),
        }
    )
    os.environ.pop("ANTHROPIC_API_KEY", None)
    os.environ["COG_SAFE_PUSH_AI_PROVIDER"] = "none"  # no AI: not even Claude on Replicate
    model_dir = WORK / "hello"
    shutil.copytree(HERE / "examples" / "hello", model_dir)
    (model_dir / "cog-safe-push.yaml").write_text(CONFIG)
    print(f"code: {code_dir}; latency {args.latency:.2f} s per prediction, parallel 4")
    print(f"{'candidate':<10} {'live':>5} {'test':>5} {'total':>6} {'seed tool':>10} "
          f"{'extra':>6} {'wall s':>7} {'predicting s':>13}  verdict")  # fmt: skip
    with prefect_server(WORK), FakeReplicate(token=TOKEN) as fake:
        os.environ["REPLICATE_BASE_URL"] = fake.url
        os.environ["FAKE_REPLICATE_URL"] = fake.url
        fake.add_model(MODEL)
        for name, behaviour in (
            ("refactor", hello),
            ("random", random_hello),
            ("crash", crashes_on_two),
        ):
            live_behaviour = random_hello if name == "random" else hello
            fake.set_behaviour(MODEL, live_behaviour)
            fake.set_behaviour(TEST_MODEL, live_behaviour)
            fake.latency = 0.0
            # The live version (not measured), then the candidate.
            assert run_cli(model_dir, WORK, "--fuzz-iterations", "0")[0] == 0
            fake.set_behaviour(TEST_MODEL, behaviour)
            (model_dir / "predict.py").write_text(
                (model_dir / "predict.py").read_text() + f"\n# {name}\n"
            )
            fake.latency = args.latency
            before = set(fake.runs)
            code, report, wall = run_cli(model_dir, WORK, "--no-push", "--seed", "1")
            runs = [fake.runs[i] for i in set(fake.runs) - before]
            live = sum(1 for r in runs if r.model == MODEL)
            test = sum(1 for r in runs if r.model == TEST_MODEL)
            seed_tool = 2 + 1 + 10
            # the prediction stages overlap (one pool of workers): the longest is their span
            predicting = max(
                s["seconds"] for s in report["stages"] if s["name"] in PREDICTION_STAGES
            )
            print(
                f"{name:<10} {live:>5} {test:>5} {live + test:>6} {seed_tool:>10} "
                f"{(live + test) / seed_tool - 1:>+6.0%} {wall:>7.2f} {predicting:>13.2f}  "
                f"exit {code}, {report['status']}"
            )
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
