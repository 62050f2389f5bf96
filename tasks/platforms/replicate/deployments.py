"""Pointing a Replicate deployment at a version: updated when it exists, created when not.

A new deployment gets a warm pool on CPU (1..20 instances) and scales to zero on GPU (0..2),
unless the config says otherwise; an existing one keeps its hardware and instance counts and
only moves to the new version. Every step may be retried: a create that landed unseen shows
up as 409 and is then updated instead.
"""

from __future__ import annotations

from typing import Any

import replicate

from tasks.core.platform_data import DeploymentSpec
from tasks.platforms.replicate import calls
from tasks.platforms.replicate.errors import ReplicateAPIError

CPU_INSTANCES = (1, 20)
GPU_INSTANCES = (0, 2)


def default_instances(hardware: str) -> tuple[int, int]:
    """Min/max instances of a new deployment: a warm CPU pool, a scale-to-zero GPU one."""
    return CPU_INSTANCES if hardware == "cpu" else GPU_INSTANCES


def create_params(deployment: DeploymentSpec, ref: str, version_id: str) -> dict[str, Any]:
    """The body of a new deployment serving `ref:version_id`."""
    low, high = default_instances(deployment.hardware)
    return {
        "name": deployment.name,
        "model": ref,
        "version": version_id,
        "hardware": deployment.hardware,
        "min_instances": low if deployment.min_instances is None else deployment.min_instances,
        "max_instances": high if deployment.max_instances is None else deployment.max_instances,
    }


async def upsert(
    client: replicate.Client, deployment: DeploymentSpec, ref: str, version_id: str
) -> dict[str, Any]:
    """Make the deployment serve `ref:version_id`; its JSON afterwards."""
    owner, name = deployment.owner, deployment.name
    where = f"/v1/deployments/{owner}/{name}"

    async def update() -> dict[str, Any]:
        updated = await calls.call(
            lambda: client.deployments.async_update(owner, name, version=version_id),
            f"PATCH {where}",
        )
        return updated.dict()

    try:
        await calls.call(lambda: client.deployments.async_get(f"{owner}/{name}"), f"GET {where}")
    except ReplicateAPIError as exc:
        if exc.status != 404:
            raise
    else:
        return await update()
    params = create_params(deployment, ref, version_id)
    try:
        created = await calls.call(
            lambda: client.deployments.async_create(**params), "POST /v1/deployments"
        )
    except ReplicateAPIError as exc:
        if exc.status != 409:
            raise
        return await update()
    return created.dict()
