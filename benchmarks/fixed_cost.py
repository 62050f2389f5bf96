"""Benchmark: the fixed cost of a run, the stages around zero predictions.

The hello example with no test case, no output comparison and `--fuzz-iterations 0` against the
fake Replicate API at latency 0 and the stand-in `cog`: everything a run does except predict.
A first run (not timed) pushes the live version to compare schemas against and warms caches;
then, for each way of running the tool, N timed runs:

  in-process   `flows.cli.main([...])` in this process (imports already paid), with a breakdown:
               CLI set-up, the Prefect API check, the flow engine before and after the flow's
               body, each stage (stages may overlap), the report's artifacts; API requests by
               route (Prefect's and Replicate's), events emitted (task-run state changes go to
               the server as events), task runs, result files written, TLS CA bundle loads
  subprocess   `python -m flows.safe_push ...`, what a user runs: imports, the managed Prefect
               server found and reused, the run, and the process's exit
  explained    the same command line with clocks inside (imports, run, exit) and counts
  --help and a usage error (exit 2), as subprocesses

Each figure is min / median / max of the timed runs; on a shared machine quote medians and
ratios. `--changed` edits predict.py before every run, so that code lint and the test push are
not cached (a real push, by the stand-in cog). `--push` pushes (with the model's lease)
instead of `--no-push`. `--busy N` keeps N CPU-bound processes running throughout.
`--vs-tree DIR` alternates the subprocess runs with another checkout (before a change, say)
and prints the ratio run by run. `--trace` prints the last in-process run's requests, events
and stages in order; `--py-spy DIR` samples the explained runs (pip install py-spy first).
Subprocesses run from compiled bytecode, as an installed tool does (PYTHONDONTWRITEBYTECODE
is dropped for them unless `--no-bytecode`). Without PREFECT_API_URL, the runs use a managed
server of their own under a temporary tool home (started by the untimed first run).

Run: .venv/bin/python benchmarks/fixed_cost.py [--runs 5] [--busy 2] [--changed] [--push]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.harness import hello, subprocess_env  # noqa: E402

TOKEN = "r8_benchmark_token"
MODEL, TEST_MODEL = "acme/hello", "acme/hello-test"

CONFIG = f"""\
model: {MODEL}
test_model: {TEST_MODEL}
test_hardware: cpu
parallel: 4
predict:
  compare_outputs: false
  predict_timeout: 60
  fuzz:
    iterations: 0
