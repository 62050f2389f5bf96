"""Chaos soak: loop real runs of examples/hello while faults land at random moments, and
count every run that broke a promise the tool makes (issue #20, point 7).

Why: each fault has a test of its own (tests/e2e/test_prefect_faults.py), but the promises
("what is pushed was tested", "a lease dies with its holder", "nothing outlives a run") must
also hold when faults pile up on state that carries over: one tool home per platform track for
the whole soak, so a lease, the local registry and the managed Prefect server that one run
left behind are what the next run finds. The plan (platform, fault, moment, model variant,
fuzz iterations) is drawn from --seed, so a soak that found something can be run again.

Tracks (one shared tool home each, platforms alternate run by run):
  local       --platform local: the Cog runtime here, the local registry, a managed server.
  replicate   --platform replicate against FakeReplicate (in this process) and the stand-in
              cog of tests/fakes/bin; its own managed Prefect server.
  local-disk  a local track whose tool home is a 64 MB tmpfs: the local runs drawn with the
              disk fault run here (only when this script may mount a tmpfs), after one
              uncounted --no-push warm-up run that starts its managed server.
Each run copies in a new predict.py (a comment with the run number, so each run tests and
pushes new content); the slow variant sleeps SLOW_SECONDS in predict (on replicate: the fake's
latency), so that a fault lands while predictions are in flight.

Faults (one per run, at `moment` seconds after the run started; a run that ended first
missed its fault, which the run line says):
  server   SIGKILL the managed Prefect server's process group (its PID from
           <tool home>/prefect-server/server.json; if it is not up yet, as soon as it is).
           Expected: exit 3 within 15 s, nothing pushed.
  kill9    SIGKILL the tool's own process (not its group: what it started must end by itself).
  api      FakeReplicate.faults: 25% HTTP 500 and 15% dropped connections from that moment to
           the end of the run (replicate runs only). Expected: retried, the same verdict.
  disk     fill the tmpfs that holds the run's --report-json (and, on local-disk, the tool
           home: registry, leases' server database) with a file; removed after the run.
           Skipped, and said so, when mount -t tmpfs is not possible.
  none     a control run.

Invariants, checked after every run (a violation is counted and printed with its details):
  untested push     every version of the model has the content of a version of the test
                    model: local, its registry snapshot (content hash); replicate, the content
                    digest of the directory the stand-in cog pushed from, taken by a push hook
                    of the fake the moment the push arrives.
  push on failure   a run that exited 1, 2 or 3 added no version to the model.
  passed unpushed   a run that exited 0 pushed the version its report names (as the latest).
  over limit        the run ended within --limit seconds (else the soak killed it: exit -9).
  left behind       20 s after the run ended no process carries its MARK, the managed Prefect
                    server's process group excepted.
  registry          (local tracks) every registry JSON file parses, each model.json's
                    latest_version_id is the last of its history, each history id has its
                    version file.
  lease wait        the run waited at most 30 s for the model's lease (the report's "model
                    lease" detail, or the time from "holds its lease" to "took over a stale
                    lease" / the run's end in stderr).
Two more, beyond the issue's list, from the tool's own contracts (DESIGN.md, README):
  server gone       a run whose server was killed ended within 15 s of the kill with exit 3
                    (4 when its push had landed, 0 when it finished before noticing); unless
                    the kill landed before the run used the server and the run started a new
                    one (the run line says so).
  traceback         no Python traceback on stderr: failures are one line.

Exit codes of the tool: 0 passed, 1 check failed, 2 usage, 3 Prefect server gone or
unavailable, 4 pushed but not confirmed, 130 interrupted, -9 killed by the soak.
This script exits 0 when no invariant was violated, 1 otherwise, 2 when the tool's modules
do not import (nothing is run then).

Run: .venv/bin/python benchmarks/chaos_soak.py [--runs 50] [--seed 0] [--limit 240]
         [--platforms local,replicate] [--faults none,server,kill9,api,disk] [--keep]
Everything it starts (fake servers, managed Prefect servers, tmpfs mounts, leftovers of runs)
is stopped or removed at the end, on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import chaos_faults as faults  # noqa: E402
from benchmarks.harness import hello, subprocess_env  # noqa: E402
from tasks.platforms.cog_dir import digest  # noqa: E402
from tests.fakes.replicate_server import FakeReplicate  # noqa: E402

PYTHON = sys.executable
BIN = ROOT / "tests" / "fakes" / "bin"
HELLO = ROOT / "examples" / "hello"
TOKEN = "r8_chaos_soak_token"
MODELS = {
    "local": ("examples/hello", "examples/hello-test"),
    "replicate": ("acme/hello", "acme/hello-test"),
}
FAULTS = ("none", "server", "kill9", "api", "disk")
PLATFORM_FAULTS = {"local": ("none", "server", "kill9", "disk"), "replicate": FAULTS}
SLOW_SECONDS = 1.5
MOMENTS = {False: (1.0, 8.0), True: (2.0, 15.0)}  # seconds after start: fast, slow variant
LEFTOVER_GRACE = 20.0
LEASE_WAIT_LIMIT = 30.0
EXIT_MEANING = {
    0: "passed",
    1: "a check failed",
    2: "usage",
    3: "Prefect server gone or unavailable",
    4: "pushed but not confirmed",
    130: "interrupted",
    -9: "killed by the soak",
}
INVARIANTS = (
    "untested push",
    "push on failure",
    "passed unpushed",
    "over limit",
    "left behind",
    "registry",
    "lease wait",
    "server gone",
    "traceback",
)
SERVER_GONE_EXIT = (0, 3, 4)  # 0: the run ended before it noticed; 4: its push had landed
SERVER_GONE_SECONDS = 15.0
TRACEBACK = "Traceback (most recent call last)"
EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Exit|Interrupt)\b")


@dataclass(frozen=True)
class Plan:
    """One run of the soak, all drawn from the seed."""

    n: int
    platform: str
    fault: str
    slow: bool
    fuzz: int
    moment: float
    api_seed: int  # the fake's fault stream, for an api fault


@dataclass
class Track:
    """A platform track: one tool home, one model directory and one environment for the soak."""

    name: str
    platform: str
    root: Path
    env: dict[str, str]
    disk: Path | None = None  # a tmpfs this track's disk faults fill
    fake: FakeReplicate | None = None
    digests: dict[str, str] = field(default_factory=dict)  # replicate: version id -> content
    reported: set[str] = field(default_factory=set)  # lasting violations, counted once

    def once(self, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The violations of state that lasts (the registry's, the model's history) not
        already counted by an earlier run."""
        new = [v for v in found if f"{v[0]}: {v[1]}" not in self.reported]
        self.reported.update(f"{name}: {detail}" for name, detail in new)
        return new

    @property
    def tool_home(self) -> Path:
        return Path(self.env["COG_SAFE_PUSH_HOME"])

    @property
    def model_dir(self) -> Path:
        return self.root / "hello"

    @property
    def models(self) -> tuple[str, str]:
        return MODELS[self.platform]


