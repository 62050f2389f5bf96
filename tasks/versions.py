"""Version look-ups the stages share: a model's latest version, and one version's schema.

A version never changes, so its schema is cached by version id; "latest" is never cached.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks.core.platform_data import PlatformSpec, VersionInfo
from tasks.platforms import get_platform
from tasks.policies import KeyedBy, where


@task(name="latest version", task_run_name="latest version of {ref}")
def latest_version(spec: PlatformSpec, ref: str) -> VersionInfo | None:
    return get_platform(spec).latest_version(ref)


def _version_material(parameters: dict[str, Any]) -> list[Any]:
    return [*where(parameters["spec"]), parameters["ref"], parameters["version_id"]]


@task(
    name="version schema",
    task_run_name="schema of {ref}",
    cache_policy=KeyedBy(material=_version_material),
    persist_result=True,
)
def version_schema(spec: PlatformSpec, ref: str, version_id: str) -> dict[str, Any]:
    return get_platform(spec).get_version(ref, version_id).openapi_schema
