"""Benchmark: a model whose every prediction returns megabytes of text, end to end.

A tiny model returns 'x' * SIZE for every input: a real Cog model on the local platform
(Cog's runtime on this machine; the default), or the same behaviour on the in-memory fake
platform (`--platform fake`: the tool's own cost, without the platform's HTTP and files).
Per size, two runs, each in a process of its own: the first push (test cases, fuzz; nothing
to compare with), then a run against a live version with the same outputs (the comparison
too). Prints, per run: the predictions made, the JSON report's and the JUnit XML's size, the
largest file in Prefect's result storage, the largest run record the local platform keeps
(tasks/platforms/local), the tool process's peak RSS (ru_maxrss of that process alone: a
Cog model's server is another process) and the wall time. A 1 kB row is the baseline.

Whole outputs stay in memory while the run needs them (each prediction's record, for the
comparison), so the peak RSS grows by about `runs x size` over the baseline; everything the
tool stores stays small.

`--code DIR` measures another checkout of this project (e.g. the commit before bounded
outputs, from `git archive HEAD`) on the same workload, for before/after figures.

Run: .venv/bin/python benchmarks/huge_output.py [--sizes 1,10,50] [--platform local|fake]
     [--code DIR]
It starts its own Prefect server unless PREFECT_API_URL is set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
MB = 1_000_000

PREDICTOR = """from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Any text", default="hi")) -> str:
        return "x" * {size}
"""
CONFIG = """model: bench/huge
test_model: bench/huge-test
parallel: 2
predict:
  predict_timeout: 300
  test_cases:
    - inputs: {text: a}
  fuzz:
    iterations: 2
"""

# Runs the real command line in this process and writes what it cost next to the report.
CHILD_LOCAL = """
import json, resource, sys, time
from flows.cli import main
started = time.monotonic()
code = main(sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "peak": peak, "seconds": time.monotonic() - started}, out)
"""
# The same workload on the fake platform: the flow in this process, the model a function.
CHILD_FAKE = """
import json, resource, sys, time
from pathlib import Path
from tests.fakes.platform import FakeWorld, install
from tests.helpers import cog_dir, openapi, prop, run_flow
cost, size, mode, report, junit, work = sys.argv[1:7]
world = install(FakeWorld())
doc = openapi({"text": prop(default="hi")})
def huge(inputs):
    return "x" * int(size)
if mode == "compare":
    world.add_version("bench/huge", doc, huge)
world.set_schema("bench/huge-test", doc)
world.set_behaviour("bench/huge-test", huge)
config = {
    "model": "bench/huge", "test_model": "bench/huge-test", "parallel": 2,
    "predict": {"test_cases": [{"inputs": {"text": "a"}}], "fuzz": {"iterations": 2}},
}
started = time.monotonic()
code, _ = run_flow(world, cog_dir(Path(work), f"model-{mode}"), config, no_push=True,
                   report_json=report, junit_xml=junit)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with open(cost, "w") as out:
    json.dump({"code": code, "peak": peak, "seconds": time.monotonic() - started,
               "runs": len(world.runs)}, out)
"""


def model_dir(work: Path, size: int) -> Path:
    """A Cog model whose every prediction returns 'x' * size."""
    target = work / f"huge-{size}"
    target.mkdir(parents=True)
    (target / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
    )
    (target / "predict.py").write_text(PREDICTOR.format(size=size))
    (target / "cog-safe-push.yaml").write_text(CONFIG)
    return target


def largest_file(directory: Path) -> int:
    """The size of the largest file under `directory` (0 when there is none)."""
    sizes = [p.stat().st_size for p in directory.rglob("*") if p.is_file()]
    return max(sizes, default=0)


def run_once(
    code_dir: Path, platform: str, size: int, work: Path, name: str, flags: tuple[str, ...]
) -> dict:
    """One run in a fresh process: its exit code, peak RSS, seconds, predictions made and the
    sizes of what it wrote."""
    report, junit, cost = work / f"{name}.json", work / f"{name}.xml", work / f"{name}.cost"
    env = {
        **os.environ,
        "PYTHONPATH": str(code_dir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    runs_before = len(list(work.rglob("runs/*.json")))
    if platform == "local":
        target = work / f"huge-{size}"
        if not target.exists():
            model_dir(work, size)
        argv = ["--platform", "local", "--report-json", str(report), "--junit-xml", str(junit)]
        command = [sys.executable, "-c", CHILD_LOCAL, str(cost), *argv, *flags]
    else:
        target = work
        mode = "compare" if flags else "push"
        command = [sys.executable, "-c", CHILD_FAKE, str(cost), str(size), mode]
        command += [str(report), str(junit), str(work / name)]
    done = subprocess.run(
        command, cwd=target, env=env, capture_output=True, text=True, timeout=1800
    )
    if not cost.exists():
        raise RuntimeError(f"the run did not finish:\n{done.stderr[-3000:]}")
    figures = json.loads(cost.read_text())
    figures.setdefault("runs", len(list(work.rglob("runs/*.json"))) - runs_before)
    figures["report"] = report.stat().st_size if report.exists() else 0
    figures["junit"] = junit.stat().st_size if junit.exists() else 0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50", help="output sizes in MB, comma-separated")
    parser.add_argument("--platform", default="local", choices=["local", "fake"])
    parser.add_argument("--code", default=str(HERE), help="the checkout whose tool runs")
    args = parser.parse_args()
    code_dir = Path(args.code).resolve()
    sizes = [1000] + [int(float(s) * MB) for s in args.sizes.split(",")]
    sys.path.insert(0, str(HERE))
    from benchmarks.harness import prefect_server

    work = Path(tempfile.mkdtemp(prefix="cog-safe-push-huge-"))
    print(f"code: {code_dir}; {args.platform} platform; every prediction returns 'x' * size")
    print(
        f"{'output':>9} {'run':<8} {'exit':>4} {'runs':>4} {'report':>12} {'junit':>10} "
        f"{'largest result':>14} {'run record':>12} {'peak RSS':>9} {'seconds':>7}"
    )
    try:
        with prefect_server(work):
            for size in sizes:
                here = work / f"size-{size}"
                here.mkdir()
                os.environ["COG_SAFE_PUSH_HOME"] = str(here / "home")
                os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(here / "results")
                for name, flags in (("push", ()), ("compare", ("--no-push",))):
                    started = time.monotonic()
                    figures = run_once(code_dir, args.platform, size, here, name, flags)
                    print(
                        f"{size / MB:>7.3f}MB {name:<8} {figures['code']:>4} "
                        f"{figures['runs']:>4} {figures['report']:>12,} {figures['junit']:>10,} "
                        f"{largest_file(here / 'results'):>14,} "
                        f"{largest_file(here / 'home' / 'runs'):>12,} "
                        f"{figures['peak'] / MB:>7.0f}MB {time.monotonic() - started:>7.1f}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