"""


def free_port() -> int:
    from tests.prefect_server import free_port as port

    return port()


# --- what a run does, counted and timed from inside the process --------------------------------


class Probe:
    """Counts Prefect API requests and events, and times named phases, in this process."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.task_runs: set[str] = set()
        self.sequence: list[tuple[float, str, str]] = []  # (time, thread, request or event)
        self.tls = 0
        self.marks: dict[str, float] = {}
        self.spans: Counter[str] = Counter()
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.requests.clear()
        self.events.clear()
        self.task_runs.clear()
        self.sequence.clear()
        self.tls = 0
        self.marks.clear()
        self.spans.clear()

    def note(self, started: float, what: str) -> None:
        with self._lock:
            took = time.monotonic() - started
            self.sequence.append(
                (started, threading.current_thread().name, f"{what} {took * 1000:.0f} ms")
            )

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.monotonic())

    def install(self) -> None:
        import httpx
        from prefect.events.clients import EventsClient

        probe = self

        def route(request: Any) -> str | None:
            url = str(request.url)
            for prefix, name in (
                (os.environ.get("PREFECT_API_URL", ""), ""),
                (os.environ.get("REPLICATE_BASE_URL", ""), "Replicate API: "),
            ):
                if prefix and url.startswith(prefix):
                    path = url[len(prefix) :].split("?")[0]
                    path = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", path)
                    path = re.sub(r"/[0-9a-f]{64}", "/{version}", path)
                    return f"{name}{request.method} {path}"
            return None

        def counted_sync(send: Callable) -> Callable:
            @functools.wraps(send)
            def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
                name = route(request)
                if name:
                    with probe._lock:
                        probe.requests[name] += 1
                started = time.monotonic()
                status = "error"
                try:
                    response = send(self, request, *args, **kwargs)
                    status = str(response.status_code)
                    return response
                finally:
                    if name:
                        probe.note(started, f"sync  {name} -> {status}")

            return wrapper

        def counted_async(send: Callable) -> Callable:
            @functools.wraps(send)
            async def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
                name = route(request)
                if name:
                    with probe._lock:
                        probe.requests[name] += 1
                started = time.monotonic()
                status = "error"
                try:
                    response = await send(self, request, *args, **kwargs)
                    status = str(response.status_code)
                    return response
                finally:
                    if name:
                        probe.note(started, f"async {name} -> {status}")

            return wrapper

        httpx.Client.send = counted_sync(httpx.Client.send)  # type: ignore[method-assign]
        httpx.AsyncClient.send = counted_async(httpx.AsyncClient.send)  # type: ignore[method-assign]

        emit = EventsClient.emit

        async def counted_emit(self: Any, event: Any) -> None:
            with probe._lock:
                probe.events[event.event] += 1
                probe.sequence.append(
                    (time.monotonic(), threading.current_thread().name, f"event {event.event}")
                )
                resource = str(event.resource.id)
                if resource.startswith("prefect.task-run."):
                    probe.task_runs.add(resource)
            await emit(self, event)

        EventsClient.emit = counted_emit  # type: ignore[method-assign]

        # TLS contexts: each loads the CA bundle (tens of ms), even for http:// clients.
        import ssl

        load = ssl.SSLContext.load_verify_locations

        def counted_load(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return load(self, *args, **kwargs)
            finally:
                with probe._lock:
                    probe.spans["TLS CA loads"] += time.monotonic() - started
                    probe.tls += 1
                probe.note(started, f"TLS CA bundle load by {_caller()}")

        ssl.SSLContext.load_verify_locations = counted_load  # type: ignore[method-assign]

        # Phases of one CLI run: module attributes the CLI and the flow look up when called.
        import flows.runtime as runtime
        import flows.safe_push_flow as flow_module

        def timed(module: Any, name: str) -> None:
            original = getattr(module, name)

            @functools.wraps(original)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.monotonic()
                probe.mark(f"{name} start")
                probe.sequence.append((started, "main", f"-- {name}"))
                try:
                    return original(*args, **kwargs)
                finally:
                    probe.mark(f"{name} end")
                    probe.spans[name] += time.monotonic() - started

            setattr(module, name, wrapper)

        from tasks.stage_runner import StageRunner

        begin, finish = StageRunner.begin, StageRunner.finish

        def traced_begin(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            probe.sequence.append((time.monotonic(), "main", f"-- stage {name} begins"))
            return begin(self, name, *args, **kwargs)

        def traced_finish(self: Any, stage: Any) -> Any:
            probe.sequence.append((time.monotonic(), "main", f"-- stage {stage.name} ends"))
            return finish(self, stage)

        StageRunner.begin = traced_begin  # type: ignore[method-assign]
        StageRunner.finish = traced_finish  # type: ignore[method-assign]
        timed(flow_module, "_run")
        timed(flow_module, "publish_report")
        timed(flow_module, "write_outputs")
        prefect_api = runtime.prefect_api

        @contextlib.contextmanager
        def timed_api(*args: Any, **kwargs: Any) -> Iterator[Any]:
            started = time.monotonic()
            probe.mark("prefect_api start")
            with prefect_api(*args, **kwargs) as value:
                probe.spans["prefect_api"] += time.monotonic() - started
                probe.mark("prefect_api end")
                yield value

        runtime.prefect_api = timed_api
        flow_call = flow_module.safe_push.__call__
        flow_type = type(flow_module.safe_push)
        original_call = flow_type.__call__

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self is flow_module.safe_push:
                probe.mark("flow call")
                try:
                    return original_call(self, *args, **kwargs)
                finally:
                    probe.mark("flow returned")
            return original_call(self, *args, **kwargs)

        del flow_call
        flow_type.__call__ = call  # type: ignore[method-assign]


def _caller() -> str:
    """The innermost frame of the tool, Prefect or the Replicate client that led here."""
    import traceback

    for frame in reversed(traceback.extract_stack()[:-2]):
        path = frame.filename
        if any(part in path for part in ("/prefect/", "/replicate/", "/flows/", "/tasks/")):
            return f"{'/'.join(Path(path).parts[-2:])}:{frame.lineno} {frame.name}"
    return "?"


def result_files() -> int:
    from prefect.settings import get_current_settings

    storage = Path(get_current_settings().results.local_storage_path).expanduser()
    return sum(1 for p in storage.rglob("*") if p.is_file()) if storage.is_dir() else 0


def breakdown(probe: Probe, started: float, ended: float, report: dict) -> dict[str, float]:
    """Seconds of each phase of one in-process CLI run (see the module docstring)."""
    m = probe.marks
    body = probe.spans["_run"]
    stages = {s["name"]: s["seconds"] for s in report["stages"]}
    out = {
        "CLI set-up (parse, config, platform)": m["prefect_api start"] - started,
        "Prefect API check (managed server)": probe.spans["prefect_api"],
        "flow engine before the body": m["_run start"] - m["flow call"],
    }
    for name, seconds in stages.items():
        out[f"  stage: {name}"] = seconds
    out["  between stages (stage runner, logs)"] = body - sum(stages.values())
    out["report: write outputs"] = probe.spans["write_outputs"]
    out["report: artifacts"] = probe.spans["publish_report"]
    out["flow engine after the body"] = (
        m["flow returned"] - m["_run end"] - probe.spans["write_outputs"]
    ) - probe.spans["publish_report"]
    out["after the flow (summary)"] = ended - m["flow returned"]
    return out


# --- the workload ------------------------------------------------------------------------------


class Bench:
    def __init__(self, work: Path, fake: Any, args: argparse.Namespace) -> None:
        self.work = work
        self.args = args
        self.model_dir = work / "hello"
        shutil.copytree(ROOT / "examples" / "hello", self.model_dir)
        (self.model_dir / "cog-safe-push.yaml").write_text(CONFIG)
        self.edits = 0
        self.env = subprocess_env(work, fake.url, TOKEN, ROOT / "tests" / "fakes" / "bin")
        self.env.update(
            {
                # a managed server of its own, beside any other on this machine
                "COG_SAFE_PUSH_SERVER_PORT": str(free_port()),
            }
        )
        if not args.no_bytecode:
            # As an installed tool runs: from compiled bytecode (written once, by the first
            # run, under the work directory). PYTHONDONTWRITEBYTECODE would make every run
            # compile the project's modules again.
            self.env.pop("PYTHONDONTWRITEBYTECODE", None)
            self.env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        if os.environ.get("PREFECT_API_URL"):
            self.env["PREFECT_API_URL"] = os.environ["PREFECT_API_URL"]
        (work / "home").mkdir()

    @property
    def flags(self) -> list[str]:
        return ["--platform", "replicate", *([] if self.args.push else ["--no-push"])]

    def prepare(self) -> None:
        """Before a timed run: with --changed, a new predict.py (so nothing is cached)."""
        if self.args.changed:
            self.edits += 1
            path = self.model_dir / "predict.py"
            path.write_text(path.read_text() + f"\n# edit {self.edits}\n")

    def subprocess(
        self, *argv: str, cwd: Path | None = None, tree: Path | None = None
    ) -> tuple[float, Any]:
        env = dict(self.env)
        if tree is not None:  # another checkout of the project, with bytecode of its own
            env["PYTHONPATH"] = str(tree)
            if "PYTHONPYCACHEPREFIX" in env:
                env["PYTHONPYCACHEPREFIX"] = str(self.work / "pycache-other")
        started = time.monotonic()
        done = subprocess.run(
            argv,
            cwd=str(cwd or self.model_dir),
            env=env,
            capture_output=True,
            text=True,
        )
        return time.monotonic() - started, done

    def cli(
        self, *args: str, cwd: Path | None = None, tree: Path | None = None
    ) -> tuple[float, Any]:
        return self.subprocess(sys.executable, "-m", "flows.safe_push", *args, cwd=cwd, tree=tree)


def _count(requests: dict[str, int]) -> str:
    replicate = sum(n for name, n in requests.items() if name.startswith("Replicate"))
    return f"{sum(requests.values()) - replicate} Prefect API requests, {replicate} Replicate API"


def stats(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}"


def print_table(title: str, rows: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"  {'':44s} {'min':>6s} {'median':>6s} {'max':>6s}")
    for name, values in rows.items():
        print(f"  {name:44s} {stats(values)}")


def child(argv: list[str]) -> None:
    """`fixed_cost.py --child ARGS`: `python -m flows.safe_push ARGS` with clocks and counters,
    written as JSON to $FIXED_COST_OUT when the run returns. The command line is the
    process's own (`main()` without arguments), and nothing is imported or registered before
    it that the tool would not have, so that it ends the process as it would."""
    began = float(os.environ["FIXED_COST_T0"])
    out_path = os.environ["FIXED_COST_OUT"]
    started = time.time()
    import flows.cli

    facts: dict[str, Any] = {"t0": began, "interpreter": started - began}
    run = flows.cli.run

    def probed_run(request: Any) -> int:
        """What `main` calls once the run is certain: the imports it needs, then the run."""
        imports_started = time.time()
        import flows.safe_push_flow  # noqa: F401 - what `run` imports, timed as imports

        probe = Probe()
        probe.install()
        imported = time.time()
        files_before = result_files()
        code = 1
        try:
            code = run(request)
            return code
        finally:
            ended = time.time()
            facts.update(
                {
                    "cli": imports_started - started,
                    "imports": imported - imports_started,
                    "main": ended - imported,
                    "main_end": ended,
                    "code": code,
                    "requests": dict(probe.requests),
                    "events": dict(probe.events),
                    "task_runs": len(probe.task_runs),
                    "result_files": result_files() - files_before,
                    "tls": [probe.tls, probe.spans["TLS CA loads"]],
                    "tls_by": [w for _, _, w in probe.sequence if w.startswith("TLS")],
                }
            )
            Path(out_path).write_text(json.dumps(facts))

    flows.cli.run = probed_run
    sys.argv = ["cog-safe-push", *argv]
    sys.exit(flows.cli.main())


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each kind")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes alongside")
    parser.add_argument("--changed", action="store_true", help="edit predict.py before each run")
    parser.add_argument("--push", action="store_true", help="push instead of --no-push")
    parser.add_argument(
        "--vs-tree",
        metavar="DIR",
        help="another checkout of the project (say, before a change): the subprocess runs "
        "alternate between the two, and the ratio is printed",
    )
    parser.add_argument(
        "--fake-nodelay",
        action="store_true",
        help="the fake Replicate API answers with TCP_NODELAY (no 40 ms delayed-ACK stalls "
        "on keep-alive requests, as a real API's server); off by default, like the other "
        "benchmarks",
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="subprocesses keep PYTHONDONTWRITEBYTECODE if set (compile the project every run)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="sample each explained run with py-spy (if installed) into DIR, all threads",
    )
    parser.add_argument(
        "--trace", action="store_true", help="print the last in-process run's requests in order"
    )
    parser.add_argument(
        "--only", choices=["inprocess", "subprocess", "explained", "help"], action="append"
    )
    args = parser.parse_args()
    only = set(args.only or ["inprocess", "subprocess", "explained", "help"])

    from tests.fakes.busy_cpu import busy_cpu
    from tests.fakes.replicate_server import FakeReplicate

    if args.fake_nodelay:
        from tests.fakes import replicate_server

        # The fake writes a response's headers and body in two sends: with Nagle's algorithm
        # on, a keep-alive client may wait out its delayed ACK (40 ms) for the body.
        replicate_server._Handler.disable_nagle_algorithm = True
    work = Path(tempfile.mkdtemp(prefix="cog-safe-push-fixed-"))
    try:
        with FakeReplicate(token=TOKEN, latency=0.0) as fake, busy_cpu(args.busy):
            fake.add_model(MODEL)
            fake.set_behaviour(MODEL, hello)
            fake.set_behaviour(TEST_MODEL, hello)
            bench = Bench(work, fake, args)
            # The live version (not timed); starts the managed server unless one is configured.
            seconds, done = bench.cli("--platform", "replicate")
            assert done.returncode == 0, done.stderr[-3000:]
            print(
                f"fixed-cost workload: hello, 0 predictions, {'push' if args.push else '--no-push'}"
                f"{', predict.py changed every run' if args.changed else ', unchanged (cached lint and test push)'}"
                f"; {args.busy} busy process(es); {args.runs} timed runs after one warm-up;"
                f" first run (starts the server, pushes live) {seconds:.1f} s"
            )
            if "help" in only:
                rows: dict[str, list[float]] = {"--help": [], "usage error (exit 2)": []}
                for _ in range(args.runs):
                    rows["--help"].append(bench.cli("--help")[0])
                    seconds, done = bench.cli("--bogus-flag")
                    assert done.returncode == 2, done.stderr
                    rows["usage error (exit 2)"].append(seconds)
                print_table("fast paths (subprocess, seconds)", rows)
            if "subprocess" in only:
                subprocess_runs(bench, args)
            if "explained" in only:
                explained(bench, args)
            if "inprocess" in only:
                in_process(bench, args)
    finally:
        if "prefect" in sys.modules:  # the in-process runs' last logs, while the server is up
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=10)
            EventsWorker.drain_all(timeout=10)
        with contextlib.suppress(Exception):
            subprocess.run(
                [sys.executable, "-m", "flows.safe_push", "server", "stop"],
                env=bench.env,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(work, ignore_errors=True)


def subprocess_runs(bench: Bench, args: argparse.Namespace) -> None:
    """The whole command, timed; with --vs-tree, alternating with the other tree run by run."""
    trees: list[Path | None] = [None]
    if args.vs_tree:
        trees.append(Path(args.vs_tree).resolve())
    walls: dict[str, list[float]] = {}
    for index in range(args.runs + 1):
        for tree in trees:
            bench.prepare()
            seconds, done = bench.cli(*bench.flags, tree=tree)
            assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-3000:]}"
            if index:
                walls.setdefault(f"whole run ({tree or 'this tree'})"[-44:], []).append(seconds)
    if args.vs_tree:
        this, other = walls.values()
        walls["ratio, run by run (this / other)"] = [
            a / b for a, b in zip(this, other, strict=True)
        ]
    print_table("subprocess: python -m flows.safe_push (seconds)", walls)


