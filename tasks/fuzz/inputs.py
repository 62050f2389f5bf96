"""Fuzz inputs: validation, repair and the offline (schema-driven) generator.

Pure logic, no I/O beyond reading the bundled sample media. Every payload the fuzz stage
sends, whether the AI wrote it or this module did, passes `validate_payload` first: a
payload the model's own schema rejects only tests the platform's validator, not the model.

Cog's input schemas are OpenAPI 3 flavoured JSON Schema: `nullable`, boolean exclusive
bounds, enums hidden in `allOf`, `format: uri` for files, `x-order`. They are normalised to
Draft 7 before `jsonschema` sees them.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from collections.abc import Iterable
from typing import Any

import jsonschema

from tasks.core import openapi
from tasks.core.errors import SafePushError
from tasks.fuzz import sample_media

LONG_TEXT_CHARS = 1000  # "long" strings when the schema sets no maxLength
_MAX_MESSAGE = 240


class InvalidPayload(SafePushError, ValueError):
    """A payload that still breaks the input schema after repair.

    A ValueError too, so `AI.ask_json(check=...)` treats it as a reason to re-ask.
    """

    exit_code = 1

    def __init__(self, errors: list[str], payload: dict[str, Any] | None = None) -> None:
        self.errors = list(errors)
        self.payload = payload
        super().__init__("payload does not match the input schema: " + "; ".join(self.errors))


class _Omit:
    """Marks 'leave this input out' in generator schedules (None is a real JSON value)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()

# --------------------------------------------------------------------------------------
# Schema helpers
# --------------------------------------------------------------------------------------


def as_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Accept either the Input object schema or a whole OpenAPI document."""
    if openapi.looks_like_openapi(schema):
        return openapi.input_schema(schema)
    return schema


def properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Input properties in the order Cog shows them (x-order, then name)."""
    props = schema.get("properties") or {}
    order = sorted(
        props,
        key=lambda k: (
            props[k].get("x-order", math.inf) if isinstance(props[k], dict) else math.inf,
            k,
        ),
    )
    return {k: props[k] if isinstance(props[k], dict) else {} for k in order}


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
        first = flat["enum"][0]
        flat["type"] = (
            "boolean"
            if isinstance(first, bool)
            else "integer"
            if isinstance(first, int)
            else "number"
            if isinstance(first, float)
            else "string"
        )
    return flat


def is_file_input(prop: dict[str, Any]) -> bool:
    flat = flatten(prop)
    if flat.get("format") == "uri":
        return True
    items = flat.get("items")
    return (
        flat.get("type") == "array"
        and isinstance(items, dict)
        and flatten(items).get("format") == "uri"
    )


def _bounds(flat: dict[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low_exclusive, high, high_exclusive) in either OpenAPI 3.0 or JSON Schema style."""
    low, high = flat.get("minimum"), flat.get("maximum")
    low_ex = high_ex = False
    ex_min, ex_max = flat.get("exclusiveMinimum"), flat.get("exclusiveMaximum")
    if ex_min is True:
        low_ex = low is not None
    elif _is_number(ex_min) and (low is None or ex_min >= low):
        low, low_ex = ex_min, True
    if ex_max is True:
        high_ex = high is not None
    elif _is_number(ex_max) and (high is None or ex_max <= high):
        high, high_ex = ex_max, True
    return low, low_ex, high, high_ex


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_range(flat: dict[str, Any]) -> tuple[int | None, int | None]:
    low, low_ex, high, high_ex = _bounds(flat)
    lo = None if low is None else (math.floor(low) + 1 if low_ex else math.ceil(low))
    hi = None if high is None else (math.ceil(high) - 1 if high_ex else math.floor(high))
    return lo, hi


def _float_range(flat: dict[str, Any]) -> tuple[float | None, float | None]:
    """Inclusive float range; an exclusive bound moves inwards by 0.1% of the range.

    (math.nextafter would be the tightest bound, but 5e-324 for "> 0" is not a value any
    user sends, and it reads as a bug in a report.)
    """
    low, low_ex, high, high_ex = _bounds(flat)
    if low is not None and high is not None:
        nudge = (float(high) - float(low)) / 1000
    else:
        edge = low if low is not None else high
        nudge = 0.001 * max(1.0, abs(float(edge))) if edge is not None else 0.0
    lo = None if low is None else float(low)
    hi = None if high is None else float(high)
    if lo is not None and low_ex:
        lo = _round_sig(lo + nudge)
        lo = lo if lo > low else math.nextafter(float(low), math.inf)
    if hi is not None and high_ex:
        hi = _round_sig(hi - nudge)
        hi = hi if hi < high else math.nextafter(float(high), -math.inf)
    return lo, hi


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S")
_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("uri", raises=())
def _check_uri(value: Any) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> Draft 7: nullable, boolean exclusive bounds, leftover $refs."""
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # a recursive reference dereference() left in place: accept anything
        return {}
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-")}
    for bound, flag in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        # OpenAPI 3.0 `exclusiveMinimum: true` qualifies `minimum`; `false` means nothing.
        if isinstance(out.get(flag), bool) and out.pop(flag) and bound in out:
            out[flag] = out.pop(bound)
    if out.pop("nullable", False):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "type" not in out and "enum" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _short(text: str) -> str:
    text = re.sub(r"data:[\w.+/-]+;base64,[A-Za-z0-9+/=]{16,}", "data:...", text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def validate_payload(payload: Any, input_schema: dict[str, Any]) -> list[str]:
    """Every way `payload` breaks the input schema, as short readable messages ([] = valid)."""
    schema = to_json_schema(as_input_schema(input_schema))
    validator = jsonschema.Draft7Validator(schema, format_checker=_FORMATS)
    messages = []
    for error in sorted(
        validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))
    ):
        where = ".".join(str(p) for p in error.absolute_path)
        messages.append(_short(f"{where}: {error.message}" if where else error.message))
    return messages


