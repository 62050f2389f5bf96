"""Stages that change the platform: ensuring models exist, pushing versions, deployments.

Pushing the test model is cached by (platform, test model, digest of the Cog directory, push
options): a rerun with an unchanged directory does not push again, as long as that version
is still the test model's latest.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from tasks.caching import KeyedBy, where
from tasks.config import Config
from tasks.platforms import DeploymentSpec, PlatformSpec, PushOptions, VersionInfo, get_platform
from tasks.platforms.cog_dir import digest
from tasks.retry import retry_condition

RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [2, 8, 20],
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_condition,
}


def push_options(config: Config) -> PushOptions:
    return PushOptions(
        dockerfile=config.dockerfile,
        fast_push=config.fast_push,
        use_cog_base_image=config.use_cog_base_image,
    )


@task(name="ensure model", task_run_name="ensure model {ref}", **RETRIES)
def ensure_model(spec: PlatformSpec, ref: str, hardware: str | None) -> bool:
    """Create `ref` (private) if it is missing; True when it was created."""
    platform = get_platform(spec)
    if platform.get_model(ref) is not None:
        return False
    platform.create_model(ref, hardware or "cpu", private=True)
    get_run_logger().info("created model %s (private, hardware %s)", ref, hardware or "cpu")
    return True


def _push_material(parameters: dict[str, Any]) -> list[Any]:
    spec: PlatformSpec = parameters["spec"]
    options = parameters["options"]
    return [*where(spec), parameters["ref"], digest(parameters["cog_dir"]), vars(options)]


def _push(spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions) -> str:
    logger = get_run_logger()
    logger.info("pushing %s to %s", cog_dir, ref)
    version = get_platform(spec).push(ref, cog_dir, options)
    logger.info("pushed %s:%s", ref, version)
    return version


@task(
    name="push test model",
    cache_policy=KeyedBy(material=_push_material),
    persist_result=True,
    **RETRIES,
)
def push_test_version(spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions) -> str:
    return _push(spec, ref, cog_dir, options)


@task(name="push model", **RETRIES)
def push_version(spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions) -> str:
    """Never cached: the real push happens only after every check passed."""
    return _push(spec, ref, cog_dir, options)


@task(name="latest version", task_run_name="latest version of {ref}", **RETRIES)
def latest_version(spec: PlatformSpec, ref: str) -> VersionInfo | None:
    return get_platform(spec).latest_version(ref)


def _version_material(parameters: dict[str, Any]) -> list[Any]:
    return [*where(parameters["spec"]), parameters["ref"], parameters["version_id"]]


@task(
    name="version schema",
    task_run_name="schema of {ref}",
    cache_policy=KeyedBy(material=_version_material),
    persist_result=True,
    **RETRIES,
)
def version_schema(spec: PlatformSpec, ref: str, version_id: str) -> dict[str, Any]:
    """A version's OpenAPI document; cached by version id, since a version never changes."""
    return get_platform(spec).get_version(ref, version_id).openapi_schema


@task(name="deployment", task_run_name="deployment {deployment.owner}/{deployment.name}", **RETRIES)
def update_deployment(
    spec: PlatformSpec, deployment: DeploymentSpec, ref: str, version: str
) -> None:
    get_platform(spec).upsert_deployment(deployment, ref, version)
    get_run_logger().info(
        "deployment %s/%s now serves %s:%s", deployment.owner, deployment.name, ref, version
    )


def deployment_spec(config: Config) -> DeploymentSpec | None:
    dep = config.deployment
    if dep is None or not dep.name:
        return None
    return DeploymentSpec(
        owner=dep.owner or config.model.split("/")[0],
        name=dep.name,
        hardware=dep.hardware or "cpu",
        min_instances=dep.min_instances,
        max_instances=dep.max_instances,
    )
