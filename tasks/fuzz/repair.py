"""Repairing payloads: the smallest change that makes the model's schema accept them.

Why: an AI-written payload with `num_steps: 500` or `scheduler: "ddim"` still says
something useful about the model once clamped to 50 and mapped to "DDIM"; re-asking the AI
for every such slip would cost a round trip each. Repair drops nulls, unknown and disabled
keys, coerces and clamps values, fills missing required inputs with their everyday value
and applies fixed inputs; whatever still fails is raised as InvalidPayload.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Iterable
from typing import Any

from tasks.fuzz.schema_view import (
    as_input_schema,
    flatten,
    float_range,
    int_range,
    is_number,
    items_schema,
    properties,
)
from tasks.fuzz.typical import typical_value
from tasks.fuzz.validate import InvalidPayload, short_message, validate_payload


class _Omit:
    """Marks 'leave this input out' in repair and generator schedules (None is a real value)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()


def _to_number(value: Any) -> float | None:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _repair_number(value: Any, flat: dict[str, Any], integer: bool) -> Any:
    number = _to_number(value)
    if number is None or math.isnan(number):
        return value  # nothing sensible to coerce to; validation reports it
    if integer:
        lo, hi = int_range(flat)
        if math.isinf(number):
            number = (hi if number > 0 else lo) if (hi if number > 0 else lo) is not None else 0
        result: float = int(round(number))
    else:
        lo, hi = float_range(flat)
        if math.isinf(number):
            number = (hi if number > 0 else lo) if (hi if number > 0 else lo) is not None else 0.0
        result = number if isinstance(value, float) else value if is_number(value) else number
    if lo is not None and result < lo:
        result = lo
    if hi is not None and result > hi:
        result = hi
    return result


def _repair_enum(value: Any, flat: dict[str, Any], rng: random.Random) -> Any:
    allowed = flat["enum"]
    if any(value == a and type(value) is type(a) for a in allowed):
        return value
    for choice in allowed:  # "DDIM" for "ddim", 7 for "7", 1.0 for 1
        if str(choice).strip().lower() == str(value).strip().lower():
            return choice
        if is_number(choice) and _to_number(value) == choice:
            return choice
    numeric = [a for a in allowed if is_number(a)]
    if numeric and _to_number(value) is not None:
        target = _to_number(value)
        return min(numeric, key=lambda a: abs(a - target))
    default = flat.get("default")
    if default in allowed:
        return default
    return rng.choice(allowed)


def _repair_string(value: Any, flat: dict[str, Any]) -> Any:
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif is_number(value):
        value = str(value)
    if not isinstance(value, str):
        return value
    max_len, min_len = flat.get("maxLength"), flat.get("minLength")
    if isinstance(max_len, int) and len(value) > max_len:
        value = value[:max_len]
    if isinstance(min_len, int) and len(value) < min_len and flat.get("format") != "uri":
        value = value + "x" * (min_len - len(value))
    return value


def _repair_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off"):
        return False
    if is_number(value) and value in (0, 1):
        return bool(value)
    return value


def repair_value(value: Any, prop: dict[str, Any], rng: random.Random) -> Any:
    """Coerce one value towards its property schema; returns OMIT to drop it."""
    if value is None:
        return OMIT
    flat = flatten(prop)
    if flat.get("enum"):
        return _repair_enum(value, flat, rng)
    kind = flat.get("type")
    if kind == "integer":
        return _repair_number(value, flat, integer=True)
    if kind == "number":
        return _repair_number(value, flat, integer=False)
    if kind == "boolean":
        return _repair_bool(value)
    if kind == "string":
        return _repair_string(value, flat)
    if kind == "array":
        items = items_schema(flat)
        values = value if isinstance(value, list) else [value]
        repaired = [repair_value(v, items, rng) for v in values]
        repaired = [v for v in repaired if v is not OMIT]
        max_items = flat.get("maxItems")
        if isinstance(max_items, int):
            repaired = repaired[:max_items]
        return repaired
    return value


def repair_with_notes(
    payload: Any,
    input_schema: dict[str, Any],
    *,
    fixed: dict[str, Any] | None = None,
    disabled: Iterable[str] = (),
    rng: random.Random | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Like `repair_payload`, also saying what was changed (empty list: nothing was)."""
    rng = rng or random.Random(0)
    schema = as_input_schema(input_schema)
    props = properties(schema)
    fixed = dict(fixed or {})
    disabled = set(disabled)
    notes: list[str] = []
    if not isinstance(payload, dict):
        raise InvalidPayload([f"expected a JSON object, got {type(payload).__name__}"])
    result: dict[str, Any] = {}
    for key, value in payload.items():
        if key in disabled:
            notes.append(f"{key}: removed (disabled input)")
        elif key not in props:
            notes.append(f"{key}: dropped (not an input of this model)")
        elif value is None:
            notes.append(f"{key}: dropped (null)")
        else:
            fixed_value = repair_value(value, props[key], rng)
            if fixed_value is OMIT:
                notes.append(f"{key}: dropped")
            else:
                if fixed_value != value or type(fixed_value) is not type(value):
                    notes.append(
                        f"{key}: {short_message(repr(value))} -> {short_message(repr(fixed_value))}"
                    )
                result[key] = fixed_value
    for key in schema.get("required") or []:
        if key not in result and key not in disabled and key not in fixed and key in props:
            result[key] = typical_value(key, props[key], rng)
            notes.append(f"{key}: filled in (required)")
    for key, value in fixed.items():
        if key not in disabled:
            if result.get(key, OMIT) != value:
                notes.append(f"{key}: set to its fixed value")
            result[key] = copy.deepcopy(value)
    errors = validate_payload(result, schema)
    if errors:
        raise InvalidPayload(errors, result)
    return result, notes


def repair_payload(
    payload: dict[str, Any],
    input_schema: dict[str, Any],
    *,
    fixed: dict[str, Any],
    disabled: list[str],
    rng: random.Random,
) -> dict[str, Any]:
    """A payload the model's schema accepts, changed as little as possible.

    Drops nulls, unknown and disabled keys; clamps numbers into bounds (integers rounded);
    maps unknown enum values to the closest/default choice; fills missing required inputs;
    applies fixed inputs last. Raises InvalidPayload listing whatever still fails.
    """
    return repair_with_notes(payload, input_schema, fixed=fixed, disabled=disabled, rng=rng)[0]
