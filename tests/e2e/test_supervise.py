"""Supervised child processes: exit codes pass through, output is captured, and the whole
process group goes when the supervisor is stopped (kill -9 of the tool: test_prefect_runtime)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tasks.core import supervise
from tests.helpers import wait_for


def test_exit_codes_and_output_pass_through():
    done = supervise.run(
        [
            sys.executable,
            "-c",
            "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)",
        ],
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert supervise.run([sys.executable, "-c", "pass"], timeout=60).returncode == 0


def test_a_timeout_stops_the_whole_group(tmp_path):
    marker = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        supervise.run([sys.executable, "-c", script], timeout=3)
    grandchild = int(marker.read_text())

    def gone() -> bool:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, 10, "the grandchild to die with its parent", 0.1)
