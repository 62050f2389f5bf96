"""Boundary inputs for differential testing: one input at a time set to an edge, the rest typical.

Why beside the fuzz generator: the generator sends inputs a user would send and mixes a few
edges into random payloads, so a model that crashes on `''`, on non-ASCII text, on `0` for
an unbounded number or on a bounded input's maximum may go unnoticed, and when an edge does
fail, the payload changed several inputs at once. Here every case is one baseline payload
(required inputs at their typical value, optional ones left to their defaults) with exactly
one input changed, so a failure names its input. The list is deterministic and ordered most
bug-prone first, round-robin over the inputs, so any budget spreads over all of them.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tasks.fuzz.edges import long_list
from tasks.fuzz.schema_view import (
    as_input_schema,
    flatten,
    is_file_input,
    is_number,
    name_tokens,
    number_range,
    properties,
    round_sig,
)
from tasks.fuzz.text import LONG_TEXT_CHARS, fits_length, fits_pattern, long_text
from tasks.fuzz.typical import typical_value
from tasks.fuzz.validate import validate_payload

ALL_OPTIONAL = "all optional inputs given"
SEED_LARGE = 2**32 - 1  # numpy's largest seed: one more is a classic crash
LONG_TEXT_LIMIT = 10_000  # the longest text sent, even when maxLength allows more
LABEL_CHARS = 60
_SHORTEST_LONG_TEXT = 80  # text up to this long is everyday, not an edge
_SHOWN_TEXT = 12  # characters of a string shown in a label
# Accents, CJK and an emoji (one code point each, so maxLength counts them as a user
# would), longest first: the first one that fits maxLength and the pattern is sent. Each
# starts with all three kinds, so a label's first few characters show them.
NON_ASCII_TEXTS = (
    "héllo 你好 🌍 Crème brûlée für Zoë, 東京の夜 🌸",
    "héllo 你好 🌍 wörld",
    "héllo 你好 🌍",
    "é你🌍",
    "🌍",
)


@dataclass(frozen=True)
class EdgeCase:
    """One payload to send: the baseline with `input_name` (None: every optional) changed."""

    label: str
    input_name: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Edge:
    """One edge value of one input and how a label shows it."""

    value: Any
    shown: str


def _same(a: Any, b: Any) -> bool:
    """Equal as the model sees it: 0 and 0.0 are the same value, True and 1 are not."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _show_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _show_text(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + "…")


def _varies(flat: dict[str, Any]) -> bool:
    """Secrets are never varied: fuzzing an API key only tests the key."""
    return flat.get("format") != "password"


def _text_edges(name: str, flat: dict[str, Any]) -> list[_Edge]:
    """'', a non-ASCII text with an emoji, the longest text allowed (up to a cap)."""
    edges: list[_Edge] = []
    if fits_length(flat, "") and fits_pattern(flat, ""):
        edges.append(_Edge("", "''"))
    min_len = int(flat.get("minLength") or 0)
    for text in NON_ASCII_TEXTS:
        while len(text) < min_len:
            text = f"{text} {text}"
        if fits_length(flat, text) and fits_pattern(flat, text):
            edges.append(_Edge(text, f"{_show_text(text)} (non-ASCII)"))
            break
    max_len = flat.get("maxLength")
    long_len = min(max_len, LONG_TEXT_LIMIT) if isinstance(max_len, int) else LONG_TEXT_CHARS
    if long_len > max(min_len, _SHORTEST_LONG_TEXT):
        text = long_text(name, long_len)
        if fits_pattern(flat, text):
            edges.append(_Edge(text, f"<{len(text)} chars>"))
    return edges


def _large(name: str, flat: dict[str, Any], integer: bool) -> float:
    """Large but not ruinous: ten times the default (a seed: the largest numpy takes)."""
    if integer and "seed" in name_tokens(name):
        return SEED_LARGE
    default = flat.get("default")
    scale = abs(default) if is_number(default) else 0
    return 10 * max(scale, 10) if integer else round_sig(10.0 * max(scale, 1.0))


def _number_edges(name: str, flat: dict[str, Any], integer: bool) -> list[_Edge]:
    """Bounded: minimum, maximum. Open on a side: 0, -1, large, then the bound it has."""
    lo, hi = number_range(flat, integer)
    bounds = [_Edge(lo, f"{_show_number(lo)} (minimum)")] if lo is not None else []
    if hi is not None:
        bounds.append(_Edge(hi, f"{_show_number(hi)} (maximum)"))
    if lo is not None and hi is not None:
        return bounds
    unbounded = [0, -1, _large(name, flat, integer)]
    values = [v if integer else float(v) for v in unbounded]
    inside = [v for v in values if (lo is None or v >= lo) and (hi is None or v <= hi)]
    return [_Edge(v, _show_number(v)) for v in inside] + bounds