def explained(bench: Bench, args: argparse.Namespace) -> None:
    rows: dict[str, list[float]] = {}
    counts: list[dict[str, Any]] = []
    for index in range(args.runs + 1):
        bench.prepare()
        out = bench.work / "child.json"
        bench.env.update({"FIXED_COST_OUT": str(out), "FIXED_COST_T0": repr(time.time())})
        command = [sys.executable, str(Path(__file__).resolve()), "--child", *bench.flags]
        if args.py_spy:
            Path(args.py_spy).mkdir(parents=True, exist_ok=True)
            spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            out_file = Path(args.py_spy).resolve() / f"run{index}.txt"
            command = [spy, "record", "--idle", "-r", "250", "-f", "raw", "-o", str(out_file), "--"]
            command += [sys.executable, str(Path(__file__).resolve()), "--child", *bench.flags]
        seconds, done = bench.subprocess(*command)
        ended = time.time()
        assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-3000:]}"
        facts = json.loads(out.read_text())
        if not index:
            continue
        parts = {
            "whole (as seen by the caller)": seconds,
            "interpreter start": facts["interpreter"],
            "command line (flows.cli: parse, config)": facts["cli"],
            "imports for the run (Prefect, the flow)": facts["imports"],
            "run (flows.cli.run)": facts["main"],
            "exit (Prefect's last sends, teardown)": ended - facts["main_end"],
        }
        for name, value in parts.items():
            rows.setdefault(name, []).append(value)
        counts.append(facts)
    print_table("explained subprocess (seconds)", rows)
    last = counts[-1]
    if args.trace:
        print("  TLS CA bundle loads of the last run:")
        for what in last["tls_by"]:
            print(f"    {what}")
    print(
        f"  last run: {_count(last['requests'])}, "
        f"{sum(last['events'].values())} events, {last['task_runs']} task runs, "
        f"{last['result_files']} new result files; {last['tls'][0]} TLS CA bundle loads "
        f"({last['tls'][1]:.2f} s)"
    )


