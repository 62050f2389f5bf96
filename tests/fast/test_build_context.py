"""Tested is what Replicate would build: the Cog directory by Docker's build-context rules.

A symlink is sent as a link and never followed; one that leaves the directory (and that
.dockerignore does not exclude) is a usage error (exit 2, one line), for the snapshot and the
digest alike, so the outside file's content never reaches the local registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tasks.core.errors import UsageError
from tasks.platforms.cog_dir import digest, link_problems, snapshot_files
from tasks.platforms.local.registry import LocalRegistry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello"
SECRET = "TOPSECRET-6f1d2c-not-for-any-snapshot"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A Cog directory with one file, beside a secret file and a directory outside it."""
    root = tmp_path / "model"
    root.mkdir()
    (root / "predict.py").write_text("def predict() -> str:\n    return 'hi'\n")
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "key.pem").write_text(SECRET)
    return root


def build(snapshot: Path) -> dict[str, Any]:
    """The registry's schema step, reduced to writing the file it would write."""
    (snapshot / ".cog").mkdir(exist_ok=True)
    (snapshot / ".cog" / "openapi_schema.json").write_text("{}")
    return {}


def store(tmp_path: Path, model: Path) -> Path:
    """Snapshot `model` into a fresh local registry; the snapshot's directory."""
    registry = LocalRegistry(tmp_path / "registry")
    snapshot_id, _ = registry.store_snapshot(model, build)
    return registry.snapshot_dir(snapshot_id)


def files_holding(root: Path, text: str) -> list[Path]:
    """Every regular file under `root` (links not followed) whose bytes contain `text`."""
    found = []
    for folder, _, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink() and text.encode() in path.read_bytes():
                found.append(path)
    return found


OUTSIDE_LINKS = {
    "relative, up and out": ({"creds.txt": "../secret.txt"}, "creds.txt", "../secret.txt"),
    "absolute": ({"creds.txt": "{tmp}/secret.txt"}, "creds.txt", "{tmp}/secret.txt"),
    "a directory outside": ({"keys": "../outside"}, "keys", "../outside"),
    "from a subdirectory": ({"sub/creds.txt": "../../secret.txt"}, "sub/creds.txt", "../../"),
    "out and back in": ({"again.py": "../model/predict.py"}, "again.py", "../model/predict.py"),
    "a chain that ends outside": ({"a.txt": "b.txt", "b.txt": "../secret.txt"}, "a.txt", "b.txt"),
    "through a linked directory": (
        {"sub/up": "..", "sneaky.txt": "sub/up/../secret.txt"},
        "sneaky.txt",
        "sub/up/../secret.txt",
    ),
}


@pytest.mark.parametrize("links, named, target", OUTSIDE_LINKS.values(), ids=OUTSIDE_LINKS)
def test_a_link_out_of_the_directory_is_one_usage_error_naming_it(
    tmp_path: Path, model: Path, links: dict[str, str], named: str, target: str
) -> None:
    for rel, text in links.items():
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(text.format(tmp=tmp_path), model / rel)
    with pytest.raises(UsageError) as listed:
        snapshot_files(model)
    message = str(listed.value)
    assert "\n" not in message
    assert message.startswith(f"the symlink {named} in the Cog directory points outside it, to ")
    assert target.format(tmp=tmp_path) in message
    assert "copy the file into the directory" in message and ".dockerignore" in message
    # the digest (push cache, final push check) and the preflight line say the same
    with pytest.raises(UsageError) as hashed:
        digest(model)
    assert str(hashed.value) == message
    assert link_problems(model) == [message]
    # the local registry copies nothing
    with pytest.raises(UsageError):
        store(tmp_path, model)
    assert not files_holding(tmp_path / "registry", SECRET)
    assert not any((tmp_path / "registry" / "snapshots").iterdir())


def test_a_link_out_that_dockerignore_excludes_is_not_sent(tmp_path: Path, model: Path) -> None:
    os.symlink("../secret.txt", model / "creds.txt")
    os.symlink("../outside", model / "keys")
    assert "creds.txt" in link_problems(model)[0]  # without the ignore file: refused
    (model / ".dockerignore").write_text("creds.txt\nkeys\n")
    assert link_problems(model) == []
    assert snapshot_files(model) == [".dockerignore", "predict.py"]
    assert digest(model)
    snapshot = store(tmp_path, model)
    assert not (snapshot / "creds.txt").exists() and not (snapshot / "keys").exists()
    assert not files_holding(tmp_path / "registry", SECRET)


def test_a_link_inside_is_copied_as_the_same_link(tmp_path: Path, model: Path) -> None:
    (model / "weights").mkdir()
    (model / "weights" / "w.bin").write_bytes(b"weights")
    (model / "sub").mkdir()
    os.symlink("predict.py", model / "alias.py")
    os.symlink("../predict.py", model / "sub" / "up.py")
    os.symlink("weights", model / "models")  # a linked directory: sent once, as a link
    os.symlink("missing.txt", model / "gone")  # dangling, but inside: a link all the same
    assert snapshot_files(model) == [
        "alias.py",
        "gone",
        "models",
        "predict.py",
        "sub/up.py",
        "weights/w.bin",
    ]
    snapshot = store(tmp_path, model)
    for rel, text in {
        "alias.py": "predict.py",
        "sub/up.py": "../predict.py",
        "models": "weights",
        "gone": "missing.txt",
    }.items():
        assert (snapshot / rel).is_symlink() and os.readlink(snapshot / rel) == text, rel
    assert (snapshot / "alias.py").read_text() == (model / "predict.py").read_text()
    assert (snapshot / "models" / "w.bin").read_bytes() == b"weights"  # resolves in the copy
    assert not (snapshot / "predict.py").is_symlink()


