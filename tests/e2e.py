"""Helpers for end-to-end tests: copy an example model, edit it, run the real CLI in-process."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from flows.cli import main
from tasks.platforms import close_all, resolve_spec
from tasks.platforms.local.registry import LocalRegistry

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".cog", "__pycache__"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def set_config(model_dir: Path, **changes: Any) -> dict[str, Any]:
    """Update cog-safe-push.yaml; nested sections given as dicts replace the whole section."""
    path = model_dir / "cog-safe-push.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return data


def run(model_dir: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    """Run `cog-safe-push` in `model_dir` on the local platform; return (exit code, JSON report)."""
    report_path = model_dir.parent / "report.json"
    report_path.unlink(missing_ok=True)
    cwd = os.getcwd()
    os.chdir(model_dir)
    try:
        code = main(["--platform", "local", "--report-json", str(report_path), *flags])
    finally:
        os.chdir(cwd)
        close_all()
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return code, report


def versions(model: str) -> list[str]:
    """Version ids of a model in the current local registry, oldest first."""
    registry = LocalRegistry(resolve_spec("local").registry or "")
    return [record["id"] for record in registry.list_versions(model)]


def stage(report: dict[str, Any], name: str) -> dict[str, Any]:
    for item in report["stages"]:
        if item["name"] == name:
            return item
    raise AssertionError(f"no stage {name!r} in {[s['name'] for s in report['stages']]}")
