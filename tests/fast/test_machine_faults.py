"""A machine that fails the run (a full disk) is never the model's failed check: the run stops,
reports `aborted` with one line, pushes nothing and exits 3."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tasks.core.errors import EXIT_CODES, machine_fault, machine_fault_in
from tests.fakes.platform import FakeWorld
from tests.helpers import cog_dir, openapi, prop, run_flow

MODEL, TEST = "acme/m", "acme/m-test"
DOC = openapi({"text": prop(default="hi")})


def upper(inputs):
    return str(inputs.get("text", "hi")).upper()


def test_only_the_tools_own_lack_of_space_is_a_machine_fault():
    full = OSError(errno.ENOSPC, "No space left on device", "/home/x/runs/1.json")
    assert (
        machine_fault(full)
        == "this machine has no space left on device (writing /home/x/runs/1.json)"
    )
    assert machine_fault(OSError(errno.EDQUOT, "Disk quota exceeded")) is not None
    assert machine_fault(OSError(errno.ENOENT, "No such file")) is None
    assert machine_fault(ValueError("no space left on device")) is None
    assert machine_fault_in("push failed: [Errno 28] No space left on device: 'x'") is not None
    assert machine_fault_in("the model said [Errno 2] No such file") is None
    assert machine_fault_in(None) is None


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return cog_dir(tmp_path)


def test_a_disk_that_fills_mid_run_aborts_the_run_instead_of_failing_the_model(
    world: FakeWorld, model_dir: Path
):
    world.add_version(MODEL, DOC, upper)
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, upper)
    world.disk_full_after = 3  # the first runs record, then the disk is full
    cases = [{"inputs": {"text": t}, "exact_string": t.upper()} for t in "abcdef"]
    config = {"model": MODEL, "parallel": 1, "predict": {"test_cases": cases}}
    code, report = run_flow(world, model_dir, config)
    assert code == EXIT_CODES["aborted"] == 3, report
    assert report["status"] == "aborted" and report["pushed"] is False
    assert report["error"].startswith("cannot finish: this machine has no space left on device")
    assert "nothing pushed" in report["error"]
    assert world.latest(MODEL) is not None and len(world.versions[MODEL]) == 1  # nothing pushed
    assert len(world.runs) < 3 + len(cases)  # it stopped instead of running every case
