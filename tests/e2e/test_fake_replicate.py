"""The fake Replicate API speaks the real protocol: the real `replicate` client drives it."""

from __future__ import annotations

import json
import urllib.request

import httpx
import pytest
import replicate
from replicate.exceptions import ReplicateError

from tests.fakes.replicate_server import FakeFile, FakeReplicate
from tests.helpers import wait_for

TOKEN = "r8_fake_protocol_token"
SCHEMA = {
    "openapi": "3.0.2",
    "info": {"title": "Cog", "version": "0.1.0"},
    "paths": {},
    "components": {
        "schemas": {
            "Input": {
                "type": "object",
                "title": "Input",
                "properties": {"text": {"type": "string", "description": "Some text"}},
                "required": ["text"],
            },
            "Output": {"type": "string", "title": "Output"},
        }
    },
}


@pytest.fixture
def fake():
    with FakeReplicate(token=TOKEN) as server:
        yield server


@pytest.fixture
def client(fake):
    return replicate.Client(api_token=TOKEN, base_url=fake.url)


def test_models_versions_and_account_parse_with_the_real_client(fake, client):
    created = client.models.create("acme", "hello", visibility="private", hardware="cpu")
    assert created.id == "acme/hello" and created.visibility == "private"
    ids = [fake.add_version("acme/hello", SCHEMA) for _ in range(3)]

    model = client.models.get("acme/hello")
    assert model.latest_version is not None and model.latest_version.id == ids[-1]

    page = client.models.get("acme/hello").versions.list()
    assert [v.id for v in page.results] == [ids[2], ids[1]]  # newest first, page size 2
    assert page.next is not None and "cursor=2" in page.next
    rest = httpx.get(page.next, headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert [v["id"] for v in rest["results"]] == [ids[0]] and rest["next"] is None

    version = client.models.get("acme/hello").versions.get(ids[0])
    assert version.openapi_schema == SCHEMA
    assert client.accounts.current().username == "acme"


def test_prediction_lifecycle_with_prefer_wait(fake, client):
    fake.add_model("acme/hello")
    vid = fake.add_version("acme/hello", SCHEMA)
    fake.set_behaviour(vid, lambda inputs: "hello " + inputs["text"], latency=0.2)

    held = client.predictions.create(version=vid, input={"text": "you"}, wait=5)
    assert held.status == "succeeded" and held.output == "hello you"
    assert held.urls["web"] == f"https://replicate.com/p/{held.id}"
    assert held.metrics["predict_time"] >= 0.2

    quick = client.predictions.create(version=vid, input={"text": "poll"})
    assert quick.status == "starting"
    quick.wait()
    assert quick.status == "succeeded" and quick.output == "hello poll"
    seen = [r["prefer"] for r in fake.requests if r["pattern"] == "/v1/predictions"]
    assert seen == ["wait=5", None]


def test_failures_cancel_and_cancel_after(fake, client):
    fake.add_model("acme/hello")
    vid = fake.add_version("acme/hello", SCHEMA)

    def boom(inputs):
        raise ValueError("no good input")

    fake.set_behaviour(vid, boom)
    failed = client.predictions.create(version=vid, input={"text": "x"}, wait=5)
    assert failed.status == "failed" and failed.error == "no good input"

    fake.set_behaviour(vid, lambda inputs: "late", latency=30)
    slow = client.predictions.create(version=vid, input={"text": "x"})
    canceled = client.predictions.cancel(slow.id)
    assert canceled.status == "canceled"
    assert client.predictions.get(slow.id).status == "canceled"

    fake.min_cancel_after = 0.3
    response = httpx.post(
        f"{fake.url}/v1/predictions",
        json={"version": vid, "input": {"text": "x"}},
        headers={"Authorization": f"Bearer {TOKEN}", "Cancel-After": "0.3s"},
    )
    run_id = response.json()["id"]
    wait_for(lambda: fake.runs[run_id].status == "canceled", 5, "Cancel-After to cancel it")

    bad = httpx.post(
        f"{fake.url}/v1/predictions",
        json={"version": vid, "input": {}},
        headers={"Authorization": f"Bearer {TOKEN}", "Cancel-After": "soon"},
    )
    assert bad.status_code == 400 and "Cancel-After" in bad.json()["detail"]


def test_errors_use_problem_details_and_auth_is_checked(fake):
    wrong = replicate.Client(api_token="r8_wrong", base_url=fake.url)
    with pytest.raises(ReplicateError) as info:
        wrong.models.get("acme/hello")
    assert info.value.status == 401 and info.value.title == "Unauthenticated"

    right = replicate.Client(api_token=TOKEN, base_url=fake.url)
    with pytest.raises(ReplicateError) as info:
        right.models.get("acme/missing")
    assert info.value.status == 404 and "acme/missing" in info.value.detail
    with pytest.raises(ReplicateError) as info:
        right.models.create("someone-else", "x", visibility="private", hardware="cpu")
    assert info.value.status == 403
    with pytest.raises(ReplicateError) as info:
        right.predictions.create(version="0" * 64, input={})
    assert info.value.status == 422


def test_trainings_and_deployments(fake, client):
    fake.add_model("acme/trainer")
    vid = fake.add_version("acme/trainer", SCHEMA)
    fake.set_training_behaviour(vid, lambda inputs: {"weights": FakeFile("w.tar", b"weights")})
    with pytest.raises(ReplicateError) as info:
        client.trainings.create(
            model="acme/trainer", version=vid, input={"n": 1}, destination="acme/dest"
        )
    assert info.value.status == 404

    client.models.create("acme", "dest", visibility="private", hardware="cpu")
    training = client.trainings.create(
        model="acme/trainer", version=vid, input={"n": 1}, destination="acme/dest"
    )

    def finished() -> bool:
        training.reload()
        return training.status in ("succeeded", "failed")

    wait_for(finished, 5, "the training to finish")
    assert training.status == "succeeded"
    new_version = fake.latest_version_id("acme/dest")
    assert training.output["version"] == f"acme/dest:{new_version}"
    assert httpx.get(training.output["weights"]).content == b"weights"

    deployment = client.deployments.create(
        name="hello-dep",
        model="acme/trainer",
        version=vid,
        hardware="cpu",
        min_instances=1,
        max_instances=20,
    )
    assert deployment.current_release.configuration.max_instances == 20
    other = fake.add_version("acme/trainer", SCHEMA)
    updated = client.deployments.update("acme", "hello-dep", version=other)
    assert updated.current_release.number == 2 and updated.current_release.version == other
    assert client.deployments.get("acme/hello-dep").current_release.version == other


def test_faults_are_seeded_and_counted(fake):
    fake.faults(0.5, kinds=("500", "429", "drop"), seed=3, retry_after=0)
    statuses = []
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for _ in range(40):
            try:
                statuses.append(http.get("/v1/account").status_code)
            except httpx.TransportError:
                statuses.append("drop")
    assert statuses.count(200) + sum(fake.faults_injected.values()) == 40
    assert set(fake.faults_injected) == {"500", "429", "drop"}
    assert statuses.count("drop") == fake.faults_injected["drop"]
    assert fake.count("GET", "/v1/account") == 40
    first = list(statuses)

    fake.reset_counts()
    fake.faults(0.5, kinds=("500", "429", "drop"), seed=3, retry_after=0)
    again = []
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for _ in range(40):
            try:
                again.append(http.get("/v1/account").status_code)
            except httpx.TransportError:
                again.append("drop")
    assert again == first  # same seed, same faults


def test_private_push_endpoint_registers_a_version(fake):
    fake.add_model("acme/pushed")
    seen = []
    fake.push_hook = lambda ref, vid, payload: seen.append((ref, vid, payload["cog_dir"]))
    request = urllib.request.Request(
        f"{fake.url}/_fake/push",
        data=json.dumps(
            {"model": "acme/pushed", "openapi_schema": SCHEMA, "cog_dir": "/x"}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        version_id = json.loads(response.read())["id"]
    assert len(version_id) == 64 and fake.latest_version_id("acme/pushed") == version_id
    assert seen == [("acme/pushed", version_id, "/x")]


def test_runs_are_listed_newest_first_with_the_real_client(fake, client):
    fake.add_model("acme/hello")
    vid = fake.add_version("acme/hello", SCHEMA)
    fake.list_page_size = 2
    made = [client.predictions.create(version=vid, input={"text": str(i)}) for i in range(3)]
    page = client.predictions.list()
    assert [p.id for p in page.results] == [made[2].id, made[1].id]
    assert page.results[0].input == {"text": "2"} and page.results[0].version == vid
    rest = client.predictions.list(page.next)
    assert [p.id for p in rest.results] == [made[0].id] and rest.next is None

    fake.add_model("acme/dest")
    training = client.trainings.create(
        model="acme/hello", version=vid, input={"n": 1}, destination="acme/dest"
    )
    listed = client.trainings.list()
    assert [t.id for t in listed.results] == [training.id]
    assert listed.results[0].destination == "acme/dest"


def test_a_lost_answer_still_makes_the_run_and_scripted_faults_come_in_order(fake):
    fake.add_model("acme/hello")
    vid = fake.add_version("acme/hello", SCHEMA)
    fake.fail_next("POST", "/v1/predictions", "lose", "429")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"version": vid, "input": {"text": "x"}}
    with httpx.Client(base_url=fake.url, headers=headers) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1/predictions", json=body)
        assert len(fake.predictions_of(vid)) == 1  # processed, though nobody heard back
        refused = http.post("/v1/predictions", json=body)
        assert refused.status_code == 429 and len(fake.predictions_of(vid)) == 1
        assert http.post("/v1/predictions", json=body).status_code == 201
    assert len(fake.predictions_of(vid)) == 2
    assert fake.faults_injected == {"lose": 1, "429": 1}
    with pytest.raises(ValueError):
        fake.fail_next("GET", "/v1/account", "teapot")
