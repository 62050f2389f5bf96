"""Benchmark: the push window. One workload, two latency profiles, against the fakes of tests/fakes.

Workload: the examples/hello model (acme/hello, with a live version whose schema is the new
code's), 2 test cases (an exact string, and a match_prompt the AI judges), an output comparison,
20 fuzz iterations written by the AI generator (the fake Anthropic API answers), parallel 4,
5 s per prediction, `--no-push` (the run ends with the checks, as the issue's figures do).

Profiles (--scale F multiplies every latency, the prediction's included):
  no-latency  `cog push` instant, warm instances, AI calls instant; predictions 5 s.
  realistic   `cog push` 30 s (FAKE_COG_DELAY), each new model instance cold-boots 10 s
              (FakeReplicate cold_boot: live and test versions start with no instance), each AI
              (Anthropic Messages) call 3 s (FakeAnthropic latency); predictions 5 s.

Each tool runs as a user runs it: a process of its own (`python -m flows.safe_push`, so the
whole run includes interpreter start-up and imports), with a fresh result cache and home, in a
copy of the model directory. Figures per profile:
  whole       seconds from starting the process to its exit.
  marginal    seconds during which at least one prediction was in flight (from its create
              request to its end, cold boot included), by the fake server's timestamps.
  fixed       whole - marginal: time in which no prediction was in flight (start-up, the test
              push unless predictions overlap it, the stages around the predictions).
  idle        seconds of the whole run during which no prediction, no `cog push` (from the
              stand-in cog's start to its push arriving at the fake) and no AI call was in
              flight: time the run spent on its own work or on waiting for nothing.
  predictions started, API requests (FakeReplicate.api_requests()), AI calls (Messages calls).
  unchanged rerun (ours): the same command again at once; its predictions and GPU-seconds
              (processing time: boot and queue excluded) as a % of the first run's.
With --runs N each figure is shown as min/median over N runs; the timeline is the median run's.
With --seed-tool PATH the seed tool (replicate/cog-safe-push in a venv of its own) runs the same
workload against the same fakes right after ours (instances stopped first), and ours/seed ratios
are printed; see benchmarks/seed_tool.py for what that takes. The seed tool caches nothing, so
its rerun would spend everything again; it is not run.

Run: .venv/bin/python benchmarks/push_window.py [--profile both] [--scale 1] [--runs 1]
         [--seed-tool /work/seedvenv/bin/cog-safe-push]
It starts its own Prefect server (SQLite in a temporary directory) unless PREFECT_API_URL is set.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.harness import hello, prefect_server  # noqa: E402

TOKEN = "r8_benchmark_token"
MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"
PARALLEL, ITERATIONS, PREDICTION_SECONDS = 4, 20, 5.0
# Fields both tools read (the seed tool's config rejects any other).
CONFIG = f"""model: {MODEL}
test_model: {TEST_MODEL}
test_hardware: cpu
parallel: {PARALLEL}
predict:
  compare_outputs: true
  predict_timeout: 300
  test_cases:
    - inputs:
        name: Ada
      exact_string: "Hello, Ada!"
    - inputs:
        name: Grace
        punctuation: "."
        repeat: 2
      match_prompt: "a greeting to Grace, said twice"
  fuzz:
    iterations: {ITERATIONS}
