"""Everyday random values for one input, spread over what the input accepts.

Why: most fuzz payloads should look like real use, so a failure means the model breaks
on normal input. Numbers come from inside the range (the default now and then, otherwise
spread evenly from low to high, bounds left to the edge payloads); every enum choice,
boolean and bundled sample turns up before any repeats; text comes from realistic pools;
lists hold one to three items; dicts get content.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from tasks.fuzz import sample_media
from tasks.fuzz.objects import object_value
from tasks.fuzz.schema_view import (
    flatten,
    is_file_input,
    is_number,
    items_schema,
    name_tokens,
    number_range,
    round_sig,
)
from tasks.fuzz.text import fitting_texts
from tasks.fuzz.typical import midpoint, typical_value

SEED_MAX = 2**31 - 1
DEFAULT_SHARE = 0.2  # how often an ordinary slot repeats the input's default
_MAX_LIST = 3


def inner_range(name: str, flat: dict[str, Any], integer: bool) -> tuple[float, float] | None:
    """The range ordinary values come from: strictly inside the bounds where there is room.

    Unbounded sides reach as far from the default (or 1) again, and stay at or above 0
    when the default does. None for a seed without bounds (any 31-bit number will do).
    """
    lo, hi = number_range(flat, integer)
    if lo is None and hi is None and "seed" in name_tokens(name):
        return None
    if lo is None or hi is None:
        centre = midpoint(lo, hi, flat.get("default"), integer)
        spread = max(abs(centre), 10 if integer else 1.0)
        low_end = centre - spread if centre < 0 else max(min(centre, 1), centre - spread)
        lo = lo if lo is not None else low_end
        hi = hi if hi is not None else centre + spread
        hi = max(hi, lo)
    elif integer and hi - lo >= 2:
        lo, hi = lo + 1, hi - 1
    return lo, hi


def _number_at(lo: float, hi: float, share: float, integer: bool) -> float:
    """The number `share` (0..1) of the way from lo to hi, kept off the bounds if possible."""
    if integer:
        return min(int(hi), max(int(lo), int(round(lo + share * (hi - lo)))))
    value = lo + share * (hi - lo)
    rounded = round_sig(value, 4)
    return rounded if lo < rounded < hi or hi <= lo else value


def spread_numbers(
    name: str, flat: dict[str, Any], integer: bool, count: int, rng: random.Random
) -> list[Any]:
    """`count` numbers spread evenly over the inner range (one per stratum, shuffled)."""
    span = inner_range(name, flat, integer)
    if span is None:
        return [rng.randint(0, SEED_MAX) if integer else float(rng.randint(0, SEED_MAX))
                for _ in range(count)]  # fmt: skip
    lo, hi = span
    values = [
        _number_at(lo, hi, (index + rng.uniform(0.05, 0.95)) / count, integer)
        for index in range(count)
    ]
    rng.shuffle(values)
    default = flat.get("default")
    if is_number(default) and lo <= default <= hi:
        for index in rng.sample(range(count), int(count * DEFAULT_SHARE)):
            values[index] = default
    return values


def deck(choices: Sequence[Any], count: int, rng: random.Random) -> list[Any]:
    """`count` draws that use every choice once before any is repeated."""
    drawn: list[Any] = []
    while choices and len(drawn) < count:
        batch = list(choices)
        rng.shuffle(batch)
        drawn.extend(batch)
    return drawn[:count]


def _list_value(name: str, flat: dict[str, Any], rng: random.Random) -> list[Any]:
    low = max(1, int(flat.get("minItems") or 1))
    max_items = flat.get("maxItems")
    high = max(low, min(_MAX_LIST, max_items) if isinstance(max_items, int) else _MAX_LIST)
    items = items_schema(flat)
    count = rng.randint(low, high)
    if is_file_input(flat):  # chosen by the list's own words: `images` is no archive here
        values = [sample_media.for_input(name, flat, rng) for _ in range(count)]
    else:
        values = [ordinary_value(name, items, rng) for _ in range(count)]
    if flat.get("uniqueItems"):
        unique = [v for i, v in enumerate(values) if v not in values[:i]]
        values = unique if len(unique) >= low else values
    return values


def ordinary_value(name: str, prop: dict[str, Any], rng: random.Random) -> Any:
    """A random everyday value for one input."""
    flat = flatten(prop)
    kind = flat.get("type")
    if flat.get("enum"):
        return rng.choice(flat["enum"])
    if kind in ("integer", "number"):
        return spread_numbers(name, flat, kind == "integer", 1, rng)[0]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string" and flat.get("format") == "uri":
        return sample_media.for_input(name, flat, rng)
    if kind == "string" and flat.get("format") != "password":
        texts = fitting_texts(name, flat, rng)
        return rng.choice(texts) if texts else typical_value(name, prop, rng)
    if kind == "array":
        return _list_value(name, flat, rng)
    if kind == "object":
        return object_value(name, flat, rng, ordinary_value)
    return typical_value(name, prop, rng)


def ordinary_column(name: str, prop: dict[str, Any], count: int, rng: random.Random) -> list[Any]:
    """`count` everyday values for one input, spread so a run sees the input's variety."""
    if count <= 0:
        return []
    flat = flatten(prop)
    kind = flat.get("type")
    if flat.get("enum"):
        return deck(flat["enum"], count, rng)
    if kind in ("integer", "number"):
        return spread_numbers(name, flat, kind == "integer", count, rng)
    if kind == "boolean":
        return deck([True, False], count, rng)
    if kind == "string" and flat.get("format") == "uri":
        return deck(sample_media.choices_for_input(name, flat), count, rng)
    if kind == "string" and flat.get("format") != "password":
        texts = fitting_texts(name, flat, rng)
        if texts:
            return deck(texts, count, rng)
    return [ordinary_value(name, prop, rng) for _ in range(count)]
