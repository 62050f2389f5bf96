"""An in-memory platform for flow-level tests: models, versions and scripted predictions.

`FakePlatform` implements tasks.platforms.base.Platform with no process, no HTTP and no Cog
runtime, so a whole safe_push flow (preflight, lint, push, every check, the final push) runs
in about a second. What a "model" does is a Python function of its inputs, given per model
or per version; what a version's schema is, the test says. Everything a test may want to
look at afterwards (pushes, runs, deployments) is kept on the `FakeWorld`, which outlives
the flow runs of one test, as a real model host does.

Scripting:
  world.set_schema(ref, openapi_doc)        schema of the versions pushed to `ref` from now on
  world.set_behaviour(ref, fn, latency=0)   what versions pushed to `ref` from now on do
  world.add_version(ref, doc, fn)           a version that exists already (the live model)
  world.fail_push(ref, message)             the next push to `ref` fails
  world.push_seconds = 0.5                  every push takes this long (the push window)
  world.read_seconds = 0.5                  every version look-up by id takes this long
  world.predict_schema(ref, doc)            what the platform predicts a push to `ref` will
                                            have (default: the scripted schema; None: unknown)
  world.on_push = fn(ref, version_id)       called after every push (or promotion) lands,
                                            e.g. to script what happens right after the push
  world.fail_latest(ref, times, message)    the next `times` reads of `ref`'s latest version
                                            fail (as the platform's retries ran out)
  world.latest_reads                        refs whose latest version was read, in order
A behaviour returns the output, or raises: the run fails with the exception's message as its
error and a Cog-like traceback as its logs. An output that holds a `Path` under the tool's
home is a file output (a file:// URL), as platforms return downloaded files.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.core.errors import PlatformError, TransientError, UsageError
from tasks.core.platform_data import (
    DeploymentSpec,
    ModelInfo,
    PlatformSpec,
    PushOptions,
    RunResult,
    VersionInfo,
)
from tasks.core.refs import split_ref
from tasks.platforms import register_platform
from tasks.platforms.cog_dir import digest

KIND = "fake"
Behaviour = Callable[[dict[str, Any]], Any]


def echo(inputs: dict[str, Any]) -> Any:
    """The default behaviour: the inputs back, so there is always something to compare."""
    return dict(inputs)


@dataclass
class Script:
    """What versions pushed to one model from now on are and do."""

    schema: dict[str, Any] | None = None
    behaviour: Behaviour = echo
    latency: float = 0.0


@dataclass
class FakeVersion:
    id: str
    model: str
    schema: dict[str, Any]
    behaviour: Behaviour
    latency: float
    digest: str | None = None  # content digest of the directory it was pushed from
    created: float = field(default_factory=time.time)


@dataclass
class FakeRun:
    id: str
    model: str
    version: str
    inputs: dict[str, Any]
    status: str = "starting"
    destination: str | None = None
    seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)


class FakeWorld:
    """The fake host's state for one test: shared by every run (and platform instance)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or uuid.uuid4().hex[:12]
        self.models: dict[str, ModelInfo] = {}
        self.versions: dict[str, list[FakeVersion]] = {}  # ref -> oldest first
        self.scripts: dict[str, Script] = {}
        self.runs: list[FakeRun] = []
        self.pushes: list[tuple[str, str]] = []  # (ref, version id), in order
        self.deployments: dict[str, tuple[str, str]] = {}  # owner/name -> (ref, version)
        self.push_failures: dict[str, str] = {}
        self.push_seconds = 0.0
        self.push_spans: list[tuple[float, float]] = []  # (start, end), time.monotonic()
        self.predicted: dict[str, dict[str, Any] | None] = {}
        self.read_seconds = 0.0  # each version look-up by id takes this long
        self.version_reads: list[tuple[str, float, float]] = []  # (ref, start, end)
        self.on_push: Callable[[str, str], None] | None = None
        self.latest_failures: dict[str, list[str]] = {}  # ref -> messages, one per read
        self.disk_full_after: int | None = None  # runs that may record before the disk fills
        self.latest_reads: list[str] = []
        self.builder_version = "fake cog 1.0"  # what the test-push cache key sees
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def spec(self) -> PlatformSpec:
        return PlatformSpec(kind=KIND, base_url=f"fake://{self.name}")

    # ---- scripting -------------------------------------------------------------------

    def script(self, ref: str) -> Script:
        return self.scripts.setdefault(ref, Script())

    def set_schema(self, ref: str, doc: dict[str, Any]) -> None:
        self.script(ref).schema = doc

    def set_behaviour(self, ref: str, fn: Behaviour, latency: float = 0.0) -> None:
        script = self.script(ref)
        script.behaviour, script.latency = fn, latency

    def add_version(
        self, ref: str, doc: dict[str, Any], fn: Behaviour = echo, latency: float = 0.0
    ) -> str:
        """A version that exists before the run (e.g. the live model's)."""
        self._ensure_model(ref, "cpu")
        return self._add(ref, doc, fn, latency, None).id

    def fail_push(self, ref: str, message: str = "build failed") -> None:
        self.push_failures[ref] = message

    def predict_schema(self, ref: str, doc: dict[str, Any] | None) -> None:
        self.predicted[ref] = doc

    def fail_latest(self, ref: str, times: int = 1, message: str = "HTTP 500") -> None:
        with self._lock:
            self.latest_failures.setdefault(ref, []).extend([message] * times)

    # ---- what happened -----------------------------------------------------------------

    def latest(self, ref: str) -> FakeVersion | None:
        versions = self.versions.get(ref) or []
        return versions[-1] if versions else None

    def runs_on(self, ref: str) -> list[FakeRun]:
        return [run for run in self.runs if run.model == ref]

    # ---- internals ---------------------------------------------------------------------

    def _ensure_model(self, ref: str, hardware: str | None) -> ModelInfo:
        owner, name = split_ref(ref)
        with self._lock:
            if ref not in self.models:
                self.models[ref] = ModelInfo(owner, name, "private", hardware)
            return self.models[ref]

    def _add(
        self,
        ref: str,
        doc: dict[str, Any],
        fn: Behaviour,
        latency: float,
        content: str | None,
    ) -> FakeVersion:
        with self._lock:
            number = next(self._ids)
            version_id = hashlib.sha256(f"{self.name}:{ref}:{number}".encode()).hexdigest()
            version = FakeVersion(version_id, ref, doc, fn, latency, content)
            self.versions.setdefault(ref, []).append(version)
            self.models[ref].latest_version_id = version_id
            return version


