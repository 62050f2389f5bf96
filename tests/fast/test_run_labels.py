"""Runs a person can tell apart in the Prefect UI: named by model, test version and outcome,
tagged with platform and mode."""

from __future__ import annotations

import asyncio

from prefect.client.orchestration import get_client

from flows.run_labels import run_name, run_tags
from tasks.core.options import RunOptions
from tests.helpers import cog_dir, openapi, prop, run_flow

MODEL, TEST = "acme/m", "acme/m-test"
DOC = openapi({"text": prop(default="hi")})


def test_names_and_tags():
    assert run_name("examples/hello", "3f2a1c9d" * 8, "failed") == (
        "safe-push examples/hello · 3f2a1c · failed"
    )
    assert run_name("acme/m", None, "error") == "safe-push acme/m · error"
    assert run_tags("local", RunOptions(), ["predict"]) == ["platform:local", "push", "predict"]
    assert run_tags("replicate", RunOptions(no_push=True), ["train", "predict"]) == [
        "platform:replicate",
        "test-only",
        "train",
        "predict",
    ]
    official = RunOptions(push_official_model=True)
    assert run_tags("replicate", official, ["predict"])[1] == "official"


def test_a_finished_run_is_named_and_tagged_in_prefect(world, tmp_path):
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, lambda inputs: "ok")
    config = {"model": MODEL, "predict": {"fuzz": {"iterations": 1}}}
    code, report = run_flow(world, cog_dir(tmp_path), config, no_push=True)
    assert code == 0, report

    async def read():
        async with get_client() as client:
            return await client.read_flow_run(report["flow_run_id"])

    run = asyncio.run(read())
    assert run.name == f"safe-push {MODEL} · {report['version'][:6]} · passed"
    assert {"platform:fake", "test-only", "predict"} <= set(run.tags)
