"""What the benchmarks share: a Prefect server to run against, and one CLI run measured.

Benchmarks run the real tool in-process (as a user's command line does) against the fakes of
tests/fakes, so that their figures are the tool's, not a mock's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def prefect_server(work: Path) -> Iterator[None]:
    """The configured Prefect API, or a server of our own (SQLite under `work`)."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from tests.prefect_server import free_port, running_server

    os.environ["PREFECT_HOME"] = str(work / "prefect")
    port = free_port()
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    with running_server(port, work / "server.log"):
        yield


def run_cli(model_dir: Path, work: Path, *flags: str) -> tuple[int, dict, float]:
    """`cog-safe-push --platform replicate FLAGS` in `model_dir`: (exit code, report, seconds)."""
    from flows.cli import main

    report_path = work / "report.json"
    cwd = os.getcwd()
    os.chdir(model_dir)
    started = time.monotonic()
    try:
        code = main(["--platform", "replicate", "--report-json", str(report_path), *flags])
    finally:
        os.chdir(cwd)
    return code, json.loads(report_path.read_text()), time.monotonic() - started


def hello(inputs: dict) -> str:
    """What examples/hello answers, as the fake Replicate runs it for a version."""
    repeat = int(inputs.get("repeat", 1))
    if not 1 <= repeat <= 3:
        raise ValueError(f"repeat must be between 1 and 3, got {repeat}")
    name = str(inputs.get("name", "world")).strip() or "stranger"
    return " ".join([f"Hello, {name}{inputs.get('punctuation', '!')}"] * repeat)


def use_fake_replicate(work: Path, token: str) -> None:
    """This process set up for CLI runs against the fake Replicate (whose URL is set once it
    listens): a tool home under `work`, the stand-in cog first on PATH, and no AI (neither
    an Anthropic key from this shell nor Claude on Replicate, which the fake does not host)."""
    import sys

    root = Path(__file__).resolve().parent.parent
    os.environ.update(
        {
            "REPLICATE_API_TOKEN": token,
            "COG_SAFE_PUSH_HOME": str(work / "cache"),
            "PATH": os.pathsep.join(
                [
                    str(root / "tests" / "fakes" / "bin"),
                    str(Path(sys.executable).parent),
                    os.environ["PATH"],
                ]
            ),  # fmt: skip
            "FAKE_COG_PYTHON": sys.executable,
            "PYTHONPATH": str(root),
            "COG_SAFE_PUSH_AI_PROVIDER": "none",
        }
    )
    os.environ.pop("ANTHROPIC_API_KEY", None)


def subprocess_env(work: Path, fake_url: str, token: str, bin_dir: Path) -> dict[str, str]:
    """The environment of a CLI run in a subprocess against the fakes: a home of its own under
    `work`, no Prefect settings or Anthropic key from this shell, the stand-in cog first on
    PATH (`bin_dir`)."""
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_") and k != "ANTHROPIC_API_KEY"
    }
    env.update(
        {
            "HOME": str(work / "home"),
            "COG_SAFE_PUSH_HOME": str(work / "tool-home"),
            "REPLICATE_API_TOKEN": token,
            "REPLICATE_BASE_URL": fake_url,
            # a token alone would make Claude-on-Replicate the AI: the fake hosts none
            "COG_SAFE_PUSH_AI_PROVIDER": "none",
            "FAKE_REPLICATE_URL": fake_url,
            "FAKE_COG_PYTHON": sys.executable,
            "PYTHONPATH": str(bin_dir.parent.parent.parent),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        }
    )
    return env
