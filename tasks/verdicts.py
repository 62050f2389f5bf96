"""Verdict reuse: an unchanged rerun spends no prediction.

When one mode's checks passed for a Cog directory (by content digest), against one live
version, with one config, the same options and the same tool, running them again within
VERDICT_TTL would ask the same questions of the same versions. The rerun reuses that verdict:
it says so in one line, lists the stages as they passed then, and spends no prediction.
`--refresh` runs everything again. Only passing verdicts are kept: a failure is worth seeing
happen again.

Kept as small JSON files under the tool's home (no outputs, no inputs, no secrets): the
stage names, statuses, details and warnings, when, and the flow run that decided it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from tasks.core.config import ModeName
from tasks.core.errors import SafePushError
from tasks.core.home import atomic_write_json, tool_home
from tasks.core.job import Job
from tasks.core.results import StageResult
from tasks.outputs.files import content_keyed
from tasks.policies import where

VERDICT_TTL = timedelta(hours=24)
# What a run writes or how it shows, not what it checks.
_NOT_CHECKS = {"no_push", "push_official_model", "refresh", "report_json", "junit_xml", "verbose"}
_PROJECT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def tool_version() -> str:
    """The package version and a digest of the tool's own code: a changed check (a fixed
    bug, a new rule) must not be answered by a verdict the old code gave."""
    try:
        version = importlib.metadata.version("cog-safe-push-prefect")
    except importlib.metadata.PackageNotFoundError:
        version = "source"
    sha = hashlib.sha256()
    for folder in ("tasks", "flows"):
        for path in sorted((_PROJECT / folder).rglob("*.py")):
            sha.update(path.relative_to(_PROJECT).as_posix().encode())
            sha.update(path.read_bytes())
    return f"{version}+{sha.hexdigest()[:16]}"


def verdict_material(
    job: Job, mode: ModeName, content_digest: str, live_version: str | None, build: str = ""
) -> dict[str, Any] | None:
    """Everything that decides a mode's verdict; None when a file an input names cannot be
    read (then nothing is reused or kept)."""
    options = job.options.model_dump(mode="json", exclude=_NOT_CHECKS)
    view = job.mode(mode)
    try:  # a file the config names by path or URL counts by its content
        files = content_keyed(
            [
                [dict(case.inputs) for case in view.test_cases],
                dict(view.fuzz.fixed_inputs),
                [[dict(case.inputs) for case in group] for group in view.trained_predictions],
            ]
        )
    except SafePushError:
        return None
    return {
        "files": files,
        "tool": tool_version(),
        "where": where(job.spec),
        "mode": mode,
        "model": job.model,
        "test_model": job.test_model,
        "content": content_digest,
        "build": build,  # a new cog or Cog runtime builds anew, and is checked anew
        "live": live_version,
        "config": job.config.model_dump(mode="json"),
        "options": options,
        "ai": job.ai_provider,  # the fuzz generator and the AI checks depend on it
    }


def verdict_key(material: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def is_fresh(stored_at: float, now: float, ttl: timedelta = VERDICT_TTL) -> bool:
    return 0 <= now - stored_at <= ttl.total_seconds()


@dataclass(frozen=True)
class Reused:
    """A passing verdict found for this run: its stages, when, and where it was decided."""

    stages: tuple[StageResult, ...]
    stored_at: float
    flow_run_url: str | None

    def line(self) -> str:
        when = datetime.fromtimestamp(self.stored_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        where_ = f" in {self.flow_run_url}" if self.flow_run_url else ""
        return (
            f"reused the passing verdict of {when}{where_}: same code, config, live version "
            "and tool; no prediction run (--refresh checks again)"
        )


def _path(key: str) -> Path:
    return tool_home() / "verdicts" / f"{key}.json"


def recall(key: str, now: float | None = None) -> Reused | None:
    """The passing verdict stored under `key`, if it is fresh; anything unreadable is None."""
    try:
        data = json.loads(_path(key).read_text())
        stored_at = float(data["stored_at"])
        if not is_fresh(stored_at, time.time() if now is None else now):
            return None
        stages = tuple(
            StageResult(
                name=s["name"],
                status=s["status"],
                warnings=tuple(s.get("warnings") or ()),
                detail=s.get("detail"),
            )
            for s in data["stages"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Reused(stages, stored_at, data.get("flow_run_url"))


def remember(key: str, stages: list[StageResult], flow_run_url: str | None) -> None:
    """Keep a passing verdict (best effort: a read-only home only loses the reuse)."""
    kept = [
        {"name": s.name, "status": s.status, "warnings": list(s.warnings), "detail": s.detail}
        for s in stages
    ]
    data = {"stored_at": time.time(), "flow_run_url": flow_run_url, "stages": kept}
    with contextlib.suppress(OSError):
        atomic_write_json(_path(key), data)