# --------------------------------------------------------------------------------------
# Repair
# --------------------------------------------------------------------------------------


def _to_number(value: Any) -> float | None:
    if _is_number(value):
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
        lo, hi = _int_range(flat)
        if math.isinf(number):
            number = (hi if number > 0 else lo) if (hi if number > 0 else lo) is not None else 0
        result: float = int(round(number))
    else:
        lo, hi = _float_range(flat)
        if math.isinf(number):
            number = (hi if number > 0 else lo) if (hi if number > 0 else lo) is not None else 0.0
        result = number if isinstance(value, float) else value if _is_number(value) else number
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
        if _is_number(choice) and _to_number(value) == choice:
            return choice
    numeric = [a for a in allowed if _is_number(a)]
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
    elif _is_number(value):
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
    if _is_number(value) and value in (0, 1):
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
        items = flat.get("items") if isinstance(flat.get("items"), dict) else {}
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
                    notes.append(f"{key}: {_short(repr(value))} -> {_short(repr(fixed_value))}")
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


# --------------------------------------------------------------------------------------
# Offline generator
# --------------------------------------------------------------------------------------

PROMPTS = (
    "A photo of a red fox sitting in a snowy forest at sunrise",
    "An astronaut riding a horse on the moon, digital art",
    "a bowl of ramen on a wooden table, studio lighting, 35mm",
    "Watercolor painting of a lighthouse on a cliff during a storm",
    "A cozy reading nook with a cat sleeping on a pile of books",
    "Write a haiku about autumn leaves.",
    "Summarise the plot of Hamlet in two sentences.",
    "Explain how a rainbow forms to a ten-year-old.",
    "isometric illustration of a tiny city built on a floating island",
    "Portrait of an elderly fisherman, dramatic side light, black and white",
    "Translate 'good morning, how are you?' into French.",
    "A minimalist logo of a mountain and the sun, flat vector",
)
QUESTIONS = (
    "What is in this image?",
    "How many people are in the picture?",
    "What is the capital of Australia?",
    "Why is the sky blue?",
    "What colour is the car on the left?",
    "Can you describe the mood of this scene in one sentence?",
)
NEGATIVE_PROMPTS = (
    "blurry, low quality, distorted",
    "watermark, text, signature",
    "extra fingers, deformed hands, bad anatomy",
    "oversaturated, overexposed",
)
SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a concise assistant. Answer in one sentence.",
    "You are a friendly tutor who explains things step by step.",
)
WORDS = ("hello", "test", "The quick brown fox jumps over the lazy dog.", "sample input", "42")

_TEXT_WORDS = {
    "prompt", "text", "caption", "question", "query", "instruction", "instructions", "message",
    "input", "description", "lyrics", "content", "sentence", "story", "context", "transcript",
    "title", "prefix", "utterance", "script",
}  # fmt: skip


def _name_tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", name.lower()) if t}


def text_pool(name: str) -> tuple[str, ...]:
    """Realistic strings for a free-text input, chosen by its name."""
    tokens = _name_tokens(name)
    if "negative" in tokens:
        return NEGATIVE_PROMPTS
    if "system" in tokens:
        return SYSTEM_PROMPTS
    if tokens & {"question", "query"}:
        return QUESTIONS
    if tokens & _TEXT_WORDS:
        return PROMPTS
    return WORDS


def _long_text(name: str, length: int) -> str:
    pool = text_pool(name)
    text = " ".join(pool)
    while len(text) < length:
        text = f"{text} {text}"
    text = text[:length]
    return text[:-1] + "." if text.endswith(" ") else text


