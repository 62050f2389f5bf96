"""Real Cog models behind the fake Replicate: every version pushed runs the code it was pushed from.

The fake's versions normally run a Python callable a test wrote. `PushedModels` makes each
version run its own Cog predictor instead: on every push (through the stand-in `cog`, or
`PushedModels.push` for a version made outside the tool) it copies the Cog directory, and
that version's predictions then run the copy the way Cog runs a model: `setup()` once, the
inputs checked and their `Input(...)` defaults applied by Cog's own code
(`cog._inspector`, the same rules Cog 0.23 uses), `predict(**inputs)`, an iterator's items
collected into a list (Replicate returns iterator outputs as lists), files as `FakeFile`s,
and an output that cannot be JSON-serialised failing as Cog fails it. An exception becomes
the prediction's error with its real traceback in the logs, after whatever the model printed.

Why in this process and not through coglet (`python -m cog.server.http`): two coglet
processes per run (live and candidate) cost about a second of CPU per test on top of the
tool's own work, which would put the differential tests well over their CPU budget. What the
in-process runner does not do, and the models run here must not need: process isolation (a
model sees this process's environment, so run only our own models), a dead worker
(`os._exit` would end the test session), cancelling a running `predict` (the fake marks the
run canceled; the thread finishes on its own), file inputs, imports of sibling modules of
the predictor, and `setup(weights=...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import inspect
import io
import mimetypes
import os
import pathlib
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from cog import _inspector

from tasks.core.cog_yaml import read_cog_yaml
from tasks.platforms.cog_dir import digest, snapshot_files
from tasks.platforms.local.cog_schema import generate_schema, write_schema
from tests.fakes.replicate_server import FakeFile, FakeReplicate, Logged

_schemas: dict[str, dict[str, Any]] = {}
_schemas_lock = threading.Lock()


def schema_for(cog_dir: Path) -> dict[str, Any]:
    """The directory's OpenAPI document, generated as `cog build` would; cached by content,
    since the same predictor always has the same schema and generating one costs a process."""
    key = digest(cog_dir)
    with _schemas_lock:
        if key not in _schemas:
            _schemas[key] = generate_schema(cog_dir)
        return _schemas[key]


def cache_schema(cog_dir: Path) -> None:
    """Put the schema where the stand-in `cog` looks first (`.cog/openapi_schema.json`, as
    `cog build` leaves it), so that a push does not generate it again."""
    write_schema(cog_dir, schema_for(cog_dir))


class OutputNotSerializable(TypeError):
    """The predictor returned something JSON cannot hold; Cog fails the prediction."""


class SetupFailed(RuntimeError):
    """The predictor could not be loaded or its setup() raised: every prediction fails."""


class _ThreadLogs:
    """Stands in for sys.stdout or sys.stderr: what a model prints during a prediction goes
    to that prediction's logs; everything else goes where it went before."""

    def __init__(self, fallback: TextIO, local: threading.local) -> None:
        self.fallback = fallback
        self.local = local

    def write(self, text: str) -> int:
        buffer: io.StringIO | None = getattr(self.local, "buffer", None)
        return (buffer or self.fallback).write(text)

    def flush(self) -> None:
        if getattr(self.local, "buffer", None) is None:
            self.fallback.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fallback, name)


class _Router:
    """Routes each prediction's prints into its own logs, by thread.

    Installed when a prediction starts rather than once: pytest puts its own sys.stdout in
    place at every test phase, and would silently replace a router installed earlier."""

    def __init__(self) -> None:
        self.local = threading.local()
        self._lock = threading.Lock()

    def _ours(self, stream: Any) -> bool:
        return isinstance(stream, _ThreadLogs) and stream.local is self.local

    @contextlib.contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        """What this thread prints inside the block, as a buffer."""
        with self._lock:
            for name in ("stdout", "stderr"):
                if not self._ours(getattr(sys, name)):
                    setattr(sys, name, _ThreadLogs(getattr(sys, name), self.local))
        buffer = self.local.buffer = io.StringIO()
        try:
            yield buffer
        finally:
            self.local.buffer = None

    def remove(self) -> None:
        with self._lock:
            for name in ("stdout", "stderr"):
                stream = getattr(sys, name)
                if self._ours(stream):
                    setattr(sys, name, stream.fallback)


def _file(path: pathlib.Path) -> FakeFile:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FakeFile(path.name, path.read_bytes(), content_type)


