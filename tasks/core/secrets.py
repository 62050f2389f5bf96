"""Our secrets: the one list of their names, and scrubbing their values out of any text.

Secrets come from the environment only; they are never parameters, never logged, never in a
report or an exception. Text that may carry one (a `cog push` log line, an HTTP error body)
passes through `scrub` first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SECRET_NAMES = (
    "REPLICATE_API_TOKEN",
    "ANTHROPIC_API_KEY",
    "COG_TOKEN",
    "PREFECT_API_KEY",
    "PREFECT_API_AUTH_STRING",
)
MASK = "***"


def scrub(text: str, environ: Mapping[str, str] | None = None, extra: tuple[str, ...] = ()) -> str:
    """`text` with the value of every secret replaced by ***."""
    source = os.environ if environ is None else environ
    for value in [*(source.get(name, "") for name in SECRET_NAMES), *extra]:
        value = (value or "").strip()
        if len(value) >= 4:
            text = text.replace(value, MASK)
    return text