def _fits_pattern(flat: dict[str, Any], text: str) -> bool:
    pattern = flat.get("pattern")
    if not isinstance(pattern, str):
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _media_value(name: str, prop: dict[str, Any], rng: random.Random) -> str:
    flat = flatten(prop)
    kind = sample_media.kind_for_input(name, flat)
    sample = sample_media.pick(kind, rng, allow_svg=sample_media.accepts_svg(name, flat))
    return sample_media.as_input_value(sample)


def _midpoint(lo: float | None, hi: float | None, default: Any, integer: bool) -> float:
    """The default when it is in range, else the middle, else 1 pulled into range."""
    if _is_number(default) and (lo is None or default >= lo) and (hi is None or default <= hi):
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
        lo, hi = _int_range(flat) if integer else _float_range(flat)
        return _midpoint(lo, hi, None, integer)
    if kind == "boolean":
        return False
    if kind == "string":
        if flat.get("format") == "uri":
            return _media_value(name, flat, rng)
        if flat.get("format") == "password":
            return "fuzz-secret-value"
        text = text_pool(name)[0]
        return _repair_string(text, flat)
    if kind == "array":
        items = flat.get("items") if isinstance(flat.get("items"), dict) else {}
        count = max(1, int(flat.get("minItems") or 1))
        return [typical_value(name, items, rng) for _ in range(count)]
    if kind == "object":
        return {}
    return ""


def _number_specials(flat: dict[str, Any], integer: bool, name: str) -> list[Any]:
    lo, hi = _int_range(flat) if integer else _float_range(flat)
    values: list[Any] = []
    if lo is not None:
        values.append(lo)
    if hi is not None:
        values.append(hi)
    if lo is not None and hi is not None and hi > lo:
        if integer:
            inside = [lo + 1, hi - 1] if hi - lo >= 2 else []
        else:
            step = (hi - lo) / 100
            inside = [_round_sig(lo + step), _round_sig(hi - step)]
            inside = [min(max(v, lo), hi) for v in inside]
        values.extend(inside)
    elif lo is not None:
        values.append(lo + 1 if integer else _round_sig(lo + 0.01 * max(1.0, abs(lo))))
    elif hi is not None:
        values.append(hi - 1 if integer else _round_sig(hi - 0.01 * max(1.0, abs(hi))))
    return values


def _round_sig(value: float, digits: int = 6) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(0, digits - int(math.floor(math.log10(abs(value)))) - 1))


def _ordinary_number(name: str, flat: dict[str, Any], integer: bool, rng: random.Random) -> Any:
    lo, hi = _int_range(flat) if integer else _float_range(flat)
    if "seed" in _name_tokens(name) and lo is None and hi is None:
        return rng.randint(0, 2**31 - 1) if integer else float(rng.randint(0, 2**31 - 1))
    if lo is None or hi is None:
        centre = _midpoint(lo, hi, flat.get("default"), integer)
        spread = max(abs(centre), 10 if integer else 1.0)
        lo = lo if lo is not None else (centre - spread if centre < 0 else max(0, centre - spread))
        hi = hi if hi is not None else centre + spread
        if hi < lo:
            hi = lo
    if integer:
        return rng.randint(int(lo), int(hi))
    return _round_sig(rng.uniform(lo, hi), 4) if hi > lo else lo


def _string_specials(name: str, flat: dict[str, Any]) -> list[Any]:
    min_len = int(flat.get("minLength") or 0)
    max_len = flat.get("maxLength")
    long_len = min(max_len, LONG_TEXT_CHARS) if isinstance(max_len, int) else LONG_TEXT_CHARS
    values: list[Any] = []
    if min_len == 0:
        values.append("")
    if long_len > max(min_len, 80):
        values.append(_long_text(name, long_len))
    return [v for v in values if _fits_pattern(flat, v)]


def _ordinary_string(name: str, flat: dict[str, Any], rng: random.Random) -> Any:
    pool = [p for p in text_pool(name) if _fits_pattern(flat, p)]
    default = flat.get("default")
    if not pool:
        return default if isinstance(default, str) else OMIT
    return _repair_string(rng.choice(pool), flat)