def test_the_digest_hashes_a_link_as_its_target_text(model: Path) -> None:
    (model / "other.py").write_text((model / "predict.py").read_text())
    os.symlink("predict.py", model / "alias.py")
    as_link = digest(model)
    (model / "alias.py").unlink()
    shutil.copy(model / "predict.py", model / "alias.py")
    assert digest(model) != as_link  # a copy of the same bytes is not the same context
    (model / "alias.py").unlink()
    os.symlink("other.py", model / "alias.py")  # same bytes behind it, another target
    assert digest(model) != as_link
    os.unlink(model / "alias.py")
    os.symlink("predict.py", model / "alias.py")
    assert digest(model) == as_link  # the same link again: the same digest
    # what a link points to counts only as the file it is, where the push takes it:
    (model / "big").mkdir()
    (model / "big" / "real.bin").write_bytes(b"v1")
    (model / ".dockerignore").write_text("big\n")
    os.symlink("big/real.bin", model / "weights.bin")
    before = digest(model)
    (model / "big" / "real.bin").write_bytes(b"v2")
    assert digest(model) == before


def test_link_loops_end_and_are_kept_as_links(tmp_path: Path, model: Path) -> None:
    (model / "sub").mkdir()
    (model / "sub" / "x.py").write_text("")
    os.symlink(".", model / "here")
    os.symlink("..", model / "sub" / "back")
    os.symlink("b", model / "a")
    os.symlink("a", model / "b")
    os.symlink("self", model / "self")
    result: list[Any] = []
    walker = threading.Thread(target=lambda: result.append(snapshot_files(model)), daemon=True)
    walker.start()
    walker.join(timeout=30)
    assert not walker.is_alive(), "walking a directory with link loops hung"
    assert result == [["a", "b", "here", "predict.py", "self", "sub/back", "sub/x.py"]]
    snapshot = store(tmp_path, model)
    assert os.readlink(snapshot / "here") == "." and os.readlink(snapshot / "sub" / "back") == ".."
    assert os.readlink(snapshot / "a") == "b" and os.readlink(snapshot / "self") == "self"


def test_a_run_with_a_link_out_exits_2_with_one_line_and_copies_nothing(tmp_path: Path) -> None:
    """The command line on the local platform, with its own HOME and tool home."""
    model = tmp_path / "hello"
    shutil.copytree(EXAMPLE, model)
    (tmp_path / "secret.txt").write_text(SECRET)
    os.symlink("../secret.txt", model / "creds.txt")
    home, tool_home = tmp_path / "home", tmp_path / "tool-home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "COG_SAFE_PUSH_HOME": str(tool_home)}
    done = subprocess.run(
        [sys.executable, "-m", "flows.safe_push", "--platform", "local", "--fuzz-iterations", "1"],
        cwd=model,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    # one line, before Prefect starts: a run that found it inside the flow would add its
    # status line ("cog-safe-push: error") and an empty stage table
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, output[-3000:]
    assert "symlink creds.txt in the Cog directory points outside it, to ../secret.txt" in errors[0]
    assert "copy the file into the directory, or list creds.txt in .dockerignore" in errors[0]
    assert SECRET not in output
    pushed = [
        path
        for path in tool_home.rglob("*")
        if not path.is_dir() and ({"snapshots", "versions"} & set(path.parts))
    ]
    assert pushed == [], "nothing is pushed: no snapshot, no version"
    assert not files_holding(tool_home, SECRET) and not files_holding(home, SECRET)


def test_build_inputs_are_the_files_cog_reads_itself(tmp_path):
    from tasks.platforms.cog_dir import build_inputs

    (tmp_path / "cog.yaml").write_text(
        "build:\n  python_requirements: reqs/requirements.txt\n"
        'predict: "predict.py:Predictor"\ntrain: "train.py:train"\n'
    )
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "requirements.txt").write_text("torch\n")
    (tmp_path / "predict.py").write_text("# p\n")
    (tmp_path / "Dockerfile.gpu").write_text("FROM x\n")
    found = build_inputs(tmp_path, "Dockerfile.gpu")
    assert set(found) == {
        "cog.yaml",
        "reqs/requirements.txt",
        "predict.py",
        "train.py",
        "Dockerfile.gpu",
    }
    assert found["train.py"] == "missing" and found["predict.py"] != "missing"
    before = dict(found)
    (tmp_path / "reqs" / "requirements.txt").write_text("torch==2.5\n")
    after = build_inputs(tmp_path, "Dockerfile.gpu")
    assert [k for k in after if after[k] != before[k]] == ["reqs/requirements.txt"]


def test_the_cog_cli_version_names_the_executable_and_its_answer(tmp_path):
    from tasks.platforms.replicate.cog_cli import cli_version

    stand_in = Path(__file__).resolve().parents[1] / "fakes" / "bin" / "cog"
    assert cli_version(str(stand_in)).startswith(f"{stand_in}: cog version ")
    broken = tmp_path / "cog"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    assert cli_version(str(broken)) == f"{broken}: version unknown"
