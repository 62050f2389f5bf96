"""Running ruff on a model's file, with the model's ruff configuration or a bugs-only default.

Why not ruff's defaults: ruff's default rule set changes between versions, and newer sets flag
the idiomatic Cog signature `x: Path = Input(...)` (B008), `Optional[...]` (UP045) and import
order (I001). None of those is a bug. Without a configuration of the model's own, the tool asks
for exactly the rules that find bugs.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# Syntax errors (E9) and pyflakes (F): undefined names, unused imports and variables,
# redefinitions, f-strings without placeholders, ...
DEFAULT_SELECT = ("E9", "F")
CONFIG_FILES = (".ruff.toml", "ruff.toml", "pyproject.toml")


@dataclass(frozen=True)
class LintSettings:
    """What decides ruff's verdict besides the file: its version and the configuration."""

    ruff_version: str
    config: Path | None  # the model's ruff configuration, or None for DEFAULT_SELECT
    config_hash: str

    def describe(self) -> str:
        if self.config is None:
            return f"ruff {self.ruff_version}, rules {','.join(DEFAULT_SELECT)}"
        return f"ruff {self.ruff_version}, config {self.config}"


def _has_ruff_section(path: Path) -> bool:
    if path.name != "pyproject.toml":
        return True
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return "ruff" in (data.get("tool") or {})


def find_config(start: Path, cog_dir: Path) -> Path | None:
    """The nearest ruff configuration from `start` (the linted file's folder) upwards, up to
    the repository root (the folder holding .git), or up to `cog_dir` outside a repository."""
    start, cog_dir = start.resolve(), cog_dir.resolve()
    chain = [start, *start.parents]
    root = next((d for d in chain if (d / ".git").exists()), None)
    if root is None:
        root = cog_dir if cog_dir in chain else start
    candidates = chain[: chain.index(root) + 1]
    for folder in candidates:
        for name in CONFIG_FILES:
            path = folder / name
            if path.is_file() and _has_ruff_section(path):
                return path
    return None


def settings_for(path: Path, cog_dir: Path) -> LintSettings:
    """The ruff version and configuration that lint `path`, a file of the Cog directory."""
    config = find_config(path.parent, cog_dir)
    digest = hashlib.sha256(config.read_bytes() if config else repr(DEFAULT_SELECT).encode())
    return LintSettings(metadata.version("ruff"), config, digest.hexdigest())


def command(path: Path, settings: LintSettings) -> list[str]:
    base = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise"]
    if settings.config is not None:
        return [*base, "--config", str(settings.config), str(path)]
    select = ",".join(DEFAULT_SELECT)
    return [*base, "--isolated", "--select", select, str(path)]


def lint_file(path: Path, settings: LintSettings) -> list[str]:
    """Ruff's findings for one file, one line each; empty when clean."""
    if not path.is_file():
        return [f"{path}: file not found"]
    proc = subprocess.run(command(path, settings), capture_output=True, text=True, cwd=path.parent)
    if proc.returncode == 0:
        return []
    prefixes = (f"{path}:", f"{path.name}:")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(prefixes)]
    return lines or [proc.stderr.strip() or f"ruff exited {proc.returncode}"]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