def specials(name: str, prop: dict[str, Any], required: bool) -> list[Any]:
    """Values each run should try at least once: bounds, enum choices, edge strings, media."""
    flat = flatten(prop)
    values: list[Any] = []
    default = flat.get("default")
    if default is not None:
        values.append(default)
    kind = flat.get("type")
    if flat.get("enum"):
        values.extend(flat["enum"])
    elif kind in ("integer", "number"):
        values.extend(_number_specials(flat, kind == "integer", name))
    elif kind == "boolean":
        values.extend([True, False])
    elif kind == "string" and flat.get("format") == "uri":
        kind_name = sample_media.kind_for_input(name, flat)
        allow_svg = sample_media.accepts_svg(name, flat)
        values.extend(
            sample_media.as_input_value(s) for s in sample_media.candidates(kind_name, allow_svg)
        )
    elif kind == "string" and flat.get("format") != "password":
        values.extend(_string_specials(name, flat))
    elif kind == "array":
        items = flat.get("items") if isinstance(flat.get("items"), dict) else {}
        max_items = flat.get("maxItems")
        many = 3 if not isinstance(max_items, int) else max(1, min(3, max_items))
        values.append([typical_value(name, items, random.Random(1))])
        if many > 1:
            values.append([typical_value(name, items, random.Random(i)) for i in range(many)])
    if not required:
        values.append(OMIT)
    unique: list[Any] = []
    for value in values:
        if not any(value is u or (value == u and type(value) is type(u)) for u in unique):
            unique.append(value)
    return unique


def ordinary_value(name: str, prop: dict[str, Any], rng: random.Random) -> Any:
    """A random everyday value for one input."""
    flat = flatten(prop)
    kind = flat.get("type")
    if flat.get("enum"):
        return rng.choice(flat["enum"])
    if kind in ("integer", "number"):
        return _ordinary_number(name, flat, kind == "integer", rng)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string" and flat.get("format") == "uri":
        return _media_value(name, flat, rng)
    if kind == "string" and flat.get("format") != "password":
        return _ordinary_string(name, flat, rng)
    if kind == "array":
        items = flat.get("items") if isinstance(flat.get("items"), dict) else {}
        low = max(1, int(flat.get("minItems") or 1))
        max_items = flat.get("maxItems")
        high = max(low, min(3, max_items) if isinstance(max_items, int) else 3)
        return [ordinary_value(name, items, rng) for _ in range(rng.randint(low, high))]
    return typical_value(name, prop, rng)


def _needs_value(flat: dict[str, Any]) -> bool:
    """Inputs we can meaningfully vary; secrets and free-form objects keep their default."""
    return flat.get("format") != "password" and flat.get("type") in (
        "integer",
        "number",
        "boolean",
        "string",
        "array",
    )


def _column(
    name: str, prop: dict[str, Any], required: bool, n: int, rng: random.Random
) -> list[Any]:
    """The values one input takes across the run.

    Slot 0 is the everyday payload (defaults), so the first prediction is a smoke test.
    Special values land in random other slots (all of them when the run is long enough);
    the remaining slots get ordinary random values, optional inputs left out now and then.
    """
    flat = flatten(prop)
    first = typical_value(name, prop, rng) if required or flat.get("default") is not None else OMIT
    if not _needs_value(flat):
        return [first if required else OMIT] * n
    column: list[Any] = [first]
    rest = n - 1
    if rest <= 0:
        return column[:n]
    wanted = [v for v in specials(name, prop, required) if not (v is first or v == first)]
    rng.shuffle(wanted)
    wanted = wanted[:rest]
    slots: list[Any] = [None] * rest
    placed = set(rng.sample(range(rest), len(wanted)))
    values = iter(wanted)
    for index in range(rest):
        if index in placed:
            slots[index] = next(values)
        elif not required and rng.random() < 0.2:
            slots[index] = OMIT
        else:
            slots[index] = ordinary_value(name, prop, rng)
    return column + slots


def generate_schema_inputs(
    input_schema: dict[str, Any],
    n: int,
    *,
    fixed: dict[str, Any] | None = None,
    disabled: Iterable[str] = (),
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """`n` valid payloads that sweep the schema: bounds, enums, defaults, edge strings, media.

    The same seed gives the identical list; no seed means a fresh random one.
    """
    if n <= 0:
        return []
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    schema = as_input_schema(input_schema)
    fixed = dict(fixed or {})
    disabled = list(disabled)
    required = set(schema.get("required") or [])
    columns: dict[str, list[Any]] = {}
    for name, prop in properties(schema).items():
        if name in disabled or name in fixed:
            continue
        columns[name] = _column(name, prop, name in required, n, rng)
    payloads = []
    for index in range(n):
        raw = {k: v[index] for k, v in columns.items() if v[index] is not OMIT}
        payloads.append(
            repair_payload(copy.deepcopy(raw), schema, fixed=fixed, disabled=disabled, rng=rng)
        )
    return payloads


def payload_key(payload: dict[str, Any]) -> str:
    """A stable identity for a payload (for de-duplication and cache keys)."""
    return json.dumps(payload, sort_keys=True, default=str)
