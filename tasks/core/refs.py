"""Model names, `owner/name`: the one rule for what a name may be.

Checked in full (no trailing newline can slip through a `$` anchor) and bounded in length, so
a name never becomes a path outside the registry, a second line in a log, or a file name the
system refuses halfway through a run.
"""

from __future__ import annotations

import re

from tasks.core.errors import UsageError

MAX_PART = 100  # Replicate's own limit for owner and model names is well below this
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def split_ref(ref: object, label: str = "model") -> tuple[str, str]:
    """'owner/name' -> (owner, name); UsageError for anything that is not a safe name."""
    if not isinstance(ref, str):
        raise UsageError(f"{label} must be in the format <owner>/<name>, got {ref!r}")
    parts = ref.split("/")
    if len(parts) != 2 or not all(_PART.fullmatch(p) and p not in {".", ".."} for p in parts):
        raise UsageError(f"{label} must be in the format <owner>/<name>, got {ref!r}")
    if any(len(p) > MAX_PART for p in parts):
        raise UsageError(
            f"{label} {ref[:60]!r}...: owner and name are at most {MAX_PART} characters"
        )
    return parts[0], parts[1]


def check_ref(ref: object, label: str = "model") -> str:
    split_ref(ref, label)
    return str(ref)