@dataclass
class Outcome:
    plan: Plan
    track: str
    fault: str  # what was done: the plan's fault, or "disk (skipped)"
    code: int
    seconds: float
    landed: float | None  # seconds after start the fault was injected; None: missed
    violations: list[tuple[str, str]] = field(default_factory=list)
    exit_after_kill: float | None = None  # server fault: seconds from the kill to the exit
    lease_wait: float = 0.0
    took_over: float | None = None  # seconds after start it took over a stale lease
    replaced_server: bool = False  # the server fault hit before the run used the server


# ---------------------------------------------------------------- the plan


def make_plan(seed: int, runs: int, platforms: list[str], allowed: set[str]) -> list[Plan]:
    """Platforms alternate; each platform deals its faults from a shuffled deck, so that a
    short soak still sees every fault; variant, fuzz iterations and moment are drawn too."""
    rng = random.Random(seed)
    decks: dict[str, list[str]] = {p: [] for p in platforms}
    plans = []
    for n in range(1, runs + 1):
        platform = platforms[(n - 1) % len(platforms)]
        if not decks[platform]:
            decks[platform] = [f for f in PLATFORM_FAULTS[platform] if f in allowed]
            rng.shuffle(decks[platform])
        slow = rng.random() < 0.5
        fuzz = rng.randint(2, 4)
        moment = round(rng.uniform(*MOMENTS[slow]), 1)
        fault = decks[platform].pop()
        plans.append(Plan(n, platform, fault, slow, fuzz, moment, rng.randrange(2**31)))
    return plans


