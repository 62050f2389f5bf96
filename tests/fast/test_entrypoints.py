"""Where the flow and the command line are found: the entrypoints deployments and users name."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def test_the_old_and_the_new_flow_entrypoints_load_the_same_flow():
    """Deployments registered before the flow moved name flows/safe_push.py:safe_push."""
    from prefect.flows import load_flow_from_entrypoint

    old = load_flow_from_entrypoint(str(ROOT / "flows" / "safe_push.py") + ":safe_push")
    new = load_flow_from_entrypoint(str(ROOT / "flows" / "safe_push_flow.py") + ":safe_push")
    assert old.name == new.name == "safe-push"
    # both are the function defined in flows/safe_push_flow.py
    assert old.fn.__code__.co_filename == new.fn.__code__.co_filename
    assert old.fn.__code__.co_filename.endswith("safe_push_flow.py")


def test_python_m_flows_safe_push_answers_help_without_importing_prefect():
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['flows.safe_push', '--help']\n"
        "try:\n"
        "    runpy.run_module('flows.safe_push', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('prefect' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "--push-official-model" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "False"
