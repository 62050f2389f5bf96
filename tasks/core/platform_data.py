"""The plain data platforms take and return: which platform (PlatformSpec), models, versions,
the outcome of a run, push and deployment settings.

Shared vocabulary: stages, pure logic (checkers judge a RunResult) and platforms all speak it,
so it lives below all of them. A PlatformSpec is serialisable and never holds a token.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field

PlatformKind = str  # "local", "replicate", or another kind registered in tasks.platforms
RunStatus = Literal["succeeded", "failed", "canceled", "timeout"]


@dataclass(frozen=True)
class PlatformSpec:
    """What a task needs to reach a platform. Never holds a token. The descriptions are what
    the Prefect UI's run form shows for it."""

    kind: Annotated[PlatformKind, Field(description="Where models live: replicate or local")]
    base_url: Annotated[
        str | None, Field(description="replicate: the API's base URL; empty for the default")
    ] = None
    registry: Annotated[
        str | None, Field(description="local: the directory that keeps pushed versions")
    ] = None
    python: Annotated[
        str | None, Field(description="local: the interpreter that runs the models")
    ] = None
    verbosity: Annotated[int, Field(description="Log detail, 0-3")] = 0

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
    # Ended for a reason outside the model (Replicate interrupted it, the local model server
    # died under it): worth one new run (tasks.predictions); a model's own error never is.
    infra: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def predict_seconds(self) -> float:
        """The model's own time for the run (Replicate's `predict_time` metric, which leaves
        out queueing and a cold boot), else the wall time: what latency comparisons use."""
        value = self.metrics.get("predict_time")
        return float(value) if isinstance(value, int | float) and value >= 0 else self.seconds

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