# ---------------------------------------------------------------- tracks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_env(root: Path, tool_home: Path) -> dict[str, str]:
    """A user of this machine with no Prefect settings and no secrets, in a home of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_") and k not in ("ANTHROPIC_API_KEY", "REPLICATE_API_TOKEN")
    }
    env.update({"HOME": str(root / "home"), "COG_SAFE_PUSH_HOME": str(tool_home)})
    env["PYTHONPATH"] = str(ROOT)
    return env


def copy_model(root: Path, platform: str) -> None:
    target = root / "hello"
    shutil.copytree(HELLO, target, ignore=shutil.ignore_patterns(".cog", "__pycache__"))
    model, test_model = MODELS[platform]
    config = (target / "cog-safe-push.yaml").read_text()
    config = re.sub(r"(?m)^model: .*$", f"model: {model}", config)
    config = re.sub(r"(?m)^test_model: .*$", f"test_model: {test_model}", config)
    (target / "cog-safe-push.yaml").write_text(config)


def new_track(name: str, platform: str, root: Path, tool_home: Path | None = None) -> Track:
    root.mkdir(parents=True, exist_ok=True)
    (root / "home").mkdir(exist_ok=True)
    copy_model(root, platform)
    if platform == "replicate":
        env = subprocess_env(root, "http://127.0.0.1:1", TOKEN, BIN)  # the URL is set later
        env.pop("ANTHROPIC_API_KEY", None)
    else:
        env = local_env(root, tool_home or root / "tool-home")
    if tool_home is not None:
        env["COG_SAFE_PUSH_HOME"] = str(tool_home)
    env["COG_SAFE_PUSH_SERVER_PORT"] = str(free_port())  # not the default port others use
    env.pop("CI", None)
    return Track(name, platform, root, env)


def attach_fake(track: Track, fake: FakeReplicate) -> None:
    """The fake runs examples/hello for both models and records each push's content digest."""
    model, test_model = track.models
    fake.add_model(model, hardware="cpu")
    fake.set_behaviour(model, hello)
    fake.set_behaviour(test_model, hello)

    def remember(ref: str, version_id: str, body: dict[str, Any]) -> None:
        try:
            track.digests[version_id] = digest(body["cog_dir"])
        except Exception as exc:  # noqa: BLE001 - recorded, and then a violation
            track.digests[version_id] = f"unreadable: {exc}"

    fake.push_hook = remember
    track.fake = fake
    track.env.update({"REPLICATE_BASE_URL": fake.url, "FAKE_REPLICATE_URL": fake.url})


def predict_source(n: int, slow: bool) -> str:
    """examples/hello's predict.py, new content for run n; the slow variant sleeps."""
    text = (HELLO / "predict.py").read_text()
    if slow:
        marker = '        line = f"'
        assert marker in text, "examples/hello/predict.py changed: update the soak's variant"
        text = "import time\n\n" + text.replace(
            marker, f"        time.sleep({SLOW_SECONDS})\n{marker}", 1
        )
    return text + f"# chaos soak run {n}\n"


# ---------------------------------------------------------------- one run