class FakePlatform:
    """The Platform protocol over a FakeWorld."""

    creates_models = True

    def __init__(self, spec: PlatformSpec, world: FakeWorld) -> None:
        self.spec = spec
        self.world = world
        self._cancel = threading.Event()

    def check_credentials(self) -> None:
        return None

    def get_model(self, ref: str) -> ModelInfo | None:
        split_ref(ref)
        return self.world.models.get(ref)

    def create_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        return self.world._ensure_model(ref, hardware)

    def latest_version(self, ref: str) -> VersionInfo | None:
        with self.world._lock:
            self.world.latest_reads.append(ref)
            failures = self.world.latest_failures.get(ref)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            raise TransientError(f"GET the latest version of {ref}: {failure}")
        version = self.world.latest(ref)
        return VersionInfo(version.id, version.schema) if version else None

    def get_version(self, ref: str, version_id: str) -> VersionInfo:
        started = time.monotonic()
        if self.world.read_seconds:
            time.sleep(self.world.read_seconds)
        self.world.version_reads.append((ref, started, time.monotonic()))
        return VersionInfo(version_id, self._version(ref, version_id).schema)

    def _version(self, ref: str, version_id: str) -> FakeVersion:
        for version in self.world.versions.get(ref) or []:
            if version.id == version_id:
                return version
        raise UsageError(f"version {version_id} of {ref} does not exist")

    def predicted_schema(self, ref: str, cog_dir: str) -> dict[str, Any] | None:
        if ref in self.world.predicted:
            return self.world.predicted[ref]
        return self.world.script(ref).schema

    def push(self, ref: str, cog_dir: str, options: PushOptions) -> str:
        started = time.monotonic()
        if self.world.push_seconds:
            time.sleep(self.world.push_seconds)
        self.world.push_spans.append((started, time.monotonic()))
        failure = self.world.push_failures.pop(ref, None)
        if failure is not None:
            raise PlatformError(f"push failed: {failure}")
        script = self.world.script(ref)
        schema = script.schema
        if schema is None:
            raise PlatformError(f"the fake has no schema for {ref}: call world.set_schema")
        self.world._ensure_model(ref, None)
        version = self.world._add(ref, schema, script.behaviour, script.latency, digest(cog_dir))
        self.world.pushes.append((ref, version.id))
        if self.world.on_push is not None:
            self.world.on_push(ref, version.id)
        return version.id

    def promote(
        self, ref: str, cog_dir: str, options: PushOptions, tested_ref: str, tested_version: str
    ) -> str:
        tested = self._version(tested_ref, tested_version)
        self.world._ensure_model(ref, None)
        version = self.world._add(
            ref, tested.schema, tested.behaviour, tested.latency, tested.digest
        )
        self.world.pushes.append((ref, version.id))
        if self.world.on_push is not None:
            self.world.on_push(ref, version.id)
        return version.id

    def builder(self) -> str:
        return self.world.builder_version

    def environment_warnings(self, cog_dir: str) -> list[str]:
        return []

    def predict(
        self, ref: str, version_id: str, inputs: dict[str, Any], timeout: float
    ) -> RunResult:
        return self._run(ref, version_id, inputs, timeout, None)

    def train(
        self,
        ref: str,
        version_id: str,
        destination: str,
        inputs: dict[str, Any],
        timeout: float,
    ) -> RunResult:
        result = self._run(ref, version_id, inputs, timeout, destination)
        if result.ok:
            tested = self._version(ref, version_id)
            self.world._ensure_model(destination, "cpu")
            trained = self.world._add(destination, tested.schema, tested.behaviour, 0.0, None)
            result.metrics["destination_version"] = trained.id
        return result

    def _run(
        self,
        ref: str,
        version_id: str,
        inputs: dict[str, Any],
        timeout: float,
        destination: str | None,
    ) -> RunResult:
        version = self._version(ref, version_id)
        run = FakeRun(uuid.uuid4().hex, ref, version_id, dict(inputs), destination=destination)
        self.world.runs.append(run)
        full = self.world.disk_full_after
        if full is not None and len(self.world.runs) > full:  # as the local registry's write
            raise OSError(errno.ENOSPC, "No space left on device", f"runs/{run.id}.json")
        started = time.monotonic()
        if version.latency:
            if self._cancel.wait(min(version.latency, timeout)):
                run.status = "canceled"
                return RunResult(run.id, "canceled", error="canceled")
            if version.latency > timeout:
                run.status = "timeout"
                return RunResult(run.id, "timeout", error=f"timed out after {timeout:g}s")
        try:
            output = _files_to_urls(version.behaviour(dict(inputs)))
        except Exception as exc:  # noqa: BLE001 - the model's failure is the run's outcome
            run.status = "failed"
            logs = "".join(traceback.format_exception(exc))
            run.seconds = time.monotonic() - started
            return RunResult(
                run.id,
                "failed",
                error=str(exc) or type(exc).__name__,
                logs=logs,
                seconds=run.seconds,
            )
        run.status = "succeeded"
        run.seconds = time.monotonic() - started
        return RunResult(
            run.id,
            "succeeded",
            output=output,
            remote_output=output,
            seconds=run.seconds,
            metrics={"predict_time": run.seconds},
        )

    def upsert_deployment(self, deployment: DeploymentSpec, ref: str, version_id: str) -> None:
        self._version(ref, version_id)
        self.world.deployments[f"{deployment.owner}/{deployment.name}"] = (ref, version_id)

    def cancel_all(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        self._cancel.set()


def _files_to_urls(value: Any) -> Any:
    if isinstance(value, Path):
        return value.resolve().as_uri()
    if isinstance(value, list):
        return [_files_to_urls(v) for v in value]
    if isinstance(value, dict):
        return {k: _files_to_urls(v) for k, v in value.items()}
    return value


def install(world: FakeWorld) -> FakeWorld:
    """Make the `fake` platform kind open platforms over `world`."""
    register_platform(KIND, lambda spec: FakePlatform(spec, world))
    return world
