"""The platform protocol every stage talks to, and the plain data it returns.

Tasks receive a `PlatformSpec` (serialisable, secret-free) and call `get_platform(spec)`
from `tasks.platforms` to obtain the process-wide implementation for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

PlatformKind = Literal["local", "replicate"]
RunStatus = Literal["succeeded", "failed", "canceled", "timeout"]


@dataclass(frozen=True)
class PlatformSpec:
    """What a task needs to reach a platform. Never holds a token."""

    kind: PlatformKind
    base_url: str | None = None  # replicate: API base URL (None -> client default)
    registry: str | None = None  # local: registry directory
    python: str | None = None  # local: interpreter that runs the models
    verbosity: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ModelInfo:
    owner: str
    name: str
    visibility: str = "private"
    hardware: str | None = None
    latest_version_id: str | None = None
    url: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class VersionInfo:
    id: str
    openapi_schema: dict[str, Any]
    created_at: str | None = None


@dataclass
class RunResult:
    """Outcome of one prediction or training, already detached from the platform.

    `output` has every file replaced by a local path or file:// URL (downloaded as soon as
    the run finished), so comparisons never depend on a live URL. `remote_output` keeps the
    platform's original output (URLs), for links in reports.
    """

    id: str
    status: RunStatus
    output: Any = None
    remote_output: Any = None
    error: str | None = None
    logs: str = ""
    seconds: float = 0.0
    url: str | None = None  # web page of the prediction, for reports
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PushOptions:
    dockerfile: str | None = None
    fast_push: bool = False
    use_cog_base_image: bool | None = None


@dataclass
class DeploymentSpec:
    owner: str
    name: str
    hardware: str = "cpu"
    min_instances: int | None = None
    max_instances: int | None = None


@runtime_checkable
class Platform(Protocol):
    """Where models live. `ref` is always "owner/name"."""

    spec: PlatformSpec

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
