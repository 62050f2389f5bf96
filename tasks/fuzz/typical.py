"""The everyday value of one input: what a user sends when they change nothing.

Why its own module: two callers need the same answer. The generator's first payload is a
smoke test built from it, and repair fills a missing required input with it. The default
wins; otherwise the middle of the range, the first realistic text, a bundled sample file,
a dict with content. Never "" for a string and never {} for a dict that may hold keys.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from tasks.fuzz import sample_media
from tasks.fuzz.objects import object_value
from tasks.fuzz.schema_view import flatten, is_file_input, is_number, items_schema, number_range
from tasks.fuzz.text import fit_length, fitting_texts, text_pool

SECRET_VALUE = "fuzz-secret-value"


def midpoint(lo: float | None, hi: float | None, default: Any, integer: bool) -> float:
    """The default when it is in range, else the middle, else 1 pulled into range."""
    if is_number(default) and (lo is None or default >= lo) and (hi is None or default <= hi):
        return default
    if lo is not None and hi is not None:
        mid = (lo + hi) / 2
    else:
        mid = 1
        if lo is not None:
            mid = max(lo, mid)
        if hi is not None:
            mid = min(hi, mid)
    return int(round(mid)) if integer else float(mid)


def typical_text(name: str, flat: dict[str, Any], rng: random.Random) -> str:
    """The first realistic text the input accepts (the pool's first, fitted, as a last resort)."""
    found = fitting_texts(name, flat, rng)
    if found:
        return found[0]
    pool = text_pool(name)
    return fit_length(pool[0], flat, pool)


def typical_value(name: str, prop: dict[str, Any], rng: random.Random) -> Any:
    """A value a user would plausibly send: the default, else something safe and ordinary."""
    flat = flatten(prop)
    default = flat.get("default")
    if default is not None:
        return copy.deepcopy(default)
    if flat.get("enum"):
        return flat["enum"][0]
    kind = flat.get("type")
    if kind in ("integer", "number"):
        integer = kind == "integer"
        lo, hi = number_range(flat, integer)
        return midpoint(lo, hi, None, integer)
    if kind == "boolean":
        return False
    if kind == "string" and flat.get("format") == "uri":
        return sample_media.for_input(name, flat, rng)
    if kind == "string" and flat.get("format") == "password":
        return SECRET_VALUE
    if kind == "array":
        count = max(1, int(flat.get("minItems") or 1))
        if is_file_input(flat):  # chosen by the list's own words: `images` is no archive here
            return [sample_media.for_input(name, flat, rng) for _ in range(count)]
        return [typical_value(name, items_schema(flat), rng) for _ in range(count)]
    if kind == "object":
        return object_value(name, flat, rng, typical_value, everyday=True)
    return typical_text(name, flat, rng)  # strings, and inputs that declare no type
