"""Deployment stage: point the configured Replicate deployment at the version just pushed."""

from __future__ import annotations

from prefect import get_run_logger

from tasks.core.platform_data import DeploymentSpec, PlatformSpec
from tasks.platforms import get_platform
from tasks.retrying import retrying_task


@retrying_task(name="deployment", task_run_name="deployment {deployment.owner}/{deployment.name}")
def update_deployment(
    spec: PlatformSpec, deployment: DeploymentSpec, ref: str, version: str
) -> None:
    get_platform(spec).upsert_deployment(deployment, ref, version)
    get_run_logger().info(
        "deployment %s/%s now serves %s:%s", deployment.owner, deployment.name, ref, version
    )
