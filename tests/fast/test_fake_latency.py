"""The fakes' latency switches that benchmarks use: cold boots per instance on the fake Replicate
API, and a per-call delay on the fake Anthropic API."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import httpx
import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.replicate_server import FakeReplicate

TOKEN = "r8_fake_latency_token"
BOOT = 0.3
SCHEMA = {"components": {"schemas": {"Input": {"type": "object", "properties": {}}}}}


@pytest.fixture
def fake():
    with FakeReplicate(token=TOKEN, cold_boot=BOOT, latency=0.05) as server:
        server.add_model("acme/hello")
        yield server


def start(fake: FakeReplicate, version: str, n: int) -> list[str]:
    """`n` predictions of `version` created at once; their ids."""
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        return [
            client.post(
                f"{fake.url}/v1/predictions", json={"version": version, "input": {}}
            ).json()["id"]
            for _ in range(n)
        ]


def finish(fake: FakeReplicate, ids: list[str]) -> None:
    for run_id in ids:
        assert fake.runs[run_id].done.wait(10), "the run did not end"


def seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_concurrent_runs_on_a_fresh_version_boot_once_and_stay_warm(fake):
    version = fake.add_version("acme/hello", SCHEMA)
    first = start(fake, version, 2)
    time.sleep(BOOT / 3)
    assert [fake.run_json(fake.runs[i])["status"] for i in first] == ["starting", "starting"]
    finish(fake, first)
    for run in (fake.runs[i] for i in first):
        assert run.booted and run.status == "succeeded"
        assert seconds(run.created_at, run.started_at) >= BOOT  # booting is "starting"
        assert run.predict_time is not None and run.predict_time < BOOT  # and not predict time
    assert fake.boots[version] == 2

    again = start(fake, version, 2)
    finish(fake, again)
    assert not any(fake.runs[i].booted for i in again)  # two warm instances served them
    assert fake.boots[version] == 2

    three = start(fake, version, 3)
    finish(fake, three)
    assert sum(fake.runs[i].booted for i in three) == 1  # only one more instance was needed
    assert fake.boots[version] == 3


def test_each_version_has_its_own_instances_and_stop_instances_scales_to_zero(fake):
    old = fake.add_version("acme/hello", SCHEMA)
    finish(fake, start(fake, old, 1))
    new = fake.add_version("acme/hello", SCHEMA)
    (run_id,) = start(fake, new, 1)
    finish(fake, [run_id])
    assert fake.runs[run_id].booted and fake.boots == {old: 1, new: 1}

    fake.stop_instances()
    (run_id,) = start(fake, old, 1)
    finish(fake, [run_id])
    assert fake.runs[run_id].booted and fake.boots[old] == 2


def test_a_run_canceled_while_booting_discards_its_instance(fake):
    version = fake.add_version("acme/hello", SCHEMA)
    (run_id,) = start(fake, version, 1)
    time.sleep(BOOT / 3)
    httpx.post(
        f"{fake.url}/v1/predictions/{run_id}/cancel",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    finish(fake, [run_id])
    assert fake.runs[run_id].status == "canceled" and fake.runs[run_id].started_at is None
    time.sleep(BOOT)  # the canceled boot would have ended by now
    (next_id,) = start(fake, version, 1)
    finish(fake, [next_id])
    assert fake.runs[next_id].booted and fake.boots[version] == 2


def test_every_messages_call_takes_the_latency_and_calls_overlap():
    with FakeAnthropic(latency=BOOT) as fake:
        fake.default("ok")
        took: list[float] = []

        def call() -> None:
            began = time.monotonic()
            response = httpx.post(
                f"{fake.url}/v1/messages",
                headers={"x-api-key": "test"},
                json={
                    "model": "m",
                    "max_tokens": 5,
                    "messages": [{"role": "user", "content": "hi"}],
                },
                timeout=10,
            )
            assert response.status_code == 200
            took.append(time.monotonic() - began)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(took) == 2 and min(took) >= BOOT
        assert len(fake.calls) == 2 and all(end - begin >= BOOT for begin, end in fake.calls)
        # served concurrently, not one after the other
        assert max(begin for begin, _ in fake.calls) < min(end for _, end in fake.calls)
