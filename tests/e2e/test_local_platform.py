"""The local platform end to end: a real registry on disk and real coglet servers."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image

from tasks.core import data_uri
from tasks.core.errors import PlatformError, UsageError
from tasks.core.platform_data import DeploymentSpec, PlatformSpec, PushOptions
from tasks.platforms import Platform
from tasks.platforms.cog_dir import is_ignored, parse_dockerignore, snapshot_files
from tasks.platforms.local.platform import (
    LocalPlatform,
    file_inputs_as_paths,
    localize_files,
    may_hold_files,
)
from tests.helpers import wait_for

MODELS = Path(__file__).resolve().parents[1] / "models"
ROOT = Path(__file__).resolve().parents[2]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_gone(pgid: int, seconds: float = 15.0) -> list[int]:
    """The group's members still alive after waiting up to `seconds` for all to be gone."""
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not group_members(pgid), seconds, f"process group {pgid} to end", 0.1)
    return group_members(pgid)


def path_of(url: str) -> Path:
    assert url.startswith("file://"), url
    return Path(urlparse(url).path)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory):
    registry = tmp_path_factory.mktemp("registry")
    plat = LocalPlatform(PlatformSpec(kind="local", registry=str(registry)))
    yield plat
    plat.close()


@pytest.fixture(scope="module")
def echo(platform: LocalPlatform) -> str:
    platform.create_model("tester/echo", "cpu")
    return platform.push("tester/echo", str(MODELS / "echo"), PushOptions())


# ---------------------------------------------------------------- registry and push


def test_satisfies_the_protocol(platform: LocalPlatform) -> None:
    assert isinstance(platform, Platform)
    platform.check_credentials()


def test_models_are_created_on_demand(platform: LocalPlatform) -> None:
    assert platform.get_model("tester/nothing-here") is None
    info = platform.create_model("tester/fresh", "gpu-t4", private=True)
    assert (info.owner, info.name, info.hardware, info.visibility) == (
        "tester",
        "fresh",
        "gpu-t4",
        "private",
    )
    again = platform.get_model("tester/fresh")
    assert again is not None and again.latest_version_id is None
    assert platform.latest_version("tester/fresh") is None
    with pytest.raises(UsageError):
        platform.get_model("no-slash")
    with pytest.raises(UsageError):
        platform.create_model("../etc/passwd", "cpu")


def test_push_creates_a_content_addressed_latest_version(
    platform: LocalPlatform, echo: str
) -> None:
    assert len(echo) == 64 and int(echo, 16) >= 0
    latest = platform.latest_version("tester/echo")
    assert latest is not None and latest.id == echo
    assert latest.openapi_schema["components"]["schemas"]["Input"]["required"] == ["text"]
    assert platform.get_model("tester/echo").latest_version_id == echo
    snapshot = platform.registry.snapshot_dir(echo)
    written = json.loads((snapshot / ".cog" / "openapi_schema.json").read_text())
    assert written == latest.openapi_schema
    # identical content -> identical id
    assert platform.push("tester/echo", str(MODELS / "echo"), PushOptions()) == echo
    with pytest.raises(UsageError):
        platform.get_version("tester/echo", "0" * 64)