def _encode(value: Any) -> Any:
    """An output as Cog sends it: JSON values, with files for paths."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, pathlib.Path):
        return _file(value)
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):  # a pydantic model
        return _encode(value.model_dump())
    raise OutputNotSerializable(f"Object of type {type(value).__name__} is not JSON serializable")


def _checked(value: Any, what: str) -> Any:
    """`value` encoded, or the failure Cog reports ("Failed to serialize output: ...")."""
    try:
        return _encode(value)
    except OutputNotSerializable as exc:
        raise OutputNotSerializable(f"Failed to serialize {what}: TypeError: {exc}") from None


async def _collect(items: Any) -> list[Any]:
    return [item async for item in items]


class CogPredictor:
    """One pushed version: the predictor in its snapshot, set up once, run per prediction.
    A behaviour of the fake: called with a prediction's inputs, it returns `Logged` output."""

    def __init__(self, snapshot: Path, module_name: str, router: _Router) -> None:
        file, _, self.name = read_cog_yaml(snapshot).refs()["predict"].partition(":")
        self.path = snapshot / file
        self.module_name = module_name
        self.router = router
        self._lock = threading.Lock()
        self._ready = False
        self._failure: SetupFailed | None = None
        self._inputs: dict[str, Any] = {}
        self._run: Any = None

    def setup(self) -> None:
        """Boot before the run is timed (the fake calls it while the run is "starting")."""
        self._boot()

    def _boot(self) -> None:
        """Import the predictor, read its signature with Cog's own inspector (which refuses
        what Cog refuses, e.g. a default outside its bounds), then call setup() once."""
        with self._lock:
            if self._ready or self._failure is not None:
                return
            with self.router.capture() as logs:
                self._load(logs)

    def _load(self, logs: io.StringIO) -> None:
        try:
            spec = importlib.util.spec_from_file_location(self.module_name, self.path)
            assert spec is not None and spec.loader is not None, self.path
            module = importlib.util.module_from_spec(spec)
            sys.modules[self.module_name] = module
            spec.loader.exec_module(module)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # predict() vs run()
                info = _inspector.create_predictor(self.module_name, self.name)
                target = getattr(module, self.name)
                if inspect.isclass(target):
                    method, _ = _inspector._selected_predict_method(target, self.name)
                    instance = target()
                    if callable(getattr(instance, "setup", None)):
                        instance.setup()
                    self._run = getattr(instance, method)
                else:
                    self._run = target
            self._inputs = info.inputs
            self._ready = True
        except Exception as exc:  # noqa: BLE001 - a broken model fails its predictions
            failure = SetupFailed(f"setup failed: {type(exc).__name__}: {exc}")
            failure.logs = logs.getvalue()  # type: ignore[attr-defined]
            failure.__cause__ = exc
            self._failure = failure

    def __call__(self, inputs: dict[str, Any]) -> Logged:
        self._boot()
        if self._failure is not None:
            failure = SetupFailed(str(self._failure))
            failure.logs = self._failure.logs  # type: ignore[attr-defined]
            raise failure from self._failure.__cause__
        with self.router.capture() as logs:
            return Logged(self._predict(inputs, logs), logs.getvalue())

    def _predict(self, inputs: dict[str, Any], logs: io.StringIO) -> Any:
        try:
            kwargs = _inspector.check_input(self._inputs, inputs)
            result = self._run(**kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            if inspect.isasyncgen(result):
                output = [_checked(item, "output item") for item in asyncio.run(_collect(result))]
            elif isinstance(result, Iterator):
                output = [_checked(item, "output item") for item in result]
            else:
                output = _checked(result, "output")
        except Exception as exc:
            with contextlib.suppress(AttributeError):  # an exception type without __dict__
                exc.logs = logs.getvalue()  # type: ignore[attr-defined]
            raise
        return output

    def unload(self) -> None:
        sys.modules.pop(self.module_name, None)


class PushedModels:
    """Makes every version pushed to `fake` run the Cog model it was pushed from.

    Use as a context manager around the test: it installs the fake's push hook and routes
    what models print into their predictions' logs, and on leaving it restores both and
    removes every snapshot.
    """

    def __init__(self, fake: FakeReplicate) -> None:
        self.fake = fake
        self.root: Path | None = None
        self.predictors: dict[str, CogPredictor] = {}
        self._router = _Router()
        self._lock = threading.Lock()

    def __enter__(self) -> PushedModels:
        self.root = Path(tempfile.mkdtemp(prefix="cog-models-"))
        self.fake.push_hook = self._pushed
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.push_hook = None
        self._router.remove()
        with self._lock:
            predictors, self.predictors = list(self.predictors.values()), {}
        for predictor in predictors:
            predictor.unload()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def push(self, ref: str, cog_dir: Path) -> str:
        """A new version of `ref` made from `cog_dir` without the tool, as a maintainer's own
        `cog push` would make it; its id."""
        version_id = self.fake.add_version(ref, schema_for(cog_dir))
        self._pushed(ref, version_id, {"cog_dir": str(cog_dir)})
        return version_id

    def _pushed(self, ref: str, version_id: str, body: dict[str, Any]) -> None:
        """The push hook: snapshot the directory now (the test edits it afterwards) and make
        the new version run the snapshot."""
        assert self.root is not None, "PushedModels is not open"
        source = Path(body["cog_dir"])
        snapshot = self.root / version_id
        for rel in snapshot_files(source):
            target = snapshot / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if (source / rel).is_symlink():  # sent as a link, as docker build does
                os.symlink(os.readlink(source / rel), target)
            else:
                shutil.copy2(source / rel, target)
        predictor = CogPredictor(snapshot, f"_cog_model_{version_id[:16]}", self._router)
        with self._lock:
            self.predictors[version_id] = predictor
        self.fake.set_behaviour(version_id, predictor)
