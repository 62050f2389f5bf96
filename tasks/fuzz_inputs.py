"""Fuzz-inputs stage: the payloads the fuzz predictions send (tasks.fuzz.request).

Cached by everything that decides them (FuzzRequest.cache_material) for 30 days: a rerun after
fixing the model replays exactly the inputs that found the bug, and does not pay for the AI
again. `--refresh-fuzz` (or `--refresh`) asks anew and overwrites the cache.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import Task, get_run_logger, task

from tasks.fuzz.request import FuzzRequest, generate_inputs
from tasks.policies import KeyedBy

CACHE_EXPIRATION = timedelta(days=30)


def _material(parameters: dict[str, Any]) -> Any:
    return parameters["request"].cache_material()


@task(
    name="fuzz inputs",
    task_run_name="{stage_name} inputs",
    cache_policy=KeyedBy(material=_material, prefix="fuzz-inputs"),
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
    result_serializer="json",
)
def make_fuzz_inputs(request: FuzzRequest, stage_name: str = "fuzz") -> list[dict[str, Any]]:
    return generate_inputs(request, log=get_run_logger().info)


def fuzz_task(refresh: bool = False) -> Task[..., list[dict[str, Any]]]:
    """`make_fuzz_inputs`, or a copy that ignores and overwrites the cache."""
    return make_fuzz_inputs.with_options(refresh_cache=True) if refresh else make_fuzz_inputs
