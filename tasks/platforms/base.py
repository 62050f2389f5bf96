"""The platform protocol every stage talks to (the data it takes and returns is in
tasks.core.platform_data). Tasks receive a PlatformSpec and call `get_platform(spec)` from
tasks.platforms to obtain the current run's implementation for it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from tasks.core.platform_data import (
    DeploymentSpec,
    ModelInfo,
    PlatformSpec,
    PushOptions,
    RunResult,
    VersionInfo,
)


@runtime_checkable
class Platform(Protocol):
    """Where models live. `ref` is always "owner/name"."""

    spec: PlatformSpec
    # False where a model must exist before anything is pushed to it (Replicate: preflight
    # says so at once); True where a push creates a missing model (the local registry).
    creates_models: bool

    def check_credentials(self) -> None:
        """Raise UsageError when credentials are missing or rejected."""

    def get_model(self, ref: str) -> ModelInfo | None:
        """The model, or None when it does not exist."""

    def create_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        """Create a model (the local platform creates silently; Replicate via the API)."""

    def latest_version(self, ref: str) -> VersionInfo | None:
        """The model's latest version with its dereferenced OpenAPI schema, or None."""

    def get_version(self, ref: str, version_id: str) -> VersionInfo:
        """One version by id; raises UsageError when it does not exist."""

    def push(self, ref: str, cog_dir: str, options: PushOptions) -> str:
        """Push the Cog directory as a new version of `ref`; return the version id."""

    def predicted_schema(self, ref: str, cog_dir: str) -> dict[str, Any] | None:
        """The OpenAPI document a push of `cog_dir` to `ref` will most likely have, known
        before the push ends (None when it cannot be told): work that needs only the schema
        starts while the push runs, and is checked against the real one afterwards."""

    def promote(
        self, ref: str, cog_dir: str, options: PushOptions, tested_ref: str, tested_version: str
    ) -> str:
        """Make the tested version `tested_ref:tested_version` (pushed from `cog_dir`, whose
        content the caller has checked is unchanged) a new version of `ref`; the version id."""

    def builder(self) -> str:
        """What builds a version here, with its version (the `cog` CLI's, the Cog runtime's):
        part of the test-push cache key, so that an upgrade tests a new build."""

    def environment_warnings(self, cog_dir: str) -> list[str]:
        """What cog.yaml asks of the build that the place models run here does not give
        (empty where the platform builds the environment from cog.yaml itself)."""

    def predict(
        self, ref: str, version_id: str, inputs: dict[str, Any], timeout: float
    ) -> RunResult:
        """Run one prediction to completion (or timeout, which cancels it)."""

    def train(
        self,
        ref: str,
        version_id: str,
        destination: str,
        inputs: dict[str, Any],
        timeout: float,
    ) -> RunResult:
        """Run one training into `destination` to completion (or timeout)."""

    def upsert_deployment(self, deployment: DeploymentSpec, ref: str, version_id: str) -> None:
        """Create or update a deployment so that it serves `ref:version_id`."""

    def cancel_all(self) -> None:
        """Cancel every run this process started that is still in flight."""

    def close(self) -> None:
        """Release servers, clients and temporary files."""
