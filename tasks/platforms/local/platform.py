"""The `local` platform: Cog models pushed to a registry on disk and run by coglet here.

No account, no Docker, no network: `push` snapshots the Cog directory into the registry
(`local_registry`) with an OpenAPI schema generated from the predictor (`cog_schema`), and
predictions/trainings run through `python -m cog.server.http` (`cog_server`), one server per
version and mode, started on first use and stopped by `close()` or at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import mimetypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from tasks.core import data_uri
from tasks.core.bounded import bound, bound_text
from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.errors import PlatformError, UsageError
from tasks.core.home import tool_home
from tasks.core.openapi import component, join_stream
from tasks.core.platform_data import (
    DeploymentSpec,
    ModelInfo,
    PlatformSpec,
    PushOptions,
    RunResult,
    VersionInfo,
)
from tasks.core.refs import split_ref
from tasks.core.results import clean_error
from tasks.core.run_scope import current
from tasks.platforms.local.cog_schema import (
    build_openapi,
    describe_signatures,
    model_env,
    write_schema,
)
from tasks.platforms.local.cog_server import CogServer
from tasks.platforms.local.registry import LocalRegistry, now
from tasks.platforms.local.requirements import environment_warnings, interpreter_facts

_LINK_ABOVE = 64 * 1024 * 1024  # big files (weights) are hard-linked into work dirs
_open_platforms: weakref.WeakSet[LocalPlatform] = weakref.WeakSet()


def _close_open_platforms() -> None:
    for platform in list(_open_platforms):
        with contextlib.suppress(Exception):
            platform.close()


atexit.register(_close_open_platforms)


# ---------------------------------------------------------------- pure helpers


def file_url(path: str | os.PathLike[str]) -> str:
    return Path(path).resolve().as_uri()


def has_uri(schema: Any) -> bool:
    """Whether a (dereferenced) schema node can hold files (`format: uri` anywhere)."""
    if isinstance(schema, dict):
        if schema.get("format") == "uri":
            return True
        return any(has_uri(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_uri(v) for v in schema)
    return False


def may_hold_files(output_schema: dict[str, Any] | None) -> bool:
    """Outputs typed `Any` (no type at all) may still be files."""
    if not output_schema:
        return True
    meaningful = {k for k in output_schema if k not in {"title", "description"}}
    return not meaningful or has_uri(output_schema)


def extension_for(mime: str) -> str:
    fixed = {"text/plain": ".txt", "image/jpeg": ".jpg", "audio/wav": ".wav", "audio/x-wav": ".wav"}
    return fixed.get(mime) or mimetypes.guess_extension(mime) or ".bin"


def localize_files(value: Any, save: Any, name: str = "output") -> Any:
    """Replace every data: URI inside `value` by what `save(name, mime, data)` returns."""
    if isinstance(value, str):
        if not data_uri.is_data_uri(value):
            return value
        try:
            mime, data = data_uri.decode(value)
        except data_uri.DataURIError:
            return value
        return save(name, mime, data)
    if isinstance(value, list):
        return [localize_files(v, save, f"{name}_{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: localize_files(v, save, f"{name}_{k}") for k, v in value.items()}
    return value


def file_inputs_as_paths(inputs: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """coglet takes local paths, data: URIs and http(s) URLs for files, not file:// URLs."""

    def convert(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("file://"):
            return unquote(urlparse(value).path)
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {
        key: convert(value) if has_uri(properties.get(key) or {}) else value
        for key, value in inputs.items()
    }


def abbreviate(value: Any, limit: int = 500) -> Any:
    """Inputs for the run record: data URIs and huge strings shortened."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"... ({len(value)} chars)"
    if isinstance(value, list):
        return [abbreviate(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: abbreviate(v, limit) for k, v in value.items()}
    return value


def weights_of(output: Any) -> str | None:
    """The weights a training produced: its file output, or output["weights"]."""
    if isinstance(output, dict):
        output = output.get("weights")
    if isinstance(output, str) and output.startswith("file://"):
        return unquote(urlparse(output).path)
    return None


# ---------------------------------------------------------------- the platform


class LocalPlatform:
    """Platform protocol over a registry directory and local coglet servers."""

    setup_timeout = 600.0
    creates_models = True  # the registry creates a model on its first push

    def __init__(self, spec: PlatformSpec) -> None:
        root = spec.registry or str(tool_home())
        self.spec = spec
        self.scope = current()  # the run this instance belongs to: its stop switch
        self.python = spec.python or sys.executable
        self.registry = LocalRegistry(root)
        self._servers: dict[tuple[str, bool, str], CogServer] = {}
        self._workdirs: list[Path] = []
        self._lock = threading.Lock()
        self._builder: str | None = None
        _open_platforms.add(self)

    # ------------------------------------------------------------ models

    def check_credentials(self) -> None:
        """No account exists locally; check instead that the model interpreter has cog."""
        try:
            proc = subprocess.run(
                [self.python, "-c", "import cog, coglet"],
                capture_output=True,
                text=True,
                timeout=60,
                env=model_env(self.python),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UsageError(f"cannot run the model interpreter {self.python!r}: {exc}") from None
        if proc.returncode != 0:
            raise UsageError(
                f"the model interpreter {self.python!r} cannot import cog and coglet "
                "(pip install cog coglet into it)"
            )

    def builder(self) -> str:
        """Python, cog and coglet of the model interpreter: what a local version runs on."""
        if self._builder is None:
            try:
                facts = interpreter_facts(self.python)
            except UsageError:
                self._builder = f"{self.python}: versions unknown"  # the run says why elsewhere
            else:
                self._builder = (
                    f"{self.python}: python {facts.version} cog {facts.installed('cog')} "
                    f"coglet {facts.installed('coglet')}"
                )
        return self._builder

    def _model_info(self, record: dict[str, Any]) -> ModelInfo:
        ref = f"{record['owner']}/{record['name']}"
        return ModelInfo(
            owner=record["owner"],
            name=record["name"],
            visibility=record.get("visibility") or "private",
            hardware=record.get("hardware"),
            latest_version_id=record.get("latest_version_id"),
            url=file_url(self.registry.model_dir(ref)),
        )

    def get_model(self, ref: str) -> ModelInfo | None:
        record = self.registry.get_model(ref)
        return self._model_info(record) if record else None

    def create_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        record = self.registry.create_model(ref, hardware, "private" if private else "public")
        return self._model_info(record)

    # ------------------------------------------------------------ versions

    def _version_record(self, ref: str, version_id: str) -> dict[str, Any]:
        split_ref(ref)
        record = self.registry.get_version(ref, version_id)
        if record is None:
            raise UsageError(f"version {version_id} of {ref} does not exist in the local registry")
        return record

    def latest_version(self, ref: str) -> VersionInfo | None:
        record = self.registry.latest_version(ref)
        if record is None:
            return None
        return VersionInfo(record["id"], record["openapi_schema"], record.get("created_at"))

    def get_version(self, ref: str, version_id: str) -> VersionInfo:
        record = self._version_record(ref, version_id)
        return VersionInfo(record["id"], record["openapi_schema"], record.get("created_at"))

    def list_versions(self, ref: str) -> list[str]:
        """Version ids of `ref`, oldest first (not in the protocol: local inspection)."""
        return [record["id"] for record in self.registry.list_versions(ref)]

    def _build_snapshot(self, snapshot: Path) -> dict[str, Any]:
        refs = read_cog_yaml(snapshot).refs()
        if not refs:
            raise UsageError("cog.yaml declares neither predict nor train")
        try:
            signatures = describe_signatures(snapshot, refs, self.python)
        except UsageError as exc:  # the model itself is broken: a failed build, not usage
            raise PlatformError(f"push failed: {exc}") from None
        document = build_openapi(signatures.get("predict"), signatures.get("train"))
        write_schema(snapshot, document)
        return document

    def predicted_schema(self, ref: str, cog_dir: str) -> dict[str, Any] | None:
        """What the push will generate, from the working directory rather than a snapshot."""
        refs = read_cog_yaml(cog_dir).refs()
        if not refs:
            return None
        signatures = describe_signatures(cog_dir, refs, self.python)
        return build_openapi(signatures.get("predict"), signatures.get("train"))

    def push(self, ref: str, cog_dir: str, options: PushOptions) -> str:
        """Snapshot `cog_dir` as a new version of `ref`; the id is the content hash."""
        split_ref(ref)
        source = Path(cog_dir).expanduser().resolve()
        if not source.is_dir():
            raise UsageError(f"{cog_dir} is not a directory")
        cog_yaml = read_cog_yaml(source)
        refs = cog_yaml.refs()
        if self.registry.get_model(ref) is None:
            self.registry.create_model(ref, None, "private")
        snapshot_id, schema = self.registry.store_snapshot(source, self._build_snapshot)
        record = {
            "id": snapshot_id,
            "model": ref,
            "snapshot": snapshot_id,
            "predict": refs.get("predict"),
            "train": refs.get("train"),
            "concurrency": cog_yaml.max_concurrency(),
            "weights": None,
            "openapi_schema": schema,
            "pushed_from": str(source),
            "push_options": {
                "dockerfile": options.dockerfile,
                "fast_push": options.fast_push,
                "use_cog_base_image": options.use_cog_base_image,
            },
        }
        return self.registry.add_version(ref, record)["id"]

    def environment_warnings(self, cog_dir: str) -> list[str]:
        """Models run with this machine's interpreter, not a build of cog.yaml: say where
        they differ (Python version, packages), and name --python as the fix."""
        return environment_warnings(cog_dir, self.python)

    def promote(
        self, ref: str, cog_dir: str, options: PushOptions, tested_ref: str, tested_version: str
    ) -> str:
        """The tested snapshot itself becomes a version of `ref` (same id, same files)."""
        split_ref(ref)
        tested = self._version_record(tested_ref, tested_version)
        if self.registry.get_model(ref) is None:
            self.registry.create_model(ref, None, "private")
        record = {
            k: v for k, v in tested.items() if k not in ("model", "created_at", "pushed_from")
        }
        record.update(
            {"model": ref, "promoted_from": {"model": tested_ref, "version": tested_version}}
        )
        return self.registry.add_version(ref, record)["id"]

    def upsert_deployment(self, deployment: DeploymentSpec, ref: str, version_id: str) -> None:
        self._version_record(ref, version_id)
        self.registry.upsert_deployment(
            {
                "owner": deployment.owner,
                "name": deployment.name,
                "model": ref,
                "version": version_id,
                "hardware": deployment.hardware,
                "min_instances": deployment.min_instances,
                "max_instances": deployment.max_instances,
            }
        )

    # ------------------------------------------------------------ servers

    def _workdir(self, snapshot_id: str) -> Path:
        """A private copy of the snapshot: models may write into their working directory."""
        source = self.registry.snapshot_dir(snapshot_id)
        if not source.is_dir():
            raise PlatformError(f"snapshot {snapshot_id} is missing from the local registry")
        work = Path(
            tempfile.mkdtemp(prefix=f"work-{snapshot_id[:12]}-", dir=self.registry.root / "tmp")
        )

        def copy(src: str, dst: str) -> None:
            if os.path.getsize(src) > _LINK_ABOVE:
                with contextlib.suppress(OSError):
                    os.link(src, dst)
                    return
            shutil.copy2(src, dst)

        shutil.copytree(source, work, dirs_exist_ok=True, copy_function=copy)
        self._workdirs.append(work)
        return work

    def _server(self, version: dict[str, Any], train: bool) -> CogServer:
        mode = "train" if train else "predict"  # the cog.yaml key of the entry point
        predictor = version.get(mode)
        if not predictor:
            raise UsageError(f"version {version['id']} of {version.get('model')} has no {mode}:")
        weights = version.get("weights") or ""
        key = (version["snapshot"], train, weights)
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                env = {"COG_WEIGHTS": weights} if weights else {}
                log = (
                    self.registry.root
                    / "logs"
                    / f"{version['snapshot'][:12]}-{mode}-{uuid.uuid4().hex[:8]}.log"
                )
                server = CogServer(
                    self._workdir(version["snapshot"]),
                    predictor,
                    train=train,
                    python=self.python,
                    log_path=log,
                    extra_env=env,
                    concurrency=int(version.get("concurrency") or 1),
                    setup_timeout=self.setup_timeout,
                    should_stop=self.scope.stopped,
                )
                self._servers[key] = server
        return server

    def server_pids(self) -> list[int]:
        """Process ids of running servers (tests use it to prove reuse and cleanup)."""
        with self._lock:
            return [s.pid for s in self._servers.values() if s.alive and s.pid]

    # ------------------------------------------------------------ runs

    def _save_output(self, run_id: str) -> Any:
        out_dir = self.registry.outputs_dir(run_id)

        def save(name: str, mime: str, data: bytes) -> str:
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / f"{name}{extension_for(mime)}"
            path.write_bytes(data)
            return file_url(path)

        return save

    def _run(
        self,
        kind: str,
        ref: str,
        version: dict[str, Any],
        inputs: dict[str, Any],
        timeout: float,
        extra: dict[str, Any] | None = None,
    ) -> tuple[RunResult, dict[str, Any]]:
        train = kind == "training"
        document = version["openapi_schema"]
        input_name, output_name = (
            ("TrainingInput", "TrainingOutput") if train else ("Input", "Output")
        )
        properties = (component(document, input_name) or {}).get("properties") or {}
        run_id = uuid.uuid4().hex
        created = now()
        server = self._server(version, train)
        response = server.run(run_id, file_inputs_as_paths(dict(inputs), properties), timeout)
        seconds = float(response.pop("wall_seconds", 0.0))
        status = response.get("status") or "failed"
        if status not in {"succeeded", "failed", "canceled", "timeout"}:
            status = "failed"
        output = join_stream(response.get("output"), component(document, output_name))
        if may_hold_files(component(document, output_name)):
            output = localize_files(output, self._save_output(run_id))
        record = {
            "id": run_id,
            "kind": kind,
            "model": ref,
            "version": version["id"],
            "input": abbreviate(inputs),
            "status": status,
            "output": output,
            "error": clean_error(response.get("error")),
            "logs": response.get("logs") or server.logs_for(run_id),
            "metrics": response.get("metrics") or {},
            "created_at": created,
            "completed_at": now(),
            "seconds": seconds,
            **(extra or {}),
        }
        # the registry keeps a bounded copy, as every stored output is (tasks.core.bounded)
        stored = {**record, "output": bound(output), "logs": bound_text(record["logs"]) or ""}
        path = self.registry.save_run(stored)
        result = RunResult(
            id=run_id,
            status=status,  # type: ignore[arg-type]
            output=output,
            remote_output=output,
            error=None if status == "succeeded" else (clean_error(response.get("error")) or status),
            logs=record["logs"],
            seconds=seconds,
            url=file_url(path),
            metrics=dict(record["metrics"]),
            infra=bool(response.get("infra")),
        )
        return result, record

    def predict(
        self, ref: str, version_id: str, inputs: dict[str, Any], timeout: float
    ) -> RunResult:
        version = self._version_record(ref, version_id)
        result, _ = self._run("prediction", ref, version, inputs, timeout)
        return result

    def train(
        self,
        ref: str,
        version_id: str,
        destination: str,
        inputs: dict[str, Any],
        timeout: float,
    ) -> RunResult:
        """Train, then give `destination` a new version: same code, the trained weights."""
        split_ref(destination)
        version = self._version_record(ref, version_id)
        result, record = self._run(
            "training", ref, version, inputs, timeout, {"destination": destination}
        )
        if not result.ok:
            return result
        dest_id = self._record_trained_version(ref, version, destination, result)
        result.metrics["destination_version"] = dest_id
        record["destination_version"] = dest_id
        record["metrics"] = result.metrics
        self.registry.save_run(record)
        return result

    def _record_trained_version(
        self, ref: str, version: dict[str, Any], destination: str, result: RunResult
    ) -> str:
        weights = weights_of(result.output)
        digest = hashlib.sha256(f"{version['id']}\n".encode())
        if weights and Path(weights).is_file():
            digest.update(Path(weights).read_bytes())
        else:
            digest.update(repr(result.output).encode())
        dest_id = digest.hexdigest()
        stored = None
        if weights and Path(weights).is_file():
            target = self.registry.root / "weights" / dest_id / Path(weights).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(weights, target)
            stored = str(target)
        if self.registry.get_model(destination) is None:
            self.registry.create_model(destination, "cpu", "private")
        self.registry.add_version(
            destination,
            {
                "id": dest_id,
                "model": destination,
                "snapshot": version["snapshot"],
                "predict": version.get("predict"),
                "train": version.get("train"),
                "concurrency": version.get("concurrency") or 1,
                "weights": stored,
                "training_output": result.output,
                "trained_from": {"model": ref, "version": version["id"], "training": result.id},
                "openapi_schema": version["openapi_schema"],
            },
        )
        return dest_id

    # ------------------------------------------------------------ shutdown

    def cancel_all(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
        for server in servers:
            server.cancel_all()

    def close(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            workdirs, self._workdirs = self._workdirs, []
        for server in servers:
            server.close()
        for work in workdirs:
            shutil.rmtree(work, ignore_errors=True)
