"""Version look-ups the stages share: a model's latest version, and one version's schema.

A version never changes, so its schema is cached by version id; "latest" is never cached,
not even within one flow run (Prefect's default policy would reuse an answer for the same
inputs in the same run, with result persistence on): the check of the live baseline before
the push and the confirmation after it must each see what is there now.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.core.platform_data import PlatformSpec, VersionInfo
from tasks.platforms import get_platform
from tasks.policies import KeyedBy, where
from tasks.retrying import retrying_task


@retrying_task(
    name="latest version", task_run_name="latest version of {ref}", cache_policy=NO_CACHE
)
def latest_version(spec: PlatformSpec, ref: str) -> VersionInfo | None:
    return get_platform(spec).latest_version(ref)


def _version_material(parameters: dict[str, Any]) -> list[Any]:
    return [*where(parameters["spec"]), parameters["ref"], parameters["version_id"]]


@retrying_task(
    name="version schema",
    task_run_name="schema of {ref}",
    cache_policy=KeyedBy(material=_version_material),
    persist_result=True,
)
def version_schema(spec: PlatformSpec, ref: str, version_id: str) -> dict[str, Any]:
    return get_platform(spec).get_version(ref, version_id).openapi_schema


def _predicted_material(parameters: dict[str, Any]) -> list[Any]:
    spec: PlatformSpec = parameters["spec"]
    return [*where(spec), spec.python, parameters["ref"], parameters["content_digest"]]


@task(
    name="predicted schema",
    task_run_name="predicted schema of {ref}",
    cache_policy=KeyedBy(material=_predicted_material, prefix="predicted-schema"),
    persist_result=True,
)
def predicted_schema(
    spec: PlatformSpec, ref: str, cog_dir: str, content_digest: str
) -> dict[str, Any] | None:
    """The schema a push of `cog_dir` will most likely give `ref`, or None when it cannot be
    told before the push (the model's packages are missing here, say): a guess that lets work
    start during the push, never a verdict. Cached by the directory's content digest."""
    try:
        return get_platform(spec).predicted_schema(ref, cog_dir)
    except Exception as exc:  # noqa: BLE001 - no prediction only means waiting for the push
        get_run_logger().info("no schema before the push (%s): it waits for the push", exc)
        return None
