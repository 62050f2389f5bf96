"""Loading YAML the user gave us (cog-safe-push.yaml, cog.yaml) without letting it crash us.

Every way a file can be unreadable becomes a UsageError naming the file and the problem: not
UTF-8, malformed, nested too deeply, too large, or an "alias bomb" (anchors that refer to each
other, tiny on disk but exponential once expanded). PyYAML shares aliased nodes, so loading
such a file is cheap; it is everything after (validation, JSON, flow parameters) that would
expand it. The expanded size is therefore measured, sharing-aware, before anyone walks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tasks.core.errors import UsageError

MAX_BYTES = 1_000_000
MAX_EXPANDED_NODES = 200_000


def _expanded_size(value: Any, memo: dict[int, int], limit: int) -> int:
    """Nodes the value holds once every alias is copied out (capped just above `limit`)."""
    if not isinstance(value, dict | list):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a cycle counts as too large
    children = value.values() if isinstance(value, dict) else value
    total = 1
    for child in children:
        total += _expanded_size(child, memo, limit)
        if total > limit:
            break
    memo[key] = min(total, limit + 1)
    return memo[key]


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; UsageError (one line naming `source`) for anything unusable."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise UsageError(f"{source}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise UsageError(f"{source}: YAML nested too deeply to be a configuration") from None
    try:
        size = _expanded_size(data, {}, MAX_EXPANDED_NODES)
    except RecursionError:
        raise UsageError(f"{source}: YAML nested too deeply to be a configuration") from None
    if size > MAX_EXPANDED_NODES:
        raise UsageError(
            f"{source}: YAML expands to more than {MAX_EXPANDED_NODES:,} values "
            "(anchors and aliases that multiply); write it out plainly"
        )
    return data


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file; UsageError for a missing, huge, binary or broken file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a YAML file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise UsageError(f"{path} is {len(raw):,} bytes; a configuration is at most {MAX_BYTES:,}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    return parse_yaml(text, str(path))
