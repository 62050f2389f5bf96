"""The Replicate platform against the fake Replicate API (real HTTP, real `replicate` client)."""

from __future__ import annotations

import io
import os
import pickle
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from PIL import Image

from tasks.core.errors import PlatformError, TransientError, UsageError
from tasks.core.openapi import join_stream
from tasks.core.platform_data import DeploymentSpec, PlatformSpec, PushOptions
from tasks.core.retry import is_transient
from tasks.platforms.replicate import ReplicatePlatform
from tasks.platforms.replicate.adoption import SKEW, fingerprint, matches
from tasks.platforms.replicate.calls import ATTEMPTS, backoff, may_retry
from tasks.platforms.replicate.errors import (
    ReplicateAPIError,
    error_for,
    map_exception,
    parse_retry_after,
)
from tasks.platforms.replicate.localize import source_of
from tasks.platforms.replicate.output_schema import (
    collect_file_urls,
    file_name_for,
    replace_urls,
)
from tasks.platforms.replicate.rate_limit import RateLimiter
from tasks.platforms.replicate.timing import cancel_after, poll_delays, prefer_wait
from tests.fakes.replicate_server import FakeFile, FakeReplicate
from tests.helpers import wait_for

CANARY = "r8_CANARY_" + uuid.uuid4().hex
FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"


def document(output: dict | None = None, train_output: dict | None = None) -> dict:
    schemas = {
        "Input": {
            "type": "object",
            "title": "Input",
            "properties": {
                "text": {"type": "string", "description": "Text", "x-order": 0},
                "seed": {"type": "integer", "description": "Seed", "x-order": 1},
            },
        },
        "Output": output or {"type": "string", "title": "Output"},
    }
    if train_output is not None:
        schemas["TrainingInput"] = {
            "type": "object",
            "properties": {"steps": {"type": "integer", "description": "Steps"}},
        }
        schemas["TrainingOutput"] = train_output
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog"},
        "paths": {},
        "components": {"schemas": schemas},
    }