def test_push_of_changed_code_makes_a_new_latest_and_old_can_return(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    ref = "tester/changing"
    work = tmp_path / "model"
    shutil.copytree(MODELS / "echo", work)
    first = platform.push(ref, str(work), PushOptions())
    predict = work / "predict.py"
    predict.write_text(predict.read_text().replace("How many times", "Repetitions"))
    second = platform.push(ref, str(work), PushOptions())
    assert second != first
    assert platform.latest_version(ref).id == second
    props = platform.get_version(ref, second).openapi_schema["components"]["schemas"]["Input"]
    assert props["properties"]["repeat"]["description"] == "Repetitions"
    assert (
        platform.get_version(ref, first).openapi_schema
        != platform.get_version(ref, second).openapi_schema
    )
    shutil.copy(MODELS / "echo" / "predict.py", predict)
    assert platform.push(ref, str(work), PushOptions()) == first
    assert platform.latest_version(ref).id == first
    assert platform.list_versions(ref) == [first, second]  # distinct ids, oldest first


def test_dockerignore_and_junk_are_left_out(platform: LocalPlatform, tmp_path: Path) -> None:
    work = tmp_path / "files"
    shutil.copytree(MODELS / "files", work)
    plain = platform.push("tester/ignore", str(work), PushOptions())
    (work / "notes.tmp").write_text("scratch")
    (work / "scratch").mkdir()
    (work / "scratch" / "big.bin").write_bytes(b"x" * 100)
    (work / ".git").mkdir()
    (work / ".git" / "HEAD").write_text("ref")
    (work / "__pycache__").mkdir()
    (work / "__pycache__" / "predict.cpython-311.pyc").write_bytes(b"\0")
    assert platform.push("tester/ignore", str(work), PushOptions()) == plain
    snapshot = platform.registry.snapshot_dir(plain)
    names = {p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()}
    assert names == {".dockerignore", "cog.yaml", "predict.py", ".cog/openapi_schema.json"}
    (work / "extra.txt").write_text("counts")
    assert platform.push("tester/ignore", str(work), PushOptions()) != plain


def test_dockerignore_rules() -> None:
    rules = parse_dockerignore("# comment\n*.ckpt\n/weights\n**/*.log\ndata/*\n!data/keep.txt\n")
    assert is_ignored("model.ckpt", rules)
    assert not is_ignored("sub/model.ckpt", rules)  # patterns are anchored at the root
    assert is_ignored("weights/a/b.bin", rules)
    assert is_ignored("a/b/c.log", rules) and is_ignored("top.log", rules)
    assert is_ignored("data/drop.txt", rules)
    assert not is_ignored("data/keep.txt", rules)
    assert is_ignored(".git/config", [])
    assert not is_ignored("predict.py", rules)


def test_snapshot_files_lists_what_a_push_takes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    (tmp_path / "skip.ckpt").write_text("")
    (tmp_path / ".dockerignore").write_text("*.ckpt\n")
    assert snapshot_files(tmp_path) == [".dockerignore", "a.py"]


def test_broken_predictor_push_fails_without_a_version(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    (tmp_path / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (tmp_path / "predict.py").write_text("def oops(:\n")
    with pytest.raises(PlatformError, match="SyntaxError"):
        platform.push("tester/broken", str(tmp_path), PushOptions())
    assert platform.latest_version("tester/broken") is None
    with pytest.raises(UsageError):
        platform.push("tester/broken", str(tmp_path / "missing"), PushOptions())


def test_deployment_is_recorded(platform: LocalPlatform, echo: str) -> None:
    spec = DeploymentSpec(
        owner="tester", name="echo-prod", hardware="cpu", min_instances=0, max_instances=2
    )
    platform.upsert_deployment(spec, "tester/echo", echo)
    record = platform.registry.get_deployment("tester", "echo-prod")
    assert record["model"] == "tester/echo" and record["version"] == echo
    assert (record["min_instances"], record["max_instances"], record["hardware"]) == (0, 2, "cpu")
    with pytest.raises(UsageError):
        platform.upsert_deployment(spec, "tester/echo", "f" * 64)


# ---------------------------------------------------------------- pure helpers


def test_data_uris_decode_and_become_files() -> None:
    assert data_uri.decode("data:text/plain;base64,aGk=") == ("text/plain", b"hi")
    assert data_uri.decode("data:,a%20b") == ("text/plain", b"a b")
    assert not data_uri.is_data_uri("https://example.com/x.png")
    with pytest.raises(data_uri.DataURIError):
        data_uri.decode("data:image/png")
    saved = []

    def save(name: str, mime: str, data: bytes) -> str:
        saved.append((name, mime, data))
        return f"file:///out/{name}"

    out = localize_files({"a": ["data:image/png;base64,AAE=", "plain"], "b": 3}, save, "output")
    assert out == {"a": ["file:///out/output_a_0", "plain"], "b": 3}
    assert saved == [("output_a_0", "image/png", b"\x00\x01")]


def test_which_outputs_may_hold_files() -> None:
    assert may_hold_files({"title": "Output", "type": "string", "format": "uri"})
    assert may_hold_files({"type": "array", "items": {"type": "string", "format": "uri"}})
    assert may_hold_files({"title": "Output"})  # Any
    assert not may_hold_files({"title": "Output", "type": "string"})


def test_file_urls_become_paths_only_for_file_inputs() -> None:
    props = {
        "image": {"type": "string", "format": "uri"},
        "images": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "text": {"type": "string"},
    }
    converted = file_inputs_as_paths(
        {"image": "file:///tmp/a%20b.png", "images": ["file:///x"], "text": "file:///keep"},
        props,
    )
    assert converted == {"image": "/tmp/a b.png", "images": ["/x"], "text": "file:///keep"}


# ---------------------------------------------------------------- predictions


def test_prediction_succeeds_and_is_recorded(platform: LocalPlatform, echo: str) -> None:
    result = platform.predict("tester/echo", echo, {"text": "hi", "repeat": 3, "mode": "upper"}, 60)
    assert result.ok, result.error
    assert result.output == "HIHIHI" and result.remote_output == "HIHIHI"
    assert result.seconds > 0 and "predict_time" in result.metrics
    record = json.loads(path_of(result.url).read_text())
    assert record["status"] == "succeeded" and record["output"] == "HIHIHI"
    assert record["input"]["repeat"] == 3 and record["version"] == echo


def test_the_run_record_keeps_a_bounded_copy_of_a_large_output(
    platform: LocalPlatform, echo: str
) -> None:
    text = "é" * 40_000  # 80,000 bytes of UTF-8, 400,000 with repeat=5: over the 64 KB limit
    result = platform.predict("tester/echo", echo, {"text": text, "repeat": 5}, 60)
    assert result.ok and result.output == text * 5  # the run itself keeps the whole output
    stored = path_of(result.url).read_text()
    assert len(stored.encode()) < 70_000
    output = json.loads(stored)["output"]
    assert output["truncated"] is True and output["size"] == 400_000
    assert output["sha256"] == hashlib.sha256((text * 5).encode()).hexdigest()


def test_prediction_failure_carries_the_error(platform: LocalPlatform, echo: str) -> None:
    result = platform.predict("tester/echo", echo, {"text": "hi", "fail": True}, 60)
    assert result.status == "failed"
    assert "ValueError: boom!" in result.error
    assert result.output is None


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ({"text": "hi", "repeat": 9}, "maximum of 5"),
        ({"text": "hi", "repeat": 0}, "minimum of 1"),
        ({"text": "hi", "mode": "sideways"}, "sideways"),
        ({"repeat": 2}, "text"),
        ({"text": 5}, "text"),
    ],
)
def test_coglet_enforces_the_written_schema(
    platform: LocalPlatform, echo: str, inputs: dict, fragment: str
) -> None:
    result = platform.predict("tester/echo", echo, inputs, 60)
    assert result.status == "failed"
    assert result.error.startswith("invalid input")
    assert fragment in result.error


def test_one_server_per_version_is_reused(platform: LocalPlatform, echo: str) -> None:
    first = platform.predict("tester/echo", echo, {"text": "a", "show_pid": True}, 60)
    second = platform.predict("tester/echo", echo, {"text": "b", "show_pid": True}, 60)
    assert first.output.split("pid=")[1] == second.output.split("pid=")[1]
    server = platform._servers[(echo, False, "")]
    assert server.starts == 1


def test_concurrent_requests_are_serialised(platform: LocalPlatform, echo: str) -> None:
    results = {}

    def run(i: int) -> None:
        results[i] = platform.predict("tester/echo", echo, {"text": str(i), "sleep": 0.1}, 60)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {i: r.output for i, r in results.items()} == {i: str(i) for i in range(4)}


def test_timeout_cancels_and_the_server_recovers(platform: LocalPlatform, echo: str) -> None:
    before = platform.predict("tester/echo", echo, {"text": "x", "show_pid": True}, 60)
    started = time.monotonic()
    result = platform.predict("tester/echo", echo, {"text": "slow", "sleep": 30}, 1)
    assert result.status == "timeout"
    assert "timed out" in result.error
    assert time.monotonic() - started < 10
    after = platform.predict("tester/echo", echo, {"text": "x", "show_pid": True}, 60)
    assert after.ok and after.output == before.output  # same worker: cancel, not restart


def test_cancel_all_cancels_in_flight_runs(platform: LocalPlatform, echo: str) -> None:
    box = {}
    thread = threading.Thread(
        target=lambda: box.setdefault(
            "r", platform.predict("tester/echo", echo, {"text": "x", "sleep": 30}, 60)
        )
    )
    thread.start()
    server = wait_for(lambda: platform._servers.get((echo, False, "")), 60, "the model server")
    run_id = wait_for(lambda: next(iter(server._inflight), None), 60, "the prediction to start")
    wait_for(lambda: "echo: predicting" in server.logs_for(run_id), 30, "the model to predict")
    platform.cancel_all()
    thread.join(15)
    assert box["r"].status == "canceled"


def test_file_inputs_and_outputs(platform: LocalPlatform, tmp_path: Path) -> None:
    version = platform.push("tester/files", str(MODELS / "files"), PushOptions())
    image = Image.new("RGB", (7, 5), "white")
    image.putpixel((0, 0), (255, 0, 0))
    source = tmp_path / "in.png"
    image.save(source)

    result = platform.predict("tester/files", version, {"image": source.as_uri(), "note": "hi"}, 60)
    assert result.ok, result.error
    png, text = (path_of(u) for u in result.output)
    assert png.suffix == ".png" and text.suffix == ".txt"
    assert png.is_relative_to(platform.registry.root / "outputs")
    with Image.open(png) as out:
        assert out.size == (7, 5)
        assert out.getpixel((6, 0)) == (255, 0, 0)  # mirrored
    assert text.read_text() == "7x5 hi"
    assert result.remote_output == result.output

    buffer = io.BytesIO()
    Image.new("RGB", (3, 2)).save(buffer, format="PNG")
    data_uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    by_data = platform.predict("tester/files", version, {"image": data_uri}, 60)
    assert by_data.ok, by_data.error
    assert path_of(by_data.output[1]).read_text() == "3x2 "
    plain_path = platform.predict("tester/files", version, {"image": str(source)}, 60)
    assert plain_path.ok and path_of(plain_path.output[1]).read_text() == "7x5 "


def test_setup_failure_is_a_failed_prediction(platform: LocalPlatform, tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (tmp_path / "predict.py").write_text(
        textwrap.dedent(
            """
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def setup(self) -> None:
                    raise RuntimeError("no weights here")
                def predict(self, text: str) -> str:
                    return text
            """
        )
    )
    version = platform.push("tester/nosetup", str(tmp_path), PushOptions())
    result = platform.predict("tester/nosetup", version, {"text": "x"}, 60)
    assert result.status == "failed"
    assert "setup failed" in result.error and "no weights here" in result.error


def test_a_crashed_worker_is_replaced(platform: LocalPlatform, tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (tmp_path / "predict.py").write_text(
        textwrap.dedent(
            """
            import os
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def predict(self, crash: bool = False) -> str:
                    if crash:
                        os._exit(3)
                    return f"pid={os.getpid()}"
            """
        )
    )
    version = platform.push("tester/crashy", str(tmp_path), PushOptions())
    first = platform.predict("tester/crashy", version, {}, 60)
    crashed = platform.predict("tester/crashy", version, {"crash": True}, 60)
    assert crashed.status == "failed" and "crash" in crashed.error.lower()
    started = time.monotonic()
    after = platform.predict("tester/crashy", version, {}, 60)
    assert after.ok, after.error
    assert after.output != first.output  # a new worker process
    assert time.monotonic() - started < 20


# ---------------------------------------------------------------- training


def test_training_writes_a_destination_version(platform: LocalPlatform, echo: str) -> None:
    assert platform.get_model("tester/echo-dest") is None
    result = platform.train("tester/echo", echo, "tester/echo-dest", {"prefix": "P:"}, 60)
    assert result.ok, result.error
    assert path_of(result.output).read_text() == "P:\n"
    dest = platform.get_model("tester/echo-dest")
    assert dest is not None
    dest_version = result.metrics["destination_version"]
    assert dest.latest_version_id == dest_version
    record = platform.registry.get_version("tester/echo-dest", dest_version)
    assert record["training_output"] == result.output
    assert Path(record["weights"]).read_text() == "P:\n"
    assert record["trained_from"] == {
        "model": "tester/echo",
        "version": echo,
        "training": result.id,
    }
    # the trained version runs with its weights
    trained = platform.predict("tester/echo-dest", dest_version, {"text": "hi"}, 60)
    assert trained.output == "P:hi"


def test_failed_or_invalid_training_adds_no_version(platform: LocalPlatform, echo: str) -> None:
    failed = platform.train(
        "tester/echo", echo, "tester/echo-dest2", {"prefix": "x", "fail": True}, 60
    )
    assert failed.status == "failed" and "training exploded" in failed.error
    invalid = platform.train("tester/echo", echo, "tester/echo-dest2", {}, 60)
    assert invalid.status == "failed" and "prefix" in invalid.error
    model = platform.get_model("tester/echo-dest2")
    assert model is None or model.latest_version_id is None


# ---------------------------------------------------------------- shutdown


def test_close_leaves_no_process(tmp_path: Path) -> None:
    plat = LocalPlatform(PlatformSpec(kind="local", registry=str(tmp_path / "reg")))
    version = plat.push("tester/echo", str(MODELS / "echo"), PushOptions())
    assert plat.predict("tester/echo", version, {"text": "x"}, 60).ok
    assert plat.train("tester/echo", version, "tester/d", {"prefix": "p"}, 60).ok
    groups = plat.server_pids()
    assert len(groups) == 2  # one predict server, one train server
    assert all(len(group_members(g)) >= 3 for g in groups)  # watchdog, coglet, worker
    plat.close()
    assert plat.server_pids() == []
    for group in groups:
        assert wait_gone(group, 5) == []


def test_servers_die_with_a_killed_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tasks.core.platform_data import PlatformSpec, PushOptions
        from tasks.platforms.local.platform import LocalPlatform
        p = LocalPlatform(PlatformSpec(kind="local", registry={str(tmp_path / "reg")!r}))
        v = p.push("t/echo", {str(MODELS / "echo")!r}, PushOptions())
        assert p.predict("t/echo", v, {{"text": "x"}}, 60).ok
        print(p.server_pids()[0], flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        group = int(proc.stdout.readline())
        assert group_members(group)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert wait_gone(group, 20) == []
    finally:
        proc.kill()
        proc.wait()


def test_models_never_see_our_credentials(monkeypatch) -> None:
    from tasks.platforms.local.cog_schema import model_env

    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    env = model_env(None)
    assert "REPLICATE_API_TOKEN" not in env and "ANTHROPIC_API_KEY" not in env
    assert env["PATH"].startswith(str(Path(sys.executable).parent))
