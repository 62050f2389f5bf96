"""A new user of the tool, for end-to-end tests of the Prefect runtime: an empty HOME and
tool home, no PREFECT_* settings, a copy of the hello example, and the CLI run in a
subprocess. Every process such a user starts carries MARK, so a test can find what is left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import EXAMPLES, ROOT

MARK = "COG_SAFE_PUSH_TEST_MARK"  # passes the model and server allowlists (COG_ prefix)


def new_user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of someone who never ran Prefect: no PREFECT_* at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "HOME": str(home / "home"),
            "COG_SAFE_PUSH_HOME": str(home / "tool"),
            MARK: home.name,
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    (home / "home").mkdir(parents=True, exist_ok=True)
    return env


def hello_copy(where: Path, fuzz: int = 2) -> Path:
    target = where / "hello"
    shutil.copytree(EXAMPLES / "hello", target, ignore=shutil.ignore_patterns(".cog"))
    config = (target / "cog-safe-push.yaml").read_text()
    (target / "cog-safe-push.yaml").write_text(
        config.replace("iterations: 6", f"iterations: {fuzz}")
    )
    return target


def cli(model_dir: Path, env: dict[str, str], *args: str, timeout: float = 400):
    return subprocess.run(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", *args],
        cwd=model_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def marked_processes(mark: str) -> list[int]:
    """Live processes whose environment carries MARK=mark (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{MARK}={mark}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
