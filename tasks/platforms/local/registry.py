"""The local registry: models, versions, deployments and run records as files on disk.

Layout under the registry root (plain JSON + directories, so a person can browse it):

    models/<owner>/<name>/model.json            owner, name, hardware, latest version, history
    models/<owner>/<name>/versions/<id>.json    one version: schema, code snapshot, weights
    snapshots/<content hash>/                   the Cog directory as pushed (+ .cog schema)
    weights/<version id>/                       weights a training produced for a version
    deployments/<owner>/<name>.json             which model:version a deployment serves
    runs/<run id>.json, outputs/<run id>/       every prediction/training and its files

Writes are atomic (temp file + rename) and mutations hold a process-wide lock plus a
file lock, because Prefect runs tasks in threads and several processes may share a registry.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.core.errors import UsageError
from tasks.core.home import atomic_write_json
from tasks.core.refs import split_ref
from tasks.platforms.cog_dir import content_hash, snapshot_files

_thread_lock = threading.RLock()


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def read_json(path: Path) -> Any:
    """A registry record; a damaged one is a UsageError naming the file (exit 2, one line)."""
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"the local registry file {path} is damaged ({type(exc).__name__}: {exc}); "
            "restore it or delete it"
        ) from None


# ---------------------------------------------------------------- registry


class LocalRegistry:
    """Files-on-disk registry. Every public method is safe to call from many threads."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        for sub in ("models", "snapshots", "weights", "deployments", "runs", "outputs", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- locking

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with _thread_lock:
            lock_path = self.root / ".lock"
            with lock_path.open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    # -- paths

    def model_dir(self, ref: str) -> Path:
        owner, name = split_ref(ref)
        return self.root / "models" / owner / name

    def version_path(self, ref: str, version_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", version_id or ""):
            raise UsageError(f"version id {version_id!r} is not a 64-character hex id")
        return self.model_dir(ref) / "versions" / f"{version_id}.json"

    def snapshot_dir(self, snapshot_id: str) -> Path:
        return self.root / "snapshots" / snapshot_id

    def run_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.json"

    def outputs_dir(self, run_id: str) -> Path:
        return self.root / "outputs" / run_id

    # -- models

    def get_model(self, ref: str) -> dict[str, Any] | None:
        path = self.model_dir(ref) / "model.json"
        return read_json(path) if path.is_file() else None

    def create_model(self, ref: str, hardware: str | None, visibility: str) -> dict[str, Any]:
        owner, name = split_ref(ref)
        with self.locked():
            existing = self.get_model(ref)
            if existing is not None:
                return existing
            record = {
                "owner": owner,
                "name": name,
                "visibility": visibility,
                "hardware": hardware,
                "created_at": now(),
                "latest_version_id": None,
                "history": [],
            }
            atomic_write_json(self.model_dir(ref) / "model.json", record)
            return record

    # -- versions

    def get_version(self, ref: str, version_id: str) -> dict[str, Any] | None:
        path = self.version_path(ref, version_id)
        return read_json(path) if path.is_file() else None

    def latest_version(self, ref: str) -> dict[str, Any] | None:
        model = self.get_model(ref)
        if not model or not model.get("latest_version_id"):
            return None
        return self.get_version(ref, model["latest_version_id"])

    def list_versions(self, ref: str) -> list[dict[str, Any]]:
        """Every version of the model, oldest first (by first push)."""
        folder = self.model_dir(ref) / "versions"
        if not folder.is_dir():
            return []
        records = [read_json(path) for path in folder.glob("*.json")]
        return sorted(records, key=lambda r: (r.get("created_at") or "", r["id"]))

    def add_version(self, ref: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store the version (kept as first created when it exists) and make it latest."""
        with self.locked():
            model = self.get_model(ref)
            if model is None:
                raise UsageError(f"model {ref} does not exist in the local registry")
            path = self.version_path(ref, record["id"])
            if path.is_file():
                record = read_json(path)
            else:
                record = {**record, "created_at": record.get("created_at") or now()}
                atomic_write_json(path, record)
            model["latest_version_id"] = record["id"]
            model.setdefault("history", []).append({"id": record["id"], "at": now()})
            atomic_write_json(self.model_dir(ref) / "model.json", model)
            return record

    def store_snapshot(self, cog_dir: Path, build: Any) -> tuple[str, dict[str, Any]]:
        """Copy the pushable files of `cog_dir` into the content-addressed snapshot store,
        by Docker's build-context rules (tasks.platforms.cog_dir): a link inside is copied as
        the same link, a link out of the directory is a UsageError before anything is copied.

        `build(snapshot_dir) -> schema` runs once per new content (generating the OpenAPI
        document inside the copy); an existing snapshot is reused as is.
        Returns (snapshot id, schema).
        """
        cog_dir = Path(cog_dir).resolve()
        files = snapshot_files(cog_dir)
        snapshot_id = content_hash(cog_dir, files)
        final = self.snapshot_dir(snapshot_id)
        schema_file = final / ".cog" / "openapi_schema.json"
        if schema_file.is_file():
            return snapshot_id, read_json(schema_file)
        staging = Path(tempfile.mkdtemp(prefix=f"{snapshot_id[:12]}-", dir=self.root / "tmp"))
        try:
            for rel in files:
                source, target = cog_dir / rel, staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_symlink():  # as Docker's build context sends it: a link
                    os.symlink(os.readlink(source), target)
                else:
                    shutil.copy2(source, target, follow_symlinks=False)
            schema = build(staging)
            try:
                os.rename(staging, final)
            except OSError:
                if not schema_file.is_file():  # not an identical push that won the race
                    raise
                schema = read_json(schema_file)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return snapshot_id, schema

    # -- deployments

    def upsert_deployment(self, record: dict[str, Any]) -> dict[str, Any]:
        path = self.root / "deployments" / record["owner"] / f"{record['name']}.json"
        split_ref(f"{record['owner']}/{record['name']}")
        with self.locked():
            previous = read_json(path) if path.is_file() else None
            merged = {
                **record,
                "created_at": (previous or {}).get("created_at") or now(),
                "updated_at": now(),
            }
            atomic_write_json(path, merged)
            return merged

    def get_deployment(self, owner: str, name: str) -> dict[str, Any] | None:
        split_ref(f"{owner}/{name}")
        path = self.root / "deployments" / owner / f"{name}.json"
        return read_json(path) if path.is_file() else None

    # -- runs

    def save_run(self, record: dict[str, Any]) -> Path:
        path = self.run_path(record["id"])
        atomic_write_json(path, record)
        return path