class Watched:
    """The tool in a process of its own, stderr lines timestamped (the lease lines)."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], logs: Path) -> None:
        self.lines: list[tuple[float, str]] = []
        self.started = time.monotonic()
        self._out = (logs.with_suffix(".out")).open("w")
        self._err = (logs.with_suffix(".err")).open("w")
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the soak, which ends the run itself
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self.lines.append((time.monotonic(), line.rstrip("\n")))
            self._err.write(line)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        """After the exit: what it wrote (a child still holding stderr is not waited for)."""
        self._reader.join(timeout=5)
        self._out.close()
        if not self._reader.is_alive():
            self._err.close()

    def first(self, text: str) -> float | None:
        return next((t for t, line in list(self.lines) if text in line), None)

    def tail(self, count: int = 3) -> str:
        return " | ".join(line for _, line in list(self.lines)[-count:])


def report_path(track: Track, plan: Plan, work: Path) -> Path:
    """On the tmpfs for a disk fault, else beside the other reports."""
    if plan.fault == "disk" and track.disk is not None:
        folder = track.disk / "reports"
    else:
        folder = work / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{plan.n:03d}.json"


@dataclass(frozen=True)
class Landing:
    """A fault that landed: when, and for the server fault, the server it killed."""

    at: float  # seconds after the run started
    server_pid: int | None = None


def inject(plan: Plan, track: Track, run: Watched, at: float) -> Landing | None:
    """Do the plan's fault now; None when it cannot land yet (no server is up)."""
    if plan.fault == "server":
        pid = faults.kill_server(track.tool_home)
        return None if pid is None else Landing(at, pid)
    if plan.fault == "kill9":
        run.kill()
    elif plan.fault == "api" and track.fake is not None:
        track.fake.faults(faults.API_FAULT_RATE, faults.API_FAULT_KINDS, seed=plan.api_seed)
    elif plan.fault == "disk" and track.disk is not None:
        faults.fill(track.disk)
    return Landing(at)


def undo_faults(track: Track) -> None:
    if track.fake is not None:
        track.fake.faults(0.0)
    if track.disk is not None:
        faults.unfill(track.disk)


def drive(plan: Plan, track: Track, run: Watched, limit: float) -> tuple[Landing | None, bool]:
    """Wait for the run's end, injecting the fault at its moment and killing the run at the
    limit: (the fault's landing, or None when it missed; whether the limit was hit)."""
    landed: Landing | None = None
    over = False
    inject_it = plan.fault != "none" and not (plan.fault == "disk" and track.disk is None)
    while run.proc.poll() is None:
        elapsed = time.monotonic() - run.started
        if inject_it and landed is None and elapsed >= plan.moment:
            landed = inject(plan, track, run, elapsed)
        if elapsed >= limit and not over:
            over = True
            run.kill()
        time.sleep(0.05)
    return landed, over


def model_history(track: Track) -> list[str]:
    """The model's pushes, in order: the registry history, or the fake's versions."""
    model = track.models[0]
    if track.fake is not None:
        return [v["id"] for v in reversed(track.fake.versions.get(model, []))]
    path = track.tool_home / "models" / model / "model.json"
    try:
        return [h["id"] for h in json.loads(path.read_text()).get("history", [])]
    except (OSError, ValueError):
        return []