def _list_edges(name: str, flat: dict[str, Any]) -> list[_Edge]:
    """[] and a list longer than an everyday one (never a long list of files)."""
    edges = [_Edge([], "[]")] if int(flat.get("minItems") or 0) == 0 else []
    longest = None if is_file_input(flat) else long_list(name, flat)
    if longest is not None:
        edges.append(_Edge(longest, f"<{len(longest)} items>"))
    return edges


def _raw_edges(name: str, flat: dict[str, Any]) -> list[_Edge]:
    """Every edge value of one input, in priority order, before any filtering."""
    kind = flat.get("type")
    if flat.get("enum"):
        return [_Edge(v, repr(v)) for v in flat["enum"]]
    if kind == "boolean":
        return [_Edge(True, "True"), _Edge(False, "False")]
    if kind in ("integer", "number"):
        return _number_edges(name, flat, kind == "integer")
    if kind == "array":
        return _list_edges(name, flat)
    if is_file_input(flat):
        return []
    if kind == "string":
        return _text_edges(name, flat)
    if kind == "object":
        empty_allowed = not flat.get("required") and int(flat.get("minProperties") or 0) == 0
        return [_Edge({}, "{}")] if empty_allowed else []
    return []


def _label(name: str, shown: str) -> str:
    """`name=shown`, cut to LABEL_CHARS (the name first, so the value stays readable)."""
    room = LABEL_CHARS - len(shown) - 1
    if len(name) > room:
        name = name[: max(room - 1, 8)] + "…"
    label = f"{name}={shown}"
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _baseline(
    props: dict[str, dict[str, Any]],
    required: set[str],
    fixed: dict[str, Any],
    disabled: set[str],
) -> dict[str, Any]:
    """Required inputs at their typical value, plus the fixed ones; optional ones left out."""
    payload: dict[str, Any] = {}
    for name, prop in props.items():
        if name in required and name not in fixed and name not in disabled:
            payload[name] = typical_value(name, prop, random.Random(0))
    for name, value in fixed.items():
        if name not in disabled:
            payload[name] = copy.deepcopy(value)
    return payload


def _valid(payload: dict[str, Any], schema: dict[str, Any]) -> bool:
    return not validate_payload(payload, schema)


def _all_optional(
    props: dict[str, dict[str, Any]],
    optional: list[str],
    baseline: dict[str, Any],
    schema: dict[str, Any],
) -> EdgeCase | None:
    """Every optional input at its typical value; one whose value the schema rejects stays out."""
    payload = copy.deepcopy(baseline)
    for name in optional:
        value = typical_value(name, props[name], random.Random(0))
        if _valid({**payload, name: value}, schema):
            payload[name] = value
    if payload == baseline:
        return None
    return EdgeCase(ALL_OPTIONAL, None, payload)


def _input_cases(
    name: str,
    prop: dict[str, Any],
    baseline: dict[str, Any],
    schema: dict[str, Any],
) -> list[EdgeCase]:
    """This input's edge cases: baseline + one edge, without defaults, repeats or rejects."""
    flat = flatten(prop)
    in_play = [flat["default"]] if flat.get("default") is not None else []
    if name in baseline:
        in_play.append(baseline[name])
    cases: list[EdgeCase] = []
    tried: list[Any] = []
    for edge in _raw_edges(name, flat):
        if any(_same(edge.value, v) for v in in_play + tried):
            continue
        tried.append(edge.value)
        payload = {**copy.deepcopy(baseline), name: copy.deepcopy(edge.value)}
        if _valid(payload, schema):
            cases.append(EdgeCase(_label(name, edge.shown), name, payload))
    return cases


def edge_cases(
    input_schema: dict[str, Any],
    *,
    fixed: dict[str, Any] | None = None,
    disabled: Iterable[str] = (),
) -> list[EdgeCase]:
    """Every edge case of the schema, most bug-prone first. Same schema in, same list out.

    First "all optional inputs given", then round-robin over the inputs in schema order:
    every input's first edge, then every input's second, and so on. Fixed, disabled and
    secret inputs are never varied; a case the schema rejects is dropped, not sent.
    """
    schema = as_input_schema(input_schema)
    props = properties(schema)
    fixed = dict(fixed or {})
    disabled = set(disabled)
    required = set(schema.get("required") or [])
    baseline = _baseline(props, required, fixed, disabled)
    varied = [
        name
        for name, prop in props.items()
        if name not in fixed and name not in disabled and _varies(flatten(prop))
    ]
    per_input = [_input_cases(name, props[name], baseline, schema) for name in varied]
    ordered: list[EdgeCase] = []
    optional = [name for name in varied if name not in required]
    everything = _all_optional(props, optional, baseline, schema) if optional else None
    if everything is not None and _valid(everything.payload, schema):
        ordered.append(everything)
    for rank in range(max((len(c) for c in per_input), default=0)):
        ordered += [cases[rank] for cases in per_input if rank < len(cases)]
    return ordered


def pick_edge_cases(cases: list[EdgeCase], budget: int) -> list[EdgeCase]:
    """At most `budget` cases, the first in order (the order already spreads over inputs)."""
    return list(cases[: max(budget, 0)])
