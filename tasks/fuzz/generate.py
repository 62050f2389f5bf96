"""The offline fuzz generator: `n` valid payloads from the input schema alone, by seed.

How a run is laid out, so it is fair to the model:
- payload 0 is the everyday one (defaults; required inputs get their typical value), so the
  first prediction is a smoke test;
- at most one payload in four (after the first) is an edge payload; only these carry edge
  values (bounds, long text, empty optional values), so a failure elsewhere is a failure
  on ordinary input;
- every other value is ordinary: spread over the range and over every choice, text from
  realistic pools, optional inputs left out one time in five.
The same seed gives the identical list; every payload passes `validate_payload`.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable
from typing import Any

from tasks.fuzz import sample_media
from tasks.fuzz.edges import edge_values
from tasks.fuzz.ordinary import ordinary_column
from tasks.fuzz.repair import OMIT, repair_payload
from tasks.fuzz.schema_view import as_input_schema, flatten, properties
from tasks.fuzz.text import fitting_texts
from tasks.fuzz.typical import typical_value

EDGE_EVERY = 4  # one payload in this many (after the first) may carry edge values
OMIT_SHARE = 0.2  # how often an optional input is left out of an ordinary payload


def _same(a: Any, b: Any) -> bool:
    return a is b or (a == b and type(a) is type(b))


def _varies(flat: dict[str, Any]) -> bool:
    """Secrets keep their everyday value: fuzzing an API key only tests the key."""
    return flat.get("format") != "password"


def _unwritable(name: str, flat: dict[str, Any], rng: random.Random) -> bool:
    """A free-text input whose pattern no text we can write matches (a back-reference...)."""
    plain_text = flat.get("type") == "string" and flat.get("format") is None
    return plain_text and not flat.get("enum") and not fitting_texts(name, flat, rng)


def edge_slots(n: int, rng: random.Random) -> list[int]:
    """Which payloads may carry edge values: a random minority, never payload 0."""
    return sorted(rng.sample(range(1, n), (n - 1) // EDGE_EVERY)) if n > 1 else []


def everyday(name: str, prop: dict[str, Any], required: bool, rng: random.Random) -> Any:
    """Payload 0's value: the typical one when required or defaulted, else left out."""
    if required or flatten(prop).get("default") is not None:
        return typical_value(name, prop, rng)
    return OMIT


def _column(
    name: str,
    prop: dict[str, Any],
    required: bool,
    n: int,
    edges_at: list[int],
    rng: random.Random,
) -> list[Any]:
    """The values one input takes across the run (see the module docstring)."""
    first = everyday(name, prop, required, rng)
    flat = flatten(prop)
    if not _varies(flat):
        return [first if required else OMIT] * n
    if not required and _unwritable(name, flat, rng):
        return [first] + [OMIT] * (n - 1)  # its default, or nothing; never a rejected value
    column: list[Any] = [first, *ordinary_column(name, prop, n - 1, rng)]
    if not required:
        for index in range(1, n):
            if rng.random() < OMIT_SHARE:
                column[index] = OMIT
    edges = [v for v in edge_values(name, prop, required) if not _same(v, first)]
    rng.shuffle(edges)
    edges = edges[: len(edges_at)]
    for index, value in zip(rng.sample(edges_at, len(edges)), edges, strict=True):
        column[index] = value
    return column


def specials(name: str, prop: dict[str, Any], required: bool) -> list[Any]:
    """What a long enough run tries at least once: the default, every choice and edge.

    Leaving an optional input out counts too (OMIT). Used to check the generator's
    coverage; the generator itself draws choices from decks and edges from edge_values.
    """
    flat = flatten(prop)
    kind = flat.get("type")
    values: list[Any] = [] if flat.get("default") is None else [flat["default"]]
    if flat.get("enum"):
        values += flat["enum"]
    elif kind == "boolean":
        values += [True, False]
    elif kind == "string" and flat.get("format") == "uri":
        values += sample_media.choices_for_input(name, flat)
    elif kind == "string" and flat.get("format") is None:
        values += fitting_texts(name, flat, random.Random(0))[:1]
    values += edge_values(name, prop, required)
    if not required:
        values.append(OMIT)
    unique: list[Any] = []
    for value in values:
        if not any(_same(value, u) for u in unique):
            unique.append(value)
    return unique


def generate_schema_inputs(
    input_schema: dict[str, Any],
    n: int,
    *,
    fixed: dict[str, Any] | None = None,
    disabled: Iterable[str] = (),
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """`n` valid payloads that sweep the schema fairly: everyday first, edges a minority.

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
    edges_at = edge_slots(n, rng)
    columns: dict[str, list[Any]] = {}
    for name, prop in properties(schema).items():
        if name in disabled or name in fixed:
            continue
        columns[name] = _column(name, prop, name in required, n, edges_at, rng)
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
