"""Inputs a live version was seen to answer the same way twice.

The comparison asks live a second time whenever the two versions' outputs differ; when live
then repeats itself exactly, that input is deterministic on that version, seed or no seed. A
later run (a rerun after a fix, say) takes that live run from the prediction cache instead
of paying for it again (tasks.predictions). Kept per version under the tool's home: a version
never changes, so what it was seen to do stays true. Only keys of inputs are kept, never an
output: the replayed run itself lives in Prefect's cache, where an output over the limit is
never kept (tasks.core.bounded).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from tasks.core.home import atomic_write_json, tool_home
from tasks.core.platform_data import PlatformSpec
from tasks.fuzz.compare_inputs import payload_key
from tasks.policies import where

_lock = threading.Lock()


def _path(spec: PlatformSpec, ref: str, version: str) -> Path:
    name = hashlib.sha256(json.dumps([*where(spec), ref, version]).encode()).hexdigest()
    return tool_home() / "repeatable" / f"{name}.json"


def _read(path: Path) -> list[str]:
    try:
        keys = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return keys if isinstance(keys, list) else []


def is_repeatable(spec: PlatformSpec, ref: str, version: str, inputs: dict[str, Any]) -> bool:
    return payload_key(inputs) in _read(_path(spec, ref, version))


def mark_repeatable(spec: PlatformSpec, ref: str, version: str, inputs: dict[str, Any]) -> None:
    """Record that `ref:version` gave the same output for `inputs` twice (best effort)."""
    path = _path(spec, ref, version)
    key = payload_key(inputs)
    with _lock:
        keys = _read(path)
        if key in keys:
            return
        with contextlib.suppress(OSError):
            atomic_write_json(path, [*keys, key])
