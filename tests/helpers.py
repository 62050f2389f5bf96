"""Helpers every test tier shares, in one place.

- Models and runs: copy an example model, edit it, set its config, run the real CLI
  in-process on the local platform (`run`), read a stage of a report (`stage`).
- Flows on the in-memory fake platform: a Cog directory that lints clean (`cog_dir`), an
  OpenAPI document (`openapi`, `prop`), one safe_push flow run (`run_flow`).
- The fake Replicate set-up: the stand-in `cog` on PATH (`BIN`) and a canary token.
- Media: real PNG and WAV files (`gradient`, `make_image`, `tone`, `make_wav`), data URIs,
  and a real HTTP server for a directory (`serve_directory`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import shutil
import sys
import threading
import time
import wave
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from flows.cli import main
from tasks.core.config import Config
from tasks.core.options import RunOptions
from tasks.platforms import resolve_spec
from tasks.platforms.local.registry import LocalRegistry
from tests.fakes.platform import FakeWorld

# --- models and runs ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".cog", "__pycache__"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def set_config(model_dir: Path, **changes: Any) -> dict[str, Any]:
    """Update cog-safe-push.yaml; nested sections given as dicts replace the whole section."""
    path = model_dir / "cog-safe-push.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return data


def run(model_dir: Path, *flags: str, platform: str = "local") -> tuple[int, dict[str, Any]]:
    """Run `cog-safe-push` in `model_dir` on `platform`; return (exit code, JSON report)."""
    report_path = model_dir.parent / "report.json"
    report_path.unlink(missing_ok=True)
    cwd = os.getcwd()
    os.chdir(model_dir)
    try:
        code = main(["--platform", platform, "--report-json", str(report_path), *flags])
    finally:
        os.chdir(cwd)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return code, report


def versions(model: str) -> list[str]:
    """Version ids of a model in the current local registry, oldest first."""
    registry = LocalRegistry(resolve_spec("local").registry or "")
    return [record["id"] for record in registry.list_versions(model)]


def stage(report: dict[str, Any], name: str) -> dict[str, Any]:
    for item in report["stages"]:
        if item["name"] == name:
            return item
    raise AssertionError(f"no stage {name!r} in {[s['name'] for s in report['stages']]}")


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `condition()` until it returns something truthy (returned); fail naming `what`
    after `timeout` seconds. Tests wait for what they need, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


BIN = ROOT / "tests" / "fakes" / "bin"  # the stand-in `cog`
CANARY = "r8_CANARY_d0n0tl3ak_5ecret"  # a token that must never show up anywhere


def hello_behaviour(greeting: str = "Hello") -> Any:
    """What examples/hello does, as the fake Replicate runs it for a version."""

    def behave(inputs: dict[str, Any]) -> str:
        repeat = int(inputs.get("repeat", 1))
        if not 1 <= repeat <= 3:
            raise ValueError(f"repeat: must be between 1 and 3, got {repeat}")
        name = str(inputs.get("name", "world")).strip() or "stranger"
        line = f"{greeting}, {name}{inputs.get('punctuation', '!')}"
        return " ".join([line] * repeat)

    return behave


def use_fake_replicate(monkeypatch: Any, url: str, home: Path) -> None:
    """Point this process (and the stand-in cog it starts) at a fake Replicate at `url`,
    with a tool home of its own."""
    monkeypatch.setenv("REPLICATE_API_TOKEN", CANARY)
    monkeypatch.setenv("REPLICATE_BASE_URL", url)
    monkeypatch.setenv("FAKE_REPLICATE_URL", url)
    monkeypatch.setenv("FAKE_COG_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(home))


# --- flows on the fake platform --------------------------------------------------------------

PREDICTOR = """from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text", default="hi")) -> str:
        return text
