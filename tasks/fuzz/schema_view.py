"""Reading Cog input schemas: one flat view per property, its order, bounds and kind.

Cog's input schemas are OpenAPI 3 flavoured JSON Schema: `nullable`, boolean exclusive
bounds, enums hidden in `allOf`, Optional as `anyOf [T, null]`, `format: uri` for files,
`x-order`. Generation and repair want plain answers ("which numbers are allowed?"), so
this module turns each property into one flat dict and its bounds into inclusive ranges.
Validation does not use this view; it checks the full schema (see validate.py).
"""

from __future__ import annotations

import math
import re
from typing import Any

from tasks.core import openapi


def as_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Accept either the Input object schema or a whole OpenAPI document."""
    if openapi.looks_like_openapi(schema):
        return openapi.input_schema(schema)
    return schema


def properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Input properties in the order Cog shows them (x-order, then name)."""
    props = schema.get("properties") or {}
    if not isinstance(props, dict):
        return {}
    order = sorted(
        props,
        key=lambda k: (
            props[k].get("x-order", math.inf) if isinstance(props[k], dict) else math.inf,
            k,
        ),
    )
    return {k: props[k] if isinstance(props[k], dict) else {} for k in order}


def _enum_type(first: Any) -> str:
    if isinstance(first, bool):
        return "boolean"
    if isinstance(first, int):
        return "integer"
    if isinstance(first, float):
        return "number"
    return "string"


def flatten(prop: dict[str, Any]) -> dict[str, Any]:
    """One flat view of a property: allOf merged, Optional's anyOf/type-list unwrapped.

    Adds "nullable": True when null is allowed. Used to decide how to generate and repair;
    validation still uses the full schema.
    """
    flat = {k: v for k, v in prop.items() if k not in ("allOf", "anyOf", "oneOf")}
    for sub in prop.get("allOf") or []:
        if isinstance(sub, dict):
            for key, value in flatten(sub).items():
                flat.setdefault(key, value)
    for key in ("anyOf", "oneOf"):
        subs = [s for s in prop.get(key) or [] if isinstance(s, dict)]
        non_null = [s for s in subs if s.get("type") != "null"]
        if len(non_null) < len(subs):
            flat["nullable"] = True
        if non_null:
            for sub_key, value in flatten(non_null[0]).items():
                flat.setdefault(sub_key, value)
    kind = flat.get("type")
    if isinstance(kind, list):
        if "null" in kind:
            flat["nullable"] = True
        others = [t for t in kind if t != "null"]
        flat["type"] = others[0] if others else None
    enum = openapi.enum_values(prop)
    if enum is not None:
        flat["enum"] = [v for v in enum if v is not None]
    if "type" not in flat and flat.get("enum"):
        flat["type"] = _enum_type(flat["enum"][0])
    if "type" not in flat and (isinstance(flat.get("properties"), dict)):
        flat["type"] = "object"
    return flat


def items_schema(flat: dict[str, Any]) -> dict[str, Any]:
    """The schema of an array's items ({} when the array says nothing about them)."""
    items = flat.get("items")
    return items if isinstance(items, dict) else {}


def is_file_input(prop: dict[str, Any]) -> bool:
    """A file input (`format: uri`) or a list of them."""
    flat = flatten(prop)
    if flat.get("format") == "uri":
        return True
    return flat.get("type") == "array" and flatten(items_schema(flat)).get("format") == "uri"


def name_tokens(name: str) -> set[str]:
    """The words in an input's name: 'negative_prompt' -> {'negative', 'prompt'}."""
    return {t for t in re.split(r"[^a-z0-9]+", name.lower()) if t}


def is_number(value: Any) -> bool:
    """An int or float that is not a bool (JSON Schema keeps them apart)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def bounds(flat: dict[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low_exclusive, high, high_exclusive) in either OpenAPI 3.0 or JSON Schema style."""
    low, high = flat.get("minimum"), flat.get("maximum")
    low_ex = high_ex = False
    ex_min, ex_max = flat.get("exclusiveMinimum"), flat.get("exclusiveMaximum")
    if ex_min is True:
        low_ex = low is not None
    elif is_number(ex_min) and (low is None or ex_min >= low):
        low, low_ex = ex_min, True
    if ex_max is True:
        high_ex = high is not None
    elif is_number(ex_max) and (high is None or ex_max <= high):
        high, high_ex = ex_max, True
    return low, low_ex, high, high_ex


def int_range(flat: dict[str, Any]) -> tuple[int | None, int | None]:
    """Inclusive integer range (None = unbounded on that side)."""
    low, low_ex, high, high_ex = bounds(flat)
    lo = None if low is None else (math.floor(low) + 1 if low_ex else math.ceil(low))
    hi = None if high is None else (math.ceil(high) - 1 if high_ex else math.floor(high))
    return lo, hi


def float_range(flat: dict[str, Any]) -> tuple[float | None, float | None]:
    """Inclusive float range; an exclusive bound moves inwards by 0.1% of the range.

    (math.nextafter would be the tightest bound, but 5e-324 for "> 0" is not a value any
    user sends, and it reads as a bug in a report.)
    """
    low, low_ex, high, high_ex = bounds(flat)
    if low is not None and high is not None:
        nudge = (float(high) - float(low)) / 1000
    else:
        edge = low if low is not None else high
        nudge = 0.001 * max(1.0, abs(float(edge))) if edge is not None else 0.0
    lo = None if low is None else float(low)
    hi = None if high is None else float(high)
    if lo is not None and low_ex:
        lo = round_sig(lo + nudge)
        lo = lo if lo > low else math.nextafter(float(low), math.inf)
    if hi is not None and high_ex:
        hi = round_sig(hi - nudge)
        hi = hi if hi < high else math.nextafter(float(high), -math.inf)
    return lo, hi


def number_range(flat: dict[str, Any], integer: bool) -> tuple[float | None, float | None]:
    """`int_range` or `float_range`, whichever the property's type asks for."""
    return int_range(flat) if integer else float_range(flat)


def round_sig(value: float, digits: int = 6) -> float:
    """`value` to `digits` significant digits: 0.30000000000000004 reads as 0.3 in reports."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(0, digits - int(math.floor(math.log10(abs(value)))) - 1))
