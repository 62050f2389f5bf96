"""Edge values of one input: bounds, long text, empty optional values, the longest list.

Why a list of its own: edges find real bugs (an off-by-one at `maximum`, a prompt that
overflows a context window), but a run made mostly of edges judges the model on inputs
its users rarely send. The generator puts these into a minority of payloads. An edge is
only offered where it is a meaningful request: "" , [] and {} only for optional inputs.
"""

from __future__ import annotations

import random
from typing import Any

from tasks.fuzz.schema_view import flatten, items_schema, number_range
from tasks.fuzz.text import LONG_TEXT_CHARS, fits_pattern, long_text
from tasks.fuzz.typical import typical_value

LONG_LIST = 5  # the longest list tried (further capped by maxItems)
_ORDINARY_LIST = 3  # lists up to this long are everyday, not edges


def _number_edges(flat: dict[str, Any], integer: bool) -> list[Any]:
    lo, hi = number_range(flat, integer)
    return [bound for bound in (lo, hi) if bound is not None]


def _string_edges(name: str, flat: dict[str, Any], required: bool) -> list[Any]:
    min_len = int(flat.get("minLength") or 0)
    max_len = flat.get("maxLength")
    long_len = min(max_len, LONG_TEXT_CHARS) if isinstance(max_len, int) else LONG_TEXT_CHARS
    values: list[Any] = []
    if not required and min_len == 0:
        values.append("")
    if long_len > max(min_len, 80):
        values.append(long_text(name, long_len))
    return [v for v in values if fits_pattern(flat, v)]


def long_list(name: str, flat: dict[str, Any]) -> list[Any] | None:
    """The longest list worth trying (LONG_LIST, capped by maxItems), or None when that is
    no longer than an everyday list."""
    max_items = flat.get("maxItems")
    longest = min(LONG_LIST, max_items) if isinstance(max_items, int) else LONG_LIST
    if longest <= _ORDINARY_LIST:
        return None
    items = items_schema(flat)
    # A fixed generator per item: the edge is the same list on every run.
    return [typical_value(name, items, random.Random(i)) for i in range(longest)]


def _list_edges(name: str, flat: dict[str, Any], required: bool) -> list[Any]:
    values: list[Any] = []
    if not required and int(flat.get("minItems") or 0) == 0:
        values.append([])
    longest = long_list(name, flat)
    if longest is not None:
        values.append(longest)
    return values


def _object_edges(flat: dict[str, Any], required: bool) -> list[Any]:
    empty_allowed = not flat.get("required") and int(flat.get("minProperties") or 0) == 0
    return [{}] if empty_allowed and not required else []


def edge_values(name: str, prop: dict[str, Any], required: bool) -> list[Any]:
    """The edges worth trying for this input (none for choices, booleans, files, secrets)."""
    flat = flatten(prop)
    kind = flat.get("type")
    if flat.get("enum") or flat.get("format") in ("uri", "password"):
        return []
    if kind in ("integer", "number"):
        return _number_edges(flat, kind == "integer")
    if kind == "string":
        return _string_edges(name, flat, required)
    if kind == "array":
        return _list_edges(name, flat, required)
    if kind == "object":
        return _object_edges(flat, required)
    return []