"""


def cog_dir(root: Path, name: str = "model", predictor: str = PREDICTOR) -> Path:
    """A Cog directory that lints clean: the fake runs behaviours, not this code."""
    target = root / name
    target.mkdir(parents=True, exist_ok=True)
    (target / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
    )
    (target / "predict.py").write_text(predictor)
    return target


def prop(type_: str = "string", description: str = "an input", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "description": description, **extra}


def openapi(
    inputs: dict[str, dict[str, Any]],
    output: dict[str, Any] | None = None,
    required: list[str] | None = None,
) -> dict[str, Any]:
    """An OpenAPI document shaped as Cog writes one (Input and Output components)."""
    schema: dict[str, Any] = {
        "type": "object",
        "title": "Input",
        "properties": {
            name: {"title": name.title(), "x-order": i, **p}
            for i, (name, p) in enumerate(inputs.items())
        },
    }
    if required:
        schema["required"] = required
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {
            "schemas": {
                "Input": schema,
                "Output": output or {"title": "Output", "type": "string"},
            }
        },
    }


def run_flow(
    world: FakeWorld, model_dir: Path, config: dict[str, Any], **options: Any
) -> tuple[int, dict[str, Any]]:
    """Run the safe_push flow on the fake platform; return (exit code, report)."""
    from flows.safe_push_flow import report_of, safe_push, without_heartbeats
    from tasks.core.errors import EXIT_CODES

    # Prefect joins a flow's heartbeat thread when the flow ends, which takes up to a second:
    # a third of a run on the fake. The flow behaves the same without it.
    with without_heartbeats():
        state = safe_push(
            config=Config.model_validate(config),
            options=RunOptions(**options),
            source=str(model_dir),
            platform=world.spec,
            return_state=True,
        )
    report = report_of(state)
    if isinstance(report, BaseException):
        raise report
    return EXIT_CODES[report["status"]], report


# --- media ----------------------------------------------------------------------------------


def gradient(width: int = 64, height: int = 48, shift: int = 0) -> np.ndarray:
    """A smooth RGB picture; `shift` moves it so that two pictures differ a lot."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(1, width - 1) + shift) % 256
    g = y * 255 // max(1, height - 1)
    b = ((x + y) * 4 + shift * 3) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def make_image(path: Path, pixels: np.ndarray, fmt: str | None = None, **save: object) -> Path:
    Image.fromarray(pixels).save(path, format=fmt, **save)
    return path


def tone(freq: float, seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave_ = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.repeat(wave_[:, None], channels, axis=1).reshape(-1)


def make_wav(
    path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1, width: int = 2
) -> Path:
    """Write float samples (-1..1, interleaved) as PCM WAV with the given sample width."""
    clipped = np.clip(samples, -1.0, 1.0)
    if width == 1:
        raw = (clipped * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        raw = (clipped * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = (clipped * 8388607).astype("<i4")
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        raw = (clipped * 2147483647).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(raw)
    return path


@contextlib.contextmanager
def serve_directory(directory: Path, log: list[str] | None = None) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving `directory`; yields its base URL. Paths
    requested are appended to `log` when given."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            if log is not None:
                log.append(self.path)

    handler = functools.partial(Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def task_run_histories(flow_run_id: str, name: str, timeout: float = 30.0) -> list[list[str]]:
    """The state names, in order, of every task run whose name starts with `name` in the flow
    run `flow_run_id` and its subflows, read back from Prefect once each has ended (Prefect
    records states through events, a moment after the run returns)."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterName,
    )

    final = {"Completed", "Failed", "Cancelled", "Crashed", "Cached", "TimedOut"}

    async def read() -> list[list[str]] | None:
        async with get_client() as client:
            ids, frontier = [flow_run_id], [flow_run_id]
            while frontier:
                children = await client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier)
                    )
                )
                frontier = [str(child.id) for child in children]
                ids += frontier
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id={"any_": ids}),
                task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=name)),
            )
            histories = []
            for run in sorted(runs, key=lambda r: r.expected_start_time or r.created):
                if not run.name.startswith(name):
                    continue
                states = await client.read_task_run_states(run.id)
                names = [s.name for s in sorted(states, key=lambda s: s.timestamp)]
                if not names or names[-1] not in final:
                    return None
                histories.append(names)
            return histories

    return wait_for(lambda: asyncio.run(read()), timeout, f"the task runs named {name!r} to end")


@contextlib.contextmanager
def hello_on_fake_replicate(
    monkeypatch: Any, tmp_path: Path, model: str, test_model: str
) -> Iterator[Any]:
    """The fake Replicate API with `model` (live) and `test_model` both running the hello
    example's behaviour, this process pointed at it; yields the server."""
    from tests.fakes.replicate_server import FakeReplicate

    with FakeReplicate(token=CANARY) as server:
        server.add_model(model, hardware="cpu")
        server.set_behaviour(model, hello_behaviour())
        server.set_behaviour(test_model, hello_behaviour())
        use_fake_replicate(monkeypatch, server.url, tmp_path / "cache")
        yield server