def read_report(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_once(plan: Plan, track: Track, work: Path, mark: str, limit: float) -> Outcome:
    (track.model_dir / "predict.py").write_text(predict_source(plan.n, plan.slow))
    if track.fake is not None:
        track.fake.latency = SLOW_SECONDS if plan.slow else 0.0
    report = report_path(track, plan, work)
    before = model_history(track)
    command = [PYTHON, "-m", "flows.safe_push", "--platform", track.platform]
    command += ["--report-json", str(report), "--fuzz-iterations", str(plan.fuzz)]
    env = {**track.env, faults.MARK: mark}
    run = Watched(command, track.model_dir, env, work / "logs" / f"run-{plan.n:03d}")
    try:
        landed, over = drive(plan, track, run, limit)
    finally:
        if run.proc.poll() is None:  # Ctrl-C while it ran
            run.kill()
            run.proc.wait()
        run.close()
        undo_faults(track)
    ended = time.monotonic()
    if report.exists() and report.parent != work / "reports":
        with contextlib.suppress(OSError):
            shutil.copy(report, work / "reports" / report.name)
    skipped = plan.fault == "disk" and track.disk is None
    outcome = Outcome(
        plan,
        track.name,
        "disk (skipped)" if skipped else plan.fault,
        run.proc.returncode,
        ended - run.started,
        None if landed is None else landed.at,
    )
    if landed is not None and landed.server_pid is not None:
        outcome.exit_after_kill = ended - run.started - landed.at
        if replaced_server(track, run, landed.server_pid):
            outcome.replaced_server = True  # killed before the run used it: no expectation
        else:
            outcome.violations += check_server_gone(outcome, run)
    if run.first(TRACEBACK) is not None:
        outcome.violations.append(("traceback", traceback_summary(run)))
    data = read_report(report)
    outcome.violations += check_pushes(track, before, outcome.code, data)
    if over:
        outcome.violations.append(("over limit", f"killed at {limit:.0f} s: {run.tail()}"))
    outcome.lease_wait, lease = check_lease(run, data, ended)
    over_at = run.first("took over a stale lease")
    outcome.took_over = None if over_at is None else over_at - run.started
    outcome.violations += lease
    outcome.violations += check_left_behind(mark, track)
    if track.platform == "local":
        outcome.violations += track.once(check_registry(track))
    return outcome


# ---------------------------------------------------------------- invariants


def check_pushes(
    track: Track, before: list[str], code: int, report: dict[str, Any] | None
) -> list[tuple[str, str]]:
    """Nothing untested in the model's history; a failed run pushed nothing; a passed one did."""
    found = []
    history = model_history(track)
    new = history[len(before) :]
    untested = [
        ("untested push", f"{track.models[0]}:{version[:12]} has content {content}")
        for version, content in untested_versions(track)
    ]
    found += track.once(untested)
    if code in (1, 2, 3) and new:
        found.append(("push on failure", f"exit {code} yet pushed {[v[:12] for v in new]}"))
    if code == 0:
        pushed = (report or {}).get("version")  # no report (a full disk): any new version
        if not new or (pushed is not None and history[-1] != pushed):
            found.append(
                (
                    "passed unpushed",
                    f"report version {str(pushed)[:12]}, new {[v[:12] for v in new]}",
                )
            )
    return found


def untested_versions(track: Track) -> list[tuple[str, str]]:
    """(version id, its content) for each version of the model whose content is no test
    model version's."""
    model, test_model = track.models
    if track.fake is not None:
        versions = track.fake.versions
        tested = {track.digests.get(v["id"]) for v in versions.get(test_model, [])}
        contents = [
            (v["id"], track.digests.get(v["id"], "unknown")) for v in versions.get(model, [])
        ]
    else:
        from tasks.platforms.local.registry import LocalRegistry

        try:
            registry = LocalRegistry(track.tool_home)
            tested = {v.get("snapshot") for v in registry.list_versions(test_model)}
            contents = [
                (v["id"], v.get("snapshot") or "none") for v in registry.list_versions(model)
            ]
        except Exception:  # noqa: BLE001 - a damaged registry is the registry check's
            return []
    return [(vid, content[:12]) for vid, content in contents if content not in tested]


def check_lease(
    run: Watched, report: dict[str, Any] | None, ended: float
) -> tuple[float, list[tuple[str, str]]]:
    """How long the run waited for the model's lease, and a violation when over 30 s."""
    waited = 0.0
    stage = next(
        (s for s in (report or {}).get("stages", []) if s.get("name") == "model lease"), None
    )
    detail = (stage or {}).get("detail") or ""
    match = re.search(r"waited ([\d.]+) s", detail)
    if match:
        waited = float(match.group(1))
    held = run.first("holds its lease")
    if held is not None:
        over = run.first("took over a stale lease")
        waited = max(waited, (over if over is not None and over > held else ended) - held)
    if waited > LEASE_WAIT_LIMIT:
        said = detail or next((line for _, line in run.lines if "holds its lease" in line), "")
        return waited, [("lease wait", f"waited {waited:.0f} s: {said[:300]}")]
    return waited, []


def replaced_server(track: Track, run: Watched, killed: int) -> bool:
    """Whether the run found the server dead and started a new one (which still runs): the
    kill landed before the run used the server, so nothing was taken from under it."""
    now = faults.server_pid(track.tool_home)
    started = run.first("starting the local Prefect server")
    return now is not None and now != killed and started is not None


def check_server_gone(outcome: Outcome, run: Watched) -> list[tuple[str, str]]:
    """A run whose server was killed ends within 15 s with exit 3 (or 4 after a push)."""
    after = outcome.exit_after_kill or 0.0
    if outcome.code in SERVER_GONE_EXIT and after <= SERVER_GONE_SECONDS:
        return []
    return [("server gone", f"exit {outcome.code} {after:.1f} s after the kill: {run.tail(1)}")]


def traceback_summary(run: Watched) -> str:
    """The traceback's last line (the exception) and the line before the traceback."""
    lines = [line for _, line in list(run.lines)]
    start = next((i for i, line in enumerate(lines) if TRACEBACK in line), 0)
    before = lines[start - 1] if start else ""
    raised = [line for line in lines[start:] if EXCEPTION_LINE.match(line)]
    exception = raised[-1] if raised else "?"
    return f"{exception[:200]} (after: {before[:200]})"


def server_groups(track: Track) -> set[int]:
    pid = faults.server_pid(track.tool_home)
    return set() if pid is None else {pid}


def check_left_behind(mark: str, track: Track) -> list[tuple[str, str]]:
    """Poll up to 20 s for the run's processes to end; what is left is reported and killed."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    while True:
        keep = server_groups(track)
        left = [
            pid
            for pid, value in faults.marked_processes(mark).items()
            if value == mark and faults.process_group(pid) not in keep
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not left:
        return []
    described = "; ".join(f"{pid} {faults.cmdline(pid)}" for pid in left)
    faults.kill_pids(left)
    return [("left behind", described)]


def check_registry(track: Track) -> list[tuple[str, str]]:
    """Every registry record parses; each model's latest version ends its history."""
    found = []
    for folder in ("models", "deployments", "runs"):
        for path in (track.tool_home / folder).rglob("*.json"):
            try:
                json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                found.append(("registry", f"{path.relative_to(track.tool_home)}: {exc}"))
    for path in (track.tool_home / "models").glob("*/*/model.json"):
        try:
            model = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # reported above
        history = [h.get("id") for h in model.get("history") or []]
        latest = model.get("latest_version_id")
        where = path.parent.relative_to(track.tool_home / "models")
        if (history[-1] if history else None) != latest:
            found.append(("registry", f"{where}: latest {latest} is not the last of {history}"))
        missing = [v for v in history if not (path.parent / "versions" / f"{v}.json").is_file()]
        if missing:
            found.append(("registry", f"{where}: no version file for {missing}"))
    return found


# ---------------------------------------------------------------- printing


def run_line(outcome: Outcome) -> str:
    plan = outcome.plan
    variant = f"{'slow' if plan.slow else 'fast'}/fuzz {plan.fuzz}"
    if outcome.fault == "none":
        moment = "-"
    elif outcome.landed is None:
        moment = f"{plan.moment:.1f}s missed"
    else:
        moment = f"{outcome.landed:.1f}s"
    extra = ""
    if outcome.replaced_server:
        extra += " (killed before the run used it: the run started a new server)"
    elif outcome.exit_after_kill is not None:
        extra += f" exit {outcome.exit_after_kill:.1f}s after the kill"
    if outcome.lease_wait:
        extra += f" lease wait {outcome.lease_wait:.1f}s"
    if outcome.took_over is not None:
        extra += f" took over a stale lease at {outcome.took_over:.1f}s"
    names = ",".join(name for name, _ in outcome.violations) or "-"
    return (
        f"{plan.n:4d}  {outcome.track:10} {outcome.fault:14} {moment:>12}  {variant:12}"
        f"  exit {outcome.code:>3}  {outcome.seconds:6.1f}s  violations: {names}{extra}"
    )


def table(title: str, counts: Counter[Any], label: Any = str) -> None:
    print(f"\n{title}")
    for key, count in sorted(counts.items(), key=lambda kv: str(kv[0])):
        print(f"  {label(key):44} {count:4d}")


def summary(outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    faults_seen = sorted({o.fault for o in outcomes})
    tracks = sorted({o.track for o in outcomes})
    print(f"\nruns by fault and track ({len(outcomes)} runs)")
    print(f"  {'':16}" + "".join(f"{t:>12}" for t in tracks) + f"{'missed':>9}")
    for fault in faults_seen:
        row = [sum(o.fault == fault and o.track == t for o in outcomes) for t in tracks]
        missed = sum(o.fault == fault and o.landed is None for o in outcomes)
        missed = missed if fault in FAULTS[1:] else 0
        print(f"  {fault:16}" + "".join(f"{n:12d}" for n in row) + f"{missed:9d}")
    table(
        "exit codes",
        Counter(o.code for o in outcomes),
        lambda c: f"{c:>4}  {EXIT_MEANING.get(c, 'other')}",
    )
    table(
        "exit codes by fault",
        Counter((o.fault, o.code) for o in outcomes),
        lambda k: f"{k[0]:16} exit {k[1]}",
    )
    violations = Counter(name for o in outcomes for name, _ in o.violations)
    print("\nviolations by invariant")
    for name in INVARIANTS:
        print(f"  {name:44} {violations[name]:4d}")
    seconds = [o.seconds for o in outcomes]
    print(f"\nrun seconds: median {statistics.median(seconds):.1f}, max {max(seconds):.1f}")
    kills = [o.exit_after_kill for o in outcomes if o.exit_after_kill and not o.replaced_server]
    if kills:
        print(
            f"server kill to exit: median {statistics.median(kills):.1f} s, max {max(kills):.1f} s"
        )
    waits = [o.lease_wait for o in outcomes]
    print(f"lease wait: max {max(waits):.1f} s over {sum(w > 0 for w in waits)} runs that waited")
    if any(o.violations for o in outcomes):
        print("\nviolations in detail")
    for o in outcomes:
        for name, detail in o.violations:
            print(f"  run {o.plan.n} ({o.track}, {o.fault}, exit {o.code}) {name}: {detail}")


# ---------------------------------------------------------------- the soak


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    # Ctrl-C too when started in the background (where a shell makes SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def setup_tracks(
    stack: contextlib.ExitStack, work: Path, plans: list[Plan], soak: str
) -> dict[str, Track]:
    """The tracks the plan needs. `stack` ends what they start, in this order: managed
    servers (`server stop`), the soak's leftover processes, tmpfs mounts, the fake."""
    tracks: dict[str, Track] = {}
    platforms = {p.platform for p in plans}
    wants_disk = any(p.fault == "disk" for p in plans)
    if "local" in platforms:
        tracks["local"] = new_track("local", "local", work / "local")
    if "replicate" in platforms:
        track = tracks["replicate"] = new_track("replicate", "replicate", work / "replicate")
        attach_fake(track, stack.enter_context(FakeReplicate(token=TOKEN)))
        if wants_disk:
            track.disk = mounted(stack, work / "replicate-reports")
    if wants_disk and any(p.platform == "local" and p.fault == "disk" for p in plans):
        disk = mounted(stack, work / "local-disk-tool")
        if disk is not None:
            tracks["local-disk"] = new_track(
                "local-disk", "local", work / "local-disk", disk / "tool"
            )
            tracks["local-disk"].disk = disk
    stack.callback(end_leftovers, soak)  # after the servers were asked to stop, before unmounts
    for track in tracks.values():
        stack.callback(stop_track, track, soak)
    return tracks


def mounted(stack: contextlib.ExitStack, where: Path) -> Path | None:
    why = faults.mount_tmpfs(where)
    if why is not None:
        print(f"disk fault skipped: cannot mount a tmpfs at {where} ({why})", flush=True)
        return None
    stack.callback(faults.unmount, where)
    return where


def stop_track(track: Track, soak: str) -> None:
    """The track's managed Prefect server, stopped the tool's own way."""
    said = faults.stop_server(PYTHON, {**track.env, faults.MARK: f"{soak}-cleanup"})
    print(f"{track.name}: {said}", flush=True)


def end_leftovers(soak: str) -> None:
    """Whatever still carries this soak's MARK (servers included) is ended by PID."""
    left = list(faults.marked_processes(f"{soak}-"))
    if left:
        print(f"ending {len(left)} leftover processes of the soak: {left}", flush=True)
        faults.kill_pids(left)


def warm_up(track: Track, soak: str, limit: float) -> None:
    """One uncounted test-only run, so that the track's managed server is up and the disk
    faults land on runs rather than always on the server's first start."""
    began = time.monotonic()
    command = [PYTHON, "-m", "flows.safe_push", "--platform", track.platform, "--no-push"]
    env = {**track.env, faults.MARK: f"{soak}-warm-up"}
    try:
        done = subprocess.run(
            [*command, "--fuzz-iterations", "0"],
            cwd=track.model_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit,
        )
        result = f"exit {done.returncode}"
    except subprocess.TimeoutExpired:
        result = "timed out"
    print(f"{track.name}: warm-up run {result} in {time.monotonic() - began:.1f} s", flush=True)


def pick_track(plan: Plan, tracks: dict[str, Track]) -> Track:
    if plan.platform == "local" and plan.fault == "disk" and "local-disk" in tracks:
        return tracks["local-disk"]
    return tracks[plan.platform]


def soak(args: argparse.Namespace, work: Path, outcomes: list[Outcome]) -> None:
    """Every run of the plan, in order, into `outcomes`; then everything started is ended."""
    plans = make_plan(args.seed, args.runs, args.platforms, args.faults)
    soak_id = f"chaos-{os.getpid()}"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    (work / "reports").mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        tracks = setup_tracks(stack, work, plans, soak_id)
        if "local-disk" in tracks:
            warm_up(tracks["local-disk"], soak_id, args.limit)
        print("   n  track      fault                moment  variant       exit  seconds")
        try:
            for plan in plans:
                track = pick_track(plan, tracks)
                outcome = run_once(plan, track, work, f"{soak_id}-{plan.n:03d}", args.limit)
                outcomes.append(outcome)
                print(run_line(outcome), flush=True)
        except KeyboardInterrupt:
            print("\ninterrupted: cleaning up", flush=True)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the clean-up finish


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=240.0, help="seconds a run may take")
    parser.add_argument("--platforms", default="local,replicate")
    parser.add_argument("--faults", default=",".join(FAULTS), help="faults to deal from")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.platforms = [p for p in args.platforms.split(",") if p]
    args.faults = {f for f in args.faults.split(",") if f}
    if not args.platforms or set(args.platforms) - set(MODELS):
        parser.error(f"--platforms: a comma-separated list of {', '.join(MODELS)}")
    if args.faults - set(FAULTS):
        parser.error(f"--faults: a comma-separated list of {', '.join(FAULTS)}")
    for platform in args.platforms:
        if not args.faults & set(PLATFORM_FAULTS[platform]):
            parser.error(f"--faults leaves no fault (or none) for {platform}")
    if args.runs < 1 or args.limit <= 0:
        parser.error("--runs and --limit must be positive")
    return args


def tool_import_error() -> str | None:
    """Why the tool's modules do not import (a tree mid-edit), or None: a soak of a tool
    that cannot start would only count tracebacks."""
    modules = "flows.cli, flows.console, flows.runtime, flows.server_watch, flows.safe_push_flow"
    done = subprocess.run(
        [PYTHON, "-c", f"import {modules}"], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    broken = tool_import_error()
    if broken is not None:
        print(f"chaos soak: the tool does not import ({broken}); nothing run", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cog-safe-push-chaos-"))
    print(
        f"chaos soak: {args.runs} runs, seed {args.seed}, limit {args.limit:.0f} s, "
        f"platforms {','.join(args.platforms)}; work dir {work}",
        flush=True,
    )
    outcomes: list[Outcome] = []
    try:
        with sigterm_as_interrupt():
            soak(args, work, outcomes)
    except KeyboardInterrupt:
        print("interrupted while setting up or cleaning up", flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    summary(outcomes)
    return 1 if any(o.violations for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