def in_process(bench: Bench, args: argparse.Namespace) -> None:
    from benchmarks.harness import run_cli
    from flows.runtime import quiet_prefect

    for key in ("HOME", "COG_SAFE_PUSH_HOME", "COG_SAFE_PUSH_SERVER_PORT", "PATH", "PYTHONPATH"):
        os.environ[key] = bench.env[key]
    for key in ("REPLICATE_API_TOKEN", "REPLICATE_BASE_URL", "FAKE_REPLICATE_URL"):
        os.environ[key] = bench.env[key]
    os.environ["FAKE_COG_PYTHON"] = sys.executable
    quiet_prefect()
    probe = Probe()
    probe.install()
    rows: dict[str, list[float]] = {}
    last: dict[str, Any] = {}
    for index in range(args.runs + 1):
        bench.prepare()
        probe.reset()
        before = result_files() if index else 0
        started = time.monotonic()
        code, report, wall = run_cli(bench.model_dir, bench.work, *bench.flags[2:])
        ended = time.monotonic()
        assert code == 0, report.get("error")
        if not index:
            continue
        rows.setdefault("whole run", []).append(wall)
        for name, value in breakdown(probe, started, ended, report).items():
            rows.setdefault(name, []).append(value)
        last = {
            "requests": dict(probe.requests),
            "events": dict(probe.events),
            "task_runs": len(probe.task_runs),
            "result_files": result_files() - before,
            "tls": (probe.tls, probe.spans["TLS CA loads"]),
            "sequence": list(probe.sequence),
            "started": started,
        }
    print_table("in-process: flows.cli.main (seconds)", rows)
    requests = last["requests"]
    print(
        f"\n  last run: {_count(requests)}, "
        f"{sum(last['events'].values())} events, {last['task_runs']} task runs, "
        f"{last['result_files']} new result files; {last['tls'][0]} TLS CA bundle loads "
        f"({last['tls'][1]:.2f} s) in the main thread and others"
    )
    for name, count in sorted(requests.items(), key=lambda kv: -kv[1]):
        print(f"    {count:3d}  {name}")
    print("  events:")
    for name, count in sorted(last["events"].items(), key=lambda kv: -kv[1]):
        print(f"    {count:3d}  {name}")
    if args.trace:
        print("  the last run in order (seconds from its start, thread, what):")
        for at, thread, what in sorted(last["sequence"]):
            print(f"    {at - last['started']:6.3f}  {thread[:24]:24s} {what}")


if __name__ == "__main__":
    main()
