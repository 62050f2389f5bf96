"""The platform protocol on Replicate, composed from the modules beside this one.

- `client`: the `replicate` client with one transport and no hidden retries; `calls`: the one
  retry policy every API call goes through; `errors`: failures mapped to the tool's errors.
- `models`: models and versions; `deployments`: deployment upserts; `cog_cli`: pushes.
- `runs` (with `adoption`): predictions and trainings, created once, followed, canceled;
  `localize` (with `output_schema`): output files brought to disk from trusted places only.
- `loop_runner`: all HTTP runs as coroutines on one event loop owned by the platform, so many
  concurrent predictions cost one thread and a cancel reaches them from any thread.

Secrets: the token is read from REPLICATE_API_TOKEN when the client is built and kept nowhere
else; every message that could carry it is scrubbed (tasks.core.secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import replicate
from replicate.helpers import async_encode_json

from tasks.core import openapi
from tasks.core.errors import TransientError, UsageError
from tasks.core.home import tool_home
from tasks.core.openapi import join_stream
from tasks.core.platform_data import (
    DeploymentSpec,
    ModelInfo,
    PlatformSpec,
    PushOptions,
    RunResult,
    VersionInfo,
)
from tasks.core.refs import split_ref
from tasks.core.retry import interrupted
from tasks.core.secrets import scrub
from tasks.platforms.local.cog_schema import generate_schema
from tasks.platforms.replicate import cog_cli, deployments
from tasks.platforms.replicate.client import api_base, build_client, read_token
from tasks.platforms.replicate.errors import TOKEN_ENV, ReplicateAPIError
from tasks.platforms.replicate.localize import localize
from tasks.platforms.replicate.loop_runner import LoopRunner, cancel_other_tasks
from tasks.platforms.replicate.models import Catalog
from tasks.platforms.replicate.rate_limit import RateLimiter
from tasks.platforms.replicate.runs import TERMINAL, RunKind, RunRequest, Runs
from tasks.platforms.replicate.timing import PREFER_WAIT_CAP, web_url

__all__ = ["ReplicateAPIError", "ReplicatePlatform", "prepare_inputs"]

NOT_STARTED = "not started: the run is stopping"


def prepare_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Our own file:// inputs become Paths, which the client sends as data URIs (Replicate
    cannot read this disk). Inputs come from the config and the fuzzer, never from a model."""

    def convert(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("file://"):
            return Path(urllib.parse.unquote(urllib.parse.urlparse(value).path))
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in inputs.items()}