"""


@dataclass(frozen=True)
class Profile:
    name: str
    push: float
    cold_boot: float
    ai: float
    predict: float = PREDICTION_SECONDS

    def scaled(self, factor: float) -> Profile:
        return Profile(
            self.name,
            self.push * factor,
            self.cold_boot * factor,
            self.ai * factor,
            self.predict * factor,
        )

    def describe(self) -> str:
        return (
            f"push {self.push:g} s, cold boot {self.cold_boot:g} s, AI call {self.ai:g} s, "
            f"prediction {self.predict:g} s"
        )


PROFILES = {
    "no-latency": Profile("no-latency", push=0.0, cold_boot=0.0, ai=0.0),
    "realistic": Profile("realistic", push=30.0, cold_boot=10.0, ai=3.0),
}


NAMES = ["Ada", "Grace", "Linus", "Barbara", "Edsger", "Alan", "Frances", "Ken", "Radia", "Niklaus"]
_written = itertools.count()


def _payload() -> dict[str, Any]:
    i = next(_written)
    return {
        "name": f"{NAMES[i % len(NAMES)]} {i}",
        "punctuation": "!.?"[i % 3],
        "repeat": 1 + i % 3,
    }


def answer(request: dict[str, Any]) -> str:
    """The fake Claude: fuzz payloads (a batch for ours, one for the seed tool), YES for the
    seed tool's boolean checks, and a yes verdict for ours."""
    from tests.fakes.anthropic_server import FakeAnthropic

    text = FakeAnthropic.text_of(request)
    batch = re.search(r"JSON array of exactly (\d+) objects", text)
    if batch:
        return json.dumps([_payload() for _ in range(int(batch.group(1)))])
    if "Generate a valid JSON payload for the" in text:
        return json.dumps(_payload())
    if "respond with either YES or NO" in text or "only respond with either YES" in text:
        return "YES"
    return json.dumps({"verdict": "yes", "reason": "it is the expected greeting"})


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def covered(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Seconds of [lo, hi] covered by at least one interval."""
    total, end = 0.0, lo
    for start, stop in sorted((max(a, lo), min(b, hi)) for a, b in intervals):
        if stop <= max(start, end):
            continue
        total += stop - max(start, end)
        end = stop
    return total


@dataclass
class Sample:
    whole: float
    fixed: float
    marginal: float
    idle: float
    predictions: int
    api_requests: int
    ai_calls: int
    gpu_seconds: float
    live_predictions: int = 0
    timeline: list[tuple[float, str]] = field(default_factory=list)
    phases: list[tuple[str, float]] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)


def run_tool(
    command: list[str], cwd: Path, env: dict[str, str], fake: Any, ai: Any, label: str
) -> Sample:
    """Run one tool to its exit and measure it from the fakes' records."""
    before, ai_before, pushes_before = set(fake.runs), len(ai.calls), len(fake.pushes)
    fake.reset_counts()
    load_before = os.getloadavg()[0]
    mono_offset = time.time() - time.monotonic()
    t0 = time.time()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    t1 = time.time()
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise SystemExit(f"{label} exited {proc.returncode}:\n{tail}")
    runs = [fake.runs[i] for i in set(fake.runs) - before]
    predictions = [(_ts(r.created_at), _ts(r.completed_at) or t1) for r in runs]
    pushes = [(p["started_at"], p["received_at"]) for p in fake.pushes[pushes_before:]]
    calls = list(ai.calls[ai_before:])
    whole = t1 - t0
    marginal = covered(predictions, t0, t1)
    busy = covered(predictions + pushes + calls, t0, t1)
    gpu = sum((_ts(r.completed_at) or t1) - _ts(r.started_at) for r in runs if r.started_at)

    def first(values: list[float]) -> float | None:
        return min(values) - t0 if values else None

    requests = [r["at"] + mono_offset for r in fake.requests if r["pattern"].startswith("/v1/")]
    live = [_ts(r.created_at) for r in runs if r.model == MODEL]
    test = [r for r in runs if r.model == TEST_MODEL]
    events = {
        "first API request": first(requests),
        "cog push starts": first([a for a, _ in pushes]),
        "cog push ends": first([b for _, b in pushes]),
        "first AI call starts": first([a for a, _ in calls]),
        "last AI call ends": max(b for _, b in calls) - t0 if calls else None,
        "first live prediction created": first(live),
        "first test prediction created": first([_ts(r.created_at) for r in test]),
        "first test prediction processing (booted)": first(
            [_ts(r.started_at) for r in test if r.started_at]
        ),
        "last prediction ends": max(b for _, b in predictions) - t0 if predictions else None,
        "exit": whole,
    }
    timeline = sorted((t, name) for name, t in events.items() if t is not None)
    phases = []
    push_start, push_end = events["cog push starts"], events["cog push ends"]
    first_test, last = events["first test prediction created"], events["last prediction ends"]
    if push_start is not None and push_end is not None and first_test is not None:
        in_push = covered(predictions, t0 + push_start, t0 + push_end)
        ai_in_push = covered(calls, t0 + push_start, t0 + push_end)
        phases = [
            ("start-up: process start to cog push", push_start),
            (
                f"push window (predictions in flight {in_push:.1f} s, AI {ai_in_push:.1f} s of it)",
                push_end - push_start,
            ),
            ("push end to first test prediction created", first_test - push_end),
            ("first test prediction to last prediction end", (last or whole) - first_test),
            ("last prediction end to exit", whole - (last or whole)),
        ]
    return Sample(
        whole=whole,
        fixed=whole - marginal,
        marginal=marginal,
        idle=whole - busy,
        predictions=len(runs),
        api_requests=fake.api_requests(),
        ai_calls=len(calls),
        gpu_seconds=gpu,
        live_predictions=len(live),
        timeline=timeline,
        phases=phases,
        load=(load_before, os.getloadavg()[0]),
    )


def live_schema(model_dir: Path) -> dict[str, Any]:
    """The version schema examples/hello gets on push (the stand-in cog's generator)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tasks.platforms.local.cog_schema", str(model_dir)],
        cwd=model_dir,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


@dataclass
class Result:
    ours: list[Sample] = field(default_factory=list)
    rerun: list[Sample] = field(default_factory=list)
    seed: list[Sample] = field(default_factory=list)


def one_run(
    profile: Profile, work: Path, schema: dict[str, Any], seed_tool: str | None, result: Result
) -> None:
    from tests.fakes.anthropic_server import FakeAnthropic
    from tests.fakes.replicate_server import FakeReplicate

    work.mkdir(parents=True)
    dirs = {}
    for tool in ("ours", "seed"):
        dirs[tool] = work / tool / "hello"
        shutil.copytree(ROOT / "examples" / "hello", dirs[tool])
        (dirs[tool] / "cog-safe-push.yaml").write_text(CONFIG)
    with (
        FakeReplicate(token=TOKEN, latency=profile.predict, cold_boot=profile.cold_boot) as fake,
        FakeAnthropic(latency=profile.ai) as ai,
    ):
        ai.default(answer)
        fake.add_model(MODEL)
        fake.add_version(MODEL, schema)
        fake.set_behaviour(MODEL, hello)
        fake.set_behaviour(TEST_MODEL, hello)
        bin_dir = ROOT / "tests" / "fakes" / "bin"
        env = {
            **os.environ,
            "REPLICATE_API_TOKEN": TOKEN,
            "REPLICATE_BASE_URL": fake.url,
            "FAKE_REPLICATE_URL": fake.url,
            "ANTHROPIC_API_KEY": "sk-ant-benchmark",
            "ANTHROPIC_BASE_URL": ai.url,
            "FAKE_COG_DELAY": f"{profile.push:g}",
            "FAKE_COG_PYTHON": sys.executable,
        }
        ours_env = {
            **env,
            "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env["PATH"]]),
            "PYTHONPATH": str(ROOT),
            "COG_SAFE_PUSH_HOME": str(work / "ours" / "home"),
            "PREFECT_LOCAL_STORAGE_PATH": str(work / "ours" / "storage"),
        }
        ours = [
            sys.executable,
            "-m",
            "flows.safe_push",
            "--platform",
            "replicate",
            "--no-push",
            "--report-json",
            str(work / "ours" / "report.json"),
        ]
        first = run_tool(ours, dirs["ours"], ours_env, fake, ai, "ours")
        first_gpu = first.gpu_seconds
        result.ours.append(first)
        result.rerun.append(run_tool(ours, dirs["ours"], ours_env, fake, ai, "ours (rerun)"))
        print(
            f"  run {len(result.ours)}: ours {first.whole:.1f} s (rerun {result.rerun[-1].whole:.1f} s,"
            f" {result.rerun[-1].gpu_seconds:.1f} of {first_gpu:.1f} GPU-s)",
            end="",
            flush=True,
        )
        if seed_tool:
            from benchmarks.seed_tool import MediaIndexStub

            time.sleep(0.5)  # let anything still in flight settle before scaling to zero
            fake.stop_instances()
            with MediaIndexStub() as stub:
                seed_env = {
                    **env,
                    **stub.env(),
                    "PATH": os.pathsep.join(
                        [str(bin_dir), str(Path(seed_tool).parent), env["PATH"]]
                    ),
                }
                seed_env.pop("PYTHONPATH", None)
                command = [seed_tool, "--no-push"]
                result.seed.append(run_tool(command, dirs["seed"], seed_env, fake, ai, "seed tool"))
            print(f"; seed tool {result.seed[-1].whole:.1f} s", end="")
        print(flush=True)


def _fmt(values: list[float], digits: int = 1) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{min(values):.{digits}f}/{statistics.median(values):.{digits}f}"


def report(profile: Profile, result: Result, runs: int) -> None:
    print(f"\n== {profile.name}: {profile.describe()} ==")
    if runs > 1:
        print(f"(min/median over {runs} runs)")
    tools = [("ours", result.ours)] + ([("seed tool", result.seed)] if result.seed else [])
    header = f"{'':34}" + "".join(f"{name:>14}" for name, _ in tools)
    if result.seed:
        header += f"{'ours/seed':>12}"
    print(header)
    rows = [
        ("whole s", "whole", 1),
        ("fixed s (no prediction in flight)", "fixed", 1),
        ("marginal s", "marginal", 1),
        ("idle s on the critical path", "idle", 1),
        ("predictions started", "predictions", 0),
        ("API requests", "api_requests", 0),
        ("AI calls", "ai_calls", 0),
        ("GPU-seconds", "gpu_seconds", 1),
    ]
    for label, attr, digits in rows:
        line = f"{label:34}"
        for _, samples in tools:
            line += f"{_fmt([getattr(s, attr) for s in samples], digits):>14}"
        if result.seed:
            ratios = [
                getattr(a, attr) / max(getattr(b, attr), 1e-9)
                for a, b in zip(result.ours, result.seed, strict=True)
            ]
            line += f"{_fmt(ratios, 2):>12}"
        print(line)
    per = f"{'API requests per prediction':34}"
    for _, samples in tools:
        per += f"{_fmt([s.api_requests / max(s.predictions, 1) for s in samples], 2):>14}"
    print(per)
    rerun_pred = [
        r.predictions / max(f.predictions, 1) * 100
        for f, r in zip(result.ours, result.rerun, strict=True)
    ]
    rerun_gpu = [
        r.gpu_seconds / max(f.gpu_seconds, 1e-9) * 100
        for f, r in zip(result.ours, result.rerun, strict=True)
    ]
    print(
        f"unchanged rerun (ours): {_fmt([r.whole for r in result.rerun])} s whole, "
        f"{_fmt([float(r.predictions) for r in result.rerun], 0)} predictions "
        f"({_fmt(rerun_pred, 0)}% of the first run's), "
        f"{_fmt([r.gpu_seconds for r in result.rerun])} GPU-s ({_fmt(rerun_gpu, 0)}% of the first run's)"
    )
    loads = [x for s in result.ours + result.rerun + result.seed for x in s.load]
    print(f"load average (1 min) around the runs: {min(loads):.2f}..{max(loads):.2f}")
    for name, samples in tools:
        median = sorted(samples, key=lambda s: s.whole)[(len(samples) - 1) // 2]
        print(
            f"timeline ({name}, seconds from process start; {median.live_predictions} live and "
            f"{median.predictions - median.live_predictions} test predictions):"
        )
        for t, event in median.timeline:
            print(f"  {t:7.1f}  {event}")
        for phase, seconds in median.phases:
            print(f"  {seconds:7.1f} s  {phase}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["realistic", "no-latency", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every latency")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed-tool", help="the seed tool's cog-safe-push executable")
    args = parser.parse_args()
    if args.seed_tool and not Path(args.seed_tool).is_file():
        parser.error(f"--seed-tool {args.seed_tool}: no such file")

    work = Path(tempfile.mkdtemp(prefix="cog-safe-push-push-window-"))
    names = ["no-latency", "realistic"] if args.profile == "both" else [args.profile]
    print(
        f"workload: {ITERATIONS} fuzz iterations, 2 test cases, output comparison, parallel "
        f"{PARALLEL}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    try:
        with prefect_server(work):
            model_dir = work / "schema-source"
            shutil.copytree(ROOT / "examples" / "hello", model_dir)
            schema = live_schema(model_dir)
            results = {}
            for name in names:
                profile = PROFILES[name].scaled(args.scale)
                print(f"{name}: {profile.describe()}", flush=True)
                result = results[name] = Result()
                for index in range(args.runs):
                    one_run(profile, work / f"{name}-{index}", schema, args.seed_tool, result)
            for name in names:
                report(PROFILES[name].scaled(args.scale), results[name], args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