def png_bytes(color: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


def retried(call, attempts: int = 10):
    """What the Prefect task's retry_condition_fn does: retry only transient failures."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)


@pytest.fixture
def fake(monkeypatch):
    with FakeReplicate(token=CANARY) as server:
        monkeypatch.setenv("REPLICATE_API_TOKEN", CANARY)
        yield server


@pytest.fixture
def platform(fake, tmp_path):
    plat = ReplicatePlatform(
        PlatformSpec(kind="replicate", base_url=fake.url), outputs_dir=tmp_path / "outputs"
    )
    yield plat
    plat.cancel_all()
    plat.close()


@pytest.fixture
def model(fake):
    fake.add_model("acme/hello")
    version_id = fake.add_version("acme/hello", document())
    fake.set_behaviour(version_id, lambda inputs: "hello " + inputs.get("text", ""))
    return version_id


# ---- pure helpers -------------------------------------------------------------------------


def test_wait_cancel_after_and_backoff_helpers():
    assert prefer_wait(300) == 10 and prefer_wait(7.2) == 8 and prefer_wait(0.1) == 1
    assert cancel_after(300) == "300s" and cancel_after(1) == "5s"
    assert poll_delays() == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    assert backoff(3, retry_after=2.0) == 2.0
    delays = [backoff(n) for n in range(1, 8)]
    assert all(0 < d <= 12 for d in delays) and delays[5] > delays[0]


def test_error_mapping():
    assert isinstance(error_for(429, "Too Many", None, "GET /x", 3.0), TransientError)
    assert error_for(429, None, None, "GET /x", 3.0).retry_after == 3.0
    for status in (500, 502, 503, 504):
        assert is_transient(error_for(status, None, None, "GET /x"))
    unauthorized = error_for(401, "Unauthenticated", None, "GET /v1/account")
    assert isinstance(unauthorized, UsageError) and "REPLICATE_API_TOKEN was rejected" in str(
        unauthorized
    )
    for status in (401, 403, 404, 422):
        assert not is_transient(error_for(status, None, None, "GET /x"))
    forbidden = error_for(403, "Forbidden", "no", "POST /v1/models")
    assert isinstance(forbidden, ReplicateAPIError) and forbidden.status == 403
    assert pickle.loads(pickle.dumps(forbidden)).status == 403


def test_stream_join_and_file_detection_follow_the_schema():
    stream = {
        "type": "array",
        "items": {"type": "string"},
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
    }
    assert join_stream(["Hel", "lo"], stream) == "Hello"
    assert join_stream(["Hel", "lo"], {"type": "array", "items": {"type": "string"}}) == [
        "Hel",
        "lo",
    ]
    files = {"type": "array", "items": {"type": "string", "format": "uri"}}
    assert collect_file_urls(["http://h/a.png", "http://h/b.png"], files) == [
        "http://h/a.png",
        "http://h/b.png",
    ]
    assert collect_file_urls("https://example.com", {"type": "string"}) == []
    assert collect_file_urls({"x": "https://h/f.wav"}, None) == ["https://h/f.wav"]
    assert collect_file_urls(["file:///etc/passwd", "/etc/passwd"], files) == []
    assert file_name_for("https://h/a%20b/out%2F..%2Fx.png?sig=1", 0) == "x.png"
    assert file_name_for("https://h/", 3) == "output-3"
    assert file_name_for("data:image/png;base64,AAAA", 1) == "output-1.png"
    assert replace_urls({"a": ["u", 1], "b": "v"}, {"u": "file:///x"}) == {
        "a": ["file:///x", 1],
        "b": "v",
    }


# ---- credentials and models ---------------------------------------------------------------


def test_check_credentials_accepts_the_token_and_rejects_a_bad_one_once(fake, platform):
    platform.check_credentials()
    assert fake.count("GET", "/v1/account") == 1

    fake.token = "r8_another_token"  # the server no longer accepts ours
    with pytest.raises(UsageError) as info:
        platform.check_credentials()
    assert "REPLICATE_API_TOKEN was rejected" in str(info.value)
    assert CANARY not in str(info.value)
    assert fake.count("GET", "/v1/account") == 2  # 401 is never retried


def test_missing_token_is_a_usage_error(fake, platform, monkeypatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    with pytest.raises(UsageError, match="REPLICATE_API_TOKEN is not set"):
        platform.check_credentials()
    assert fake.api_requests() == 0


def test_get_create_and_ensure_models(fake, platform):
    assert platform.get_model("acme/missing") is None
    with pytest.raises(UsageError, match="hardware"):
        platform.create_model("acme/new", hardware="")
    created = platform.create_model("acme/new", hardware="gpu-t4")
    assert (created.owner, created.name, created.visibility) == ("acme", "new", "private")
    assert fake.models["acme/new"]["hardware"] == "gpu-t4"
    assert platform.get_model("acme/new").ref == "acme/new"
    assert platform.ensure_model("acme/new", "cpu").ref == "acme/new"  # exists: not recreated
    assert fake.count("POST", "/v1/models") == 1
    assert platform.create_model("acme/new", hardware="cpu").ref == "acme/new"  # 409 -> fetched

    with pytest.raises(ReplicateAPIError) as info:
        platform.create_model("someone/else", hardware="cpu")
    assert info.value.status == 403
    with pytest.raises(UsageError):
        platform.get_model("not-a-ref")


def test_latest_version_and_get_version(fake, platform):
    fake.add_model("acme/m")
    assert platform.latest_version("acme/m") is None
    assert platform.latest_version("acme/absent") is None
    schema = document(output={"$ref": "#/components/schemas/Out"})
    schema["components"]["schemas"]["Out"] = {"type": "integer"}
    ids = [fake.add_version("acme/m", schema) for _ in range(3)]
    latest = platform.latest_version("acme/m")
    assert latest.id == ids[-1]
    assert latest.openapi_schema["components"]["schemas"]["Output"] == {"type": "integer"}
    assert platform.get_version("acme/m", ids[0]).id == ids[0]
    before = fake.api_requests()
    platform.get_version("acme/m", ids[0])  # cached by version id
    assert fake.api_requests() == before
    with pytest.raises(UsageError, match="does not exist"):
        platform.get_version("acme/m", "f" * 64)


def test_official_model_falls_back_to_latest_version_and_model_predictions(fake, platform):
    fake.add_model("acme/official", official=True)
    version_id = fake.add_version("acme/official", document())
    fake.set_behaviour("acme/official", lambda inputs: "official " + inputs["text"])

    latest = platform.latest_version("acme/official")
    assert latest is not None and latest.id == version_id
    result = platform.predict("acme/official", version_id, {"text": "hi"}, timeout=10)
    assert result.ok and result.output == "official hi"
    assert fake.count("POST", "/v1/models/{owner}/{name}/predictions") == 1
    assert fake.count("POST", "/v1/predictions") == 0


# ---- predictions --------------------------------------------------------------------------


def test_prediction_finishing_within_the_wait_window_costs_one_request(fake, platform, model):
    platform.get_version("acme/hello", model)
    fake.reset_counts()
    result = platform.predict("acme/hello", model, {"text": "world"}, timeout=30)
    assert result.ok and result.output == "hello world"
    assert result.url == f"https://replicate.com/p/{result.id}"
    assert fake.api_requests() == 1
    create = [r for r in fake.requests if r["pattern"] == "/v1/predictions"][0]
    assert create["prefer"] == "wait=10" and create["cancel_after"] == "30s"


def test_failed_prediction_is_a_result_with_the_error(fake, platform, model):
    def broken(inputs):
        raise RuntimeError("CUDA out of memory")

    fake.set_behaviour(model, broken)
    result = platform.predict("acme/hello", model, {"text": "x"}, timeout=10)
    assert result.status == "failed" and not result.ok
    assert "CUDA out of memory" in result.error and "Traceback" in result.logs


def test_polling_backs_off_instead_of_spinning(fake, platform, model):
    fake.max_wait = 0.2  # the server lets go of the held request early
    fake.set_behaviour(model, lambda inputs: "slow", latency=1.6)
    result = platform.predict("acme/hello", model, {"text": "x"}, timeout=30)
    assert result.ok and result.output == "slow"
    polls = [r["at"] for r in fake.requests if r["pattern"] == "/v1/predictions/{id}"]
    assert 2 <= len(polls) <= 4  # 0.25 + 0.5 + 1 s: a tight loop would make dozens
    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False))


def test_prediction_past_its_timeout_is_canceled_on_the_server(fake, platform, model):
    fake.set_behaviour(model, lambda inputs: "never", latency=60)
    started = time.monotonic()
    result = platform.predict("acme/hello", model, {"text": "x"}, timeout=1.0)
    assert time.monotonic() - started < 5
    assert result.status == "timeout" and "canceled" in result.error
    assert fake.runs[result.id].status == "canceled"
    assert fake.count("POST", "/v1/predictions/{id}/cancel") == 1
    create = [r for r in fake.requests if r["pattern"] == "/v1/predictions"][0]
    assert create["cancel_after"] == "5s" and create["prefer"] == "wait=1"
    assert platform.inflight() == []


def test_cancel_all_cancels_in_flight_predictions(fake, platform, model):
    fake.set_behaviour(model, lambda inputs: "never", latency=60)
    fake.max_wait = 0.1
    results = []
    worker = threading.Thread(
        target=lambda: results.append(platform.predict("acme/hello", model, {}, timeout=120))
    )
    worker.start()
    wait_for(platform.inflight, 5, "the prediction to be in flight", 0.02)
    platform.cancel_all()
    worker.join(timeout=15)
    assert results and results[0].status == "canceled"
    assert fake.runs[results[0].id].status == "canceled"


def test_close_ends_followers_and_cancels_their_predictions(fake, tmp_path, model):
    plat = ReplicatePlatform(
        PlatformSpec(kind="replicate", base_url=fake.url), outputs_dir=tmp_path
    )
    fake.set_behaviour(model, lambda inputs: "never", latency=60)
    fake.max_wait = 0.1
    errors = []

    def run() -> None:
        try:
            plat.predict("acme/hello", model, {}, timeout=120)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    run_id = wait_for(plat.inflight, 5, "the prediction to be in flight", 0.02)[0]
    plat.close()
    worker.join(timeout=15)
    assert not worker.is_alive() and errors
    assert fake.runs[run_id].status == "canceled"


def test_rate_limiter_math_with_a_fake_clock():
    now = [0.0]
    limiter = RateLimiter(limit=3, period=60.0, clock=lambda: now[0])
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve() == 60.0  # the 4th waits for the 1st to leave the window
    assert limiter.reserve() == 60.0
    now[0] = 30.0
    assert limiter.reserve() == 30.0  # the 6th: slot at 60
    assert limiter.reserve() == 90.0  # the 7th: slot at 120 (after the 4th's 60 + 60)
    now[0] = 500.0
    assert limiter.reserve() == 0.0
    with pytest.raises(ValueError):
        RateLimiter(limit=0)
    assert RateLimiter().limit == 600 and RateLimiter().period == 60.0


def test_rate_limiter_is_thread_safe():
    limiter = RateLimiter(limit=10, period=100.0, clock=lambda: 0.0)
    delays: list[float] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(5):
            delay = limiter.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delays) == [100.0 * (i // 10) for i in range(40)]


def test_twenty_percent_transient_faults_still_reach_the_right_verdicts(fake, platform, model):
    failing = fake.add_version("acme/hello", document())
    fake.set_behaviour(failing, lambda inputs: (_ for _ in ()).throw(ValueError("bad seed")))
    fake.faults(0.2, seed=11, retry_after=0)
    fake.max_wait = 0.05  # force polling so that reads meet faults too
    fake.set_behaviour(model, lambda inputs: "hello " + inputs["text"], latency=0.1)

    assert retried(lambda: platform.get_model("acme/hello")).ref == "acme/hello"
    assert retried(lambda: platform.latest_version("acme/hello")).id == failing
    good = [
        retried(lambda i=i: platform.predict("acme/hello", model, {"text": str(i)}, timeout=30))
        for i in range(12)
    ]
    assert [r.output for r in good] == [f"hello {i}" for i in range(12)]
    bad = retried(lambda: platform.predict("acme/hello", failing, {"text": "x"}, timeout=30))
    assert bad.status == "failed" and "bad seed" in bad.error
    assert sum(fake.faults_injected.values()) >= 5


def test_a_create_whose_fate_is_unknown_is_never_sent_again_blindly(fake, platform, model):
    """503 everywhere: the create may have started a run and the lookup cannot tell, so the
    platform gives up (a TransientError) rather than risk paying for a second run."""
    platform.get_version("acme/hello", model)
    fake.faults(1.0, kinds=("503",), retry_after=0)
    with pytest.raises(TransientError) as info:
        platform.predict("acme/hello", model, {"text": "x"}, timeout=10)
    assert is_transient(info.value)
    assert fake.count("POST", "/v1/predictions") == 1
    assert fake.count("GET", "/v1/predictions") == ATTEMPTS  # the lookup, retried as a read
    assert CANARY not in str(info.value)


def test_rate_limiter_paces_creates(fake, tmp_path, model):
    plat = ReplicatePlatform(
        PlatformSpec(kind="replicate", base_url=fake.url),
        rate_limiter=RateLimiter(limit=2, period=0.6),
        outputs_dir=tmp_path,
    )
    try:
        plat.get_version("acme/hello", model)
        started = time.monotonic()
        threads = [
            threading.Thread(target=plat.predict, args=("acme/hello", model, {"text": "x"}, 10))
            for _ in range(5)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.monotonic() - started >= 1.2  # 5 creates at 2 per 0.6 s
        assert fake.count("POST", "/v1/predictions") == 5
    finally:
        plat.close()


def test_streaming_text_is_joined(fake, platform):
    stream = {
        "type": "array",
        "items": {"type": "string"},
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
    }
    fake.add_model("acme/llm")
    version_id = fake.add_version("acme/llm", document(output=stream))
    fake.set_behaviour(version_id, lambda inputs: iter(["The ", "quick ", "fox"]))
    result = platform.predict("acme/llm", version_id, {"text": "x"}, timeout=10)
    assert result.output == "The quick fox"
    assert result.remote_output == ["The ", "quick ", "fox"]


def test_file_outputs_are_downloaded_and_survive_expiry(fake, platform, tmp_path):
    images = {"type": "array", "items": {"type": "string", "format": "uri"}}
    fake.add_model("acme/painter")
    version_id = fake.add_version("acme/painter", document(output=images))
    red, blue = png_bytes((255, 0, 0)), png_bytes((0, 0, 255))
    fake.set_behaviour(
        version_id, lambda inputs: [FakeFile("out.png", red), FakeFile("out-1.png", blue)]
    )
    result = platform.predict("acme/painter", version_id, {"text": "x"}, timeout=10)
    assert result.ok
    assert all(u.startswith(fake.url + "/files/") for u in result.remote_output)
    paths = [Path(urlparse(u).path) for u in result.output]
    assert all(u.startswith("file://") for u in result.output)
    fake.files.clear()  # Replicate deletes outputs after an hour
    assert paths[0].read_bytes() == red and paths[1].read_bytes() == blue
    assert Image.open(paths[1]).getpixel((0, 0)) == (0, 0, 255)
    assert str(tmp_path / "outputs") in str(paths[0])


def test_text_that_looks_like_a_url_stays_text(fake, platform, model):
    fake.set_behaviour(model, lambda inputs: "https://example.com/not-a-file")
    result = platform.predict("acme/hello", model, {"text": "x"}, timeout=10)
    assert result.output == "https://example.com/not-a-file"


def test_file_inputs_are_sent_as_data_uris(fake, platform, model, tmp_path):
    seen = {}
    fake.set_behaviour(model, lambda inputs: seen.update(inputs) or "ok")
    picture = tmp_path / "in.png"
    picture.write_bytes(png_bytes())
    result = platform.predict("acme/hello", model, {"image": picture.as_uri()}, timeout=10)
    assert result.ok and seen["image"].startswith("data:image/png;base64,")


# ---- trainings ------------------------------------------------------------------------------


def test_training_into_a_destination_created_on_demand(fake, platform):
    weights_schema = {
        "type": "object",
        "properties": {"weights": {"type": "string", "format": "uri"}},
    }
    fake.add_model("acme/trainable")
    version_id = fake.add_version("acme/trainable", document(train_output=weights_schema))
    fake.set_training_behaviour(
        version_id, lambda inputs: {"weights": FakeFile("weights.tar", b"w" * inputs["steps"])}
    )
    result = platform.train(
        "acme/trainable", version_id, "acme/trainable-dest", {"steps": 5}, timeout=20
    )
    assert result.ok, result.error
    assert fake.models["acme/trainable-dest"]["visibility"] == "private"
    assert fake.models["acme/trainable-dest"]["hardware"] == "cpu"
    new_version = fake.latest_version_id("acme/trainable-dest")
    assert result.output["version"] == f"acme/trainable-dest:{new_version}"
    assert Path(urlparse(result.output["weights"]).path).read_bytes() == b"wwwww"
    assert result.url == f"https://replicate.com/p/{result.id}"
    creates = [r for r in fake.requests if r["method"] == "POST" and "trainings" in r["pattern"]]
    assert [r["cancel_after"] for r in creates] == ["20s"]

    def broken(inputs):
        raise ValueError("steps must be positive")

    fake.set_training_behaviour(version_id, broken)
    failed = platform.train(
        "acme/trainable", version_id, "acme/trainable-dest", {"steps": -1}, timeout=20
    )
    assert failed.status == "failed" and "steps must be positive" in failed.error
    assert fake.count("POST", "/v1/models") == 1  # destination created once


# ---- deployments ----------------------------------------------------------------------------


def test_deployments_are_created_with_defaults_and_then_updated(fake, platform, model):
    platform.upsert_deployment(DeploymentSpec(owner="acme", name="cpu-dep"), "acme/hello", model)
    config = fake.deployments["acme/cpu-dep"]["current_release"]["configuration"]
    assert config == {"hardware": "cpu", "min_instances": 1, "max_instances": 20}

    gpu = DeploymentSpec(owner="acme", name="gpu-dep", hardware="gpu-a40-large")
    platform.upsert_deployment(gpu, "acme/hello", model)
    config = fake.deployments["acme/gpu-dep"]["current_release"]["configuration"]
    assert (config["min_instances"], config["max_instances"]) == (0, 2)

    custom = DeploymentSpec(owner="acme", name="custom", min_instances=2, max_instances=3)
    platform.upsert_deployment(custom, "acme/hello", model)
    config = fake.deployments["acme/custom"]["current_release"]["configuration"]
    assert (config["min_instances"], config["max_instances"]) == (2, 3)

    newer = fake.add_version("acme/hello", document())
    platform.upsert_deployment(DeploymentSpec(owner="acme", name="cpu-dep"), "acme/hello", newer)
    release = fake.deployments["acme/cpu-dep"]["current_release"]
    assert release["version"] == newer and release["number"] == 2
    assert release["configuration"]["max_instances"] == 20
    assert fake.count("PATCH", "/v1/deployments/{owner}/{name}") == 1


# ---- push -----------------------------------------------------------------------------------


def test_push_through_the_cog_cli_registers_the_latest_version(
    fake, platform, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_REPLICATE_URL", fake.url)
    cog_dir = tmp_path / "model"
    (cog_dir / ".cog").mkdir(parents=True)
    (cog_dir / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    import json

    (cog_dir / ".cog" / "openapi_schema.json").write_text(json.dumps(document()))
    fake.add_model("acme/pushed")
    version_id = platform.push("acme/pushed", str(cog_dir), PushOptions(fast_push=True))
    assert version_id == fake.latest_version_id("acme/pushed")
    assert platform.latest_version("acme/pushed").id == version_id
    with pytest.raises(PlatformError, match="does not exist"):
        platform.push("acme/not-created", str(cog_dir), PushOptions())


# ---- secrets --------------------------------------------------------------------------------


def test_canary_token_never_leaks_into_results_or_errors(fake, platform, model):
    def leaky(inputs):
        raise RuntimeError(f"auth header was Bearer {os.environ['REPLICATE_API_TOKEN']}")

    fake.set_behaviour(model, leaky)
    result = platform.predict("acme/hello", model, {"text": "x"}, timeout=10)
    assert result.status == "failed"
    assert CANARY not in repr(result.to_dict())

    caught = []
    fake.token = "r8_rotated"
    for call in (
        lambda: platform.get_model("acme/hello"),
        lambda: platform.predict("acme/hello", model, {"text": "x"}, timeout=5),
        lambda: platform.upsert_deployment(DeploymentSpec("acme", "d"), "acme/hello", model),
    ):
        with pytest.raises(UsageError) as info:
            call()
        caught.append(info.value)
    fake.token = CANARY
    fake.faults(1.0, kinds=("drop",))
    with pytest.raises(TransientError) as info:
        platform.predict("acme/hello", model, {"text": "x"}, timeout=5)
    caught.append(info.value)
    for exc in caught:
        assert CANARY not in str(exc) and CANARY not in repr(exc)
        assert exc.__cause__ is None
        assert CANARY.encode() not in pickle.dumps(exc)


# ---- one retry layer, and creates that are never paid for twice -----------------------------


def test_retry_policy_helpers():
    assert parse_retry_after("3") == 3.0 and parse_retry_after("") is None
    assert parse_retry_after("600") == 60.0  # capped
    assert parse_retry_after("not a date") is None
    unsent = map_exception(httpx.ConnectError("refused"), "POST /v1/predictions")
    lost = map_exception(httpx.ReadTimeout("slow"), "POST /v1/predictions")
    dropped = map_exception(httpx.RemoteProtocolError("gone"), "POST /v1/predictions")
    refused = error_for(429, "Too Many Requests", None, "POST /v1/predictions", 1.0)
    busy = error_for(503, "Service Unavailable", None, "POST /v1/predictions")
    for error in (unsent, lost, dropped, refused, busy):
        assert isinstance(error, TransientError) and is_transient(error)
        assert may_retry(error, "idempotent")
    assert may_retry(unsent, "create") and may_retry(refused, "create")
    assert not any(may_retry(e, "create") for e in (lost, dropped, busy))
    assert not may_retry(error_for(404, None, None, "GET /x"), "idempotent")
    assert map_exception(ValueError("a bug"), "GET /x") is None
    assert pickle.loads(pickle.dumps(unsent)).unsent is True


def test_adoption_matches_only_an_unknown_run_of_the_same_request():
    sent = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    run = {
        "id": "abc",
        "version": "v1",
        "input": {"text": "x", "n": [1, 2]},
        "created_at": "2025-01-01T12:00:01.5Z",
    }
    same = {"version": "v1", "inputs": {"n": (1, 2), "text": "x"}, "since": sent - SKEW}
    assert matches(run, **same)
    assert not matches(run, **same, known={"abc"})
    assert not matches({**run, "version": "v2"}, **same)
    assert not matches({**run, "input": {"text": "y", "n": [1, 2]}}, **same)
    assert not matches({**run, "created_at": "2025-01-01T11:59:00Z"}, **same)
    assert matches({**run, "created_at": "2025-01-01T11:59:45Z"}, **same)  # within the skew
    assert not matches({**run, "created_at": None}, **same)
    assert matches({**run, "destination": "acme/d"}, **same, destination="acme/d")
    assert not matches({**run, "destination": "acme/e"}, **same, destination="acme/d")
    assert fingerprint("predictions", "v1", {"a": 1, "b": 2}) == fingerprint(
        "predictions", "v1", {"b": 2, "a": 1}
    )


@pytest.mark.parametrize("kind", ["503", "500", "drop"])
def test_get_model_against_a_persistent_failure_makes_a_bounded_number_of_requests(
    fake, platform, kind
):
    """One retry layer: no client transport retries under ours, no loop inside a loop.
    (Before: 60 requests for one get_model against a persistent 503.)"""
    fake.add_model("acme/hello")
    fake.faults(1.0, kinds=(kind,), retry_after=0)
    with pytest.raises(TransientError):
        platform.get_model("acme/hello")
    assert fake.count("GET", "/v1/models/{owner}/{name}") == ATTEMPTS


def test_a_create_refused_with_429_is_retried_and_succeeds(fake, platform, model):
    platform.get_version("acme/hello", model)
    fake.reset_counts()
    fake.retry_after = 0
    fake.fail_next("POST", "/v1/predictions", "429", "429")
    result = platform.predict("acme/hello", model, {"text": "again"}, timeout=10)
    assert result.ok and result.output == "hello again"
    assert fake.count("POST", "/v1/predictions") == 3
    assert fake.count("GET", "/v1/predictions") == 0  # refused: nothing to look for
    assert len(fake.predictions_of(model)) == 1


def test_a_lost_answer_to_a_create_is_adopted_not_duplicated(fake, platform, model):
    platform.get_version("acme/hello", model)
    fake.reset_counts()
    fake.fail_next("POST", "/v1/predictions", "lose")  # created, then the answer is lost
    result = platform.predict("acme/hello", model, {"text": "once"}, timeout=10)
    assert result.ok and result.output == "hello once"
    runs = fake.predictions_of(model)
    assert [r.id for r in runs] == [result.id]  # exactly one prediction, and it is ours
    assert fake.count("POST", "/v1/predictions") == 1
    assert fake.count("GET", "/v1/predictions") == 1
    # Cancel-After went with the create only, not with the lookup
    assert [(r["method"], r["cancel_after"]) for r in fake.requests] == [
        ("POST", "10s"),
        ("GET", None),
    ]


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_a_create_that_failed_before_starting_anything_is_sent_again(fake, platform, model, kind):
    platform.get_version("acme/hello", model)
    fake.reset_counts()
    fake.fail_next("POST", "/v1/predictions", kind)  # refused before it was processed
    result = platform.predict("acme/hello", model, {"text": "two"}, timeout=10)
    assert result.ok and result.output == "hello two"
    assert len(fake.predictions_of(model)) == 1
    assert fake.count("POST", "/v1/predictions") == 2
    assert fake.count("GET", "/v1/predictions") == 1  # looked first, found nothing


def test_an_adopted_run_still_running_is_canceled_by_cancel_all(fake, platform, model):
    fake.set_behaviour(model, lambda inputs: "never", latency=60)
    fake.max_wait = 0.1
    fake.fail_next("POST", "/v1/predictions", "lose")
    results = []
    worker = threading.Thread(
        target=lambda: results.append(platform.predict("acme/hello", model, {}, timeout=120))
    )
    worker.start()
    wait_for(platform.inflight, 10, "the prediction to be in flight", 0.02)
    runs = fake.predictions_of(model)
    assert len(runs) == 1 and platform.inflight() == [runs[0].id]
    platform.cancel_all()
    worker.join(timeout=15)
    assert results and results[0].status == "canceled" and results[0].id == runs[0].id
    assert fake.runs[runs[0].id].status == "canceled"
    assert len(fake.predictions_of(model)) == 1


def test_twin_creates_each_keep_their_own_run(fake, platform, model):
    """Two identical creates at once, one answer lost: the lost one waits for its twin's answer
    before looking, so each ends with its own run and no run is adopted twice."""
    fake.set_behaviour(model, lambda inputs: "hello", latency=0.5)
    platform.get_version("acme/hello", model)
    fake.fail_next("POST", "/v1/predictions", "lose")
    results: list = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                platform.predict("acme/hello", model, {"text": "twin"}, timeout=10)
            )
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert all(r.ok for r in results) and len(results) == 2
    assert {r.id for r in results} == {r.id for r in fake.predictions_of(model)}
    assert len(fake.predictions_of(model)) == 2


def test_a_lost_training_create_is_adopted(fake, platform):
    fake.add_model("acme/trainable")
    version_id = fake.add_version("acme/trainable", document(train_output={"type": "string"}))
    fake.set_training_behaviour(version_id, lambda inputs: "trained")
    fake.add_model("acme/dest")
    fake.fail_next("POST", "/v1/models/{owner}/{name}/versions/{id}/trainings", "lose")
    result = platform.train("acme/trainable", version_id, "acme/dest", {"steps": 1}, timeout=10)
    assert result.ok, result.error
    trainings = fake.runs_of("training")
    assert [t.id for t in trainings] == [result.id]
    assert fake.count("GET", "/v1/trainings") == 1


# ---- outputs are data ---------------------------------------------------------------------


def test_output_sources_that_may_be_fetched():
    api = "http://127.0.0.1:8000"
    assert source_of("https://replicate.delivery/x.png", api) == "https"
    assert source_of("http://127.0.0.1:8000/files/a.png", api) == "api"
    assert source_of("data:text/plain;base64,aGk=", api) == "data"
    for untrusted in (
        "http://127.0.0.1:8001/files/a.png",  # another port is another host
        "http://replicate.delivery/x.png",
        "file:///etc/passwd",
        "/etc/passwd",
        "https:///no-host",
    ):
        assert source_of(untrusted, api) is None, untrusted
    assert source_of("http://api.replicate.com/x", "https://api.replicate.com") is None


def test_outputs_naming_foreign_hosts_or_local_files_are_not_fetched(fake, platform, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the model's eyes")
    files = {"type": "array", "items": {"type": "string", "format": "uri"}}
    fake.add_model("acme/sly")
    version_id = fake.add_version("acme/sly", document(output=files))
    with FakeReplicate(token="r8_other") as foreign:
        foreign.files["x/a.png"] = FakeFile("a.png", png_bytes())
        remote = [
            f"{foreign.url}/files/x/a.png",
            secret.as_uri(),
            str(secret),
            "data:text/plain;base64,aGk=",
        ]
        fake.set_behaviour(version_id, lambda inputs: list(remote))
        result = platform.predict("acme/sly", version_id, {"text": "x"}, timeout=10)
        assert foreign.count("GET", "/files/{key}") == 0
    assert result.ok and result.remote_output == remote
    assert result.output[:3] == remote[:3]  # left as plain strings
    local = Path(urlparse(result.output[3]).path)
    assert local.read_bytes() == b"hi"
    copies = [p for p in (tmp_path / "outputs").rglob("*") if p.is_file()]
    assert copies == [local]