class ReplicatePlatform:
    """The platform protocol on Replicate. One instance per run and spec."""

    creates_models = False  # a model is created on replicate.com before its first push

    def __init__(
        self,
        spec: PlatformSpec,
        *,
        rate_limiter: RateLimiter | None = None,
        outputs_dir: str | Path | None = None,
    ) -> None:
        self.spec = spec
        self.limiter = rate_limiter or RateLimiter()
        self._outputs_dir = Path(outputs_dir) if outputs_dir else None
        self._loop = LoopRunner()
        self._client: replicate.Client | None = None
        self._transport: httpx.AsyncHTTPTransport | None = None
        self.catalog = Catalog(self._api_client)
        self.runs = Runs(self._api_client)
        self._builder: str | None = None

    def _api_client(self) -> replicate.Client:
        """Built on first use, on the platform's loop (so only that thread touches it)."""
        if self._client is None:
            self._client, self._transport = build_client(self.spec.base_url)
        return self._client

    # ---- accounts, models, versions --------------------------------------------------

    def check_credentials(self) -> None:
        """Fail early (exit 2) on a missing or rejected token, before any side effect."""
        read_token()
        try:
            self._loop.run(self.catalog.check_account())
        except ReplicateAPIError as exc:
            if exc.status == 403:
                raise UsageError(f"{TOKEN_ENV} was rejected by Replicate (HTTP 403)") from None
            raise

    def get_model(self, ref: str) -> ModelInfo | None:
        return self._loop.run(self.catalog.get_model(ref))

    def create_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        return self._loop.run(self.catalog.create_model(ref, hardware, private))

    def ensure_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        """The model, created (private, on `hardware`) when missing."""
        return self._loop.run(self.catalog.ensure_model(ref, hardware, private))

    def latest_version(self, ref: str) -> VersionInfo | None:
        return self._loop.run(self.catalog.latest_version(ref))

    def get_version(self, ref: str, version_id: str) -> VersionInfo:
        return self._loop.run(self.catalog.get_version(ref, version_id))

    # ---- push ------------------------------------------------------------------------

    def push(self, ref: str, cog_dir: str, options: PushOptions) -> str:
        split_ref(ref)
        return cog_cli.push(
            cog_cli.image_name(ref), cog_dir, options, stream=self.spec.verbosity >= 1
        )

    def predicted_schema(self, ref: str, cog_dir: str) -> dict[str, Any] | None:
        """Cog builds the schema with a static generator that ours follows (checked against
        Cog's own fixtures); it needs the model's imports, so a model whose packages this
        machine lacks gets an error, and its schema waits for the push (so does one whose
        imports take longer than a push should)."""
        return generate_schema(cog_dir, self.spec.python, timeout=60.0)

    def builder(self) -> str:
        if self._builder is None:
            self._builder = cog_cli.cli_version()
        return self._builder

    def environment_warnings(self, cog_dir: str) -> list[str]:
        """Replicate builds each version from cog.yaml: nothing to warn about here."""
        return []

    def promote(
        self, ref: str, cog_dir: str, options: PushOptions, tested_ref: str, tested_version: str
    ) -> str:
        """Replicate cannot copy a version between models: the unchanged directory (the
        caller checked its digest) is pushed again, and its new version id returned."""
        return self.push(ref, cog_dir, options)

    # ---- predictions and trainings ---------------------------------------------------

    def predict(
        self, ref: str, version_id: str, inputs: dict[str, Any], timeout: float
    ) -> RunResult:
        return self._loop.run(self._run_one("predictions", ref, version_id, inputs, timeout))

    def train(
        self,
        ref: str,
        version_id: str,
        destination: str,
        inputs: dict[str, Any],
        timeout: float,
        destination_hardware: str = "cpu",
    ) -> RunResult:
        """Train `ref:version_id` into `destination`, which is created when missing."""
        split_ref(destination, "train.destination")
        return self._loop.run(
            self._run_one(
                "trainings", ref, version_id, inputs, timeout, destination, destination_hardware
            )
        )

    async def _encode(self, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            return await async_encode_json(
                prepare_inputs(inputs), self._api_client(), file_encoding_strategy="base64"
            )
        except OSError as exc:
            raise UsageError(f"cannot read input file: {exc}") from None

    async def _run_one(
        self,
        kind: RunKind,
        ref: str,
        version_id: str,
        inputs: dict[str, Any],
        timeout: float,
        destination: str | None = None,
        destination_hardware: str = "cpu",
    ) -> RunResult:
        split_ref(ref)
        info = await self.catalog.get_version(ref, version_id)
        if destination is not None and destination not in self.catalog.ensured:
            await self.catalog.ensure_model(destination, destination_hardware)
        request = RunRequest(
            kind=kind,
            ref=ref,
            version=version_id,
            inputs=await self._encode(inputs),
            timeout=timeout,
            model_scoped=kind == "predictions" and ref in self.catalog.model_scoped,
            destination=destination,
        )
        await self.limiter.async_acquire()
        if self.runs.stopping:
            return RunResult(id="", status="canceled", error=NOT_STARTED)
        started = time.monotonic()
        try:
            data = await self.runs.create(request)
        except ReplicateAPIError as exc:
            if exc.status != 422:
                raise
            # The inputs failed validation: a result, like a model error.
            return RunResult(id="", status="failed", error=str(exc))
        except TransientError:
            if self.runs.stopping:  # retries ended early because the run is stopping
                return RunResult(id="", status="canceled", error=NOT_STARTED)
            raise
        data, timed_out = await self.runs.follow(kind, data, started, timeout)
        schema = openapi.output_schema(info.openapi_schema, train=kind == "trainings")
        return await self._result(kind, data, started, timeout, schema, timed_out)

    async def _result(
        self,
        kind: RunKind,
        data: dict[str, Any],
        started: float,
        timeout: float,
        schema: dict[str, Any] | None,
        timed_out: bool,
    ) -> RunResult:
        run_id = str(data["id"])
        status = str(data.get("status"))
        remote = data.get("output")
        output = remote
        error = data.get("error")
        if status == "succeeded":
            folder = self.outputs_root() / run_id
            output = await localize(
                join_stream(remote, schema), schema, folder, api_base(self.spec.base_url)
            )
        elif status == "failed":
            pass  # it failed on its own before the deadline caught it: that is the verdict
        elif timed_out or status not in TERMINAL:
            status = "timeout"
            noun = "prediction" if kind == "predictions" else "training"
            error = f"{noun} {run_id} did not finish within {timeout:g}s and was canceled"
        return RunResult(
            id=run_id,
            status=status,  # type: ignore[arg-type]
            output=output,
            remote_output=remote,
            error=scrub(str(error)) if error else None,
            logs=scrub(str(data.get("logs") or "")),
            seconds=round(time.monotonic() - started, 3),
            url=web_url(data),
            metrics=dict(data.get("metrics") or {}),
            infra=status == "failed" and interrupted(error),
        )

    def outputs_root(self) -> Path:
        return self._outputs_dir or tool_home() / "replicate-outputs"

    # ---- deployments -----------------------------------------------------------------

    def upsert_deployment(self, deployment: DeploymentSpec, ref: str, version_id: str) -> None:
        split_ref(ref)

        async def upsert() -> None:
            await deployments.upsert(self._api_client(), deployment, ref, version_id)

        self._loop.run(upsert())

    # ---- lifecycle -------------------------------------------------------------------

    def inflight(self) -> list[str]:
        return self.runs.inflight()

    def cancel_all(self) -> None:
        """Cancel every run this process started that is still running, and start no more.

        Runs whose create is still being held are canceled as soon as their id is known."""
        runs = self.runs.stop()
        if not runs or not self._loop.running:
            return

        async def cancel_each() -> None:
            await asyncio.gather(
                *(self.runs.cancel_remote(kind, run_id) for run_id, kind in runs),
                return_exceptions=True,
            )

        with contextlib.suppress(Exception):  # best effort on the way out
            self._loop.run(cancel_each(), timeout=60)

    def close(self) -> None:
        async def shutdown() -> None:
            # Runs still being followed end now (their callers get CancelledError, and each
            # cancels its run on Replicate); nothing is left waiting on a dead loop.
            await cancel_other_tasks(PREFER_WAIT_CAP + 20)
            if self._transport is not None:
                await self._transport.aclose()

        self._loop.close(shutdown, timeout=PREFER_WAIT_CAP + 40)
        self._client = self._transport = None
