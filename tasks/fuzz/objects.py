"""Content for object (dict) inputs: a few realistic key/value pairs that fit the schema.

Why: sending `{}` to every `dict` input only tests that the model tolerates nothing. A
free-form dict gets pairs like those its users send (chosen by the input's name: settings
for `config`, provenance for `metadata`); a dict with declared properties gets its required
keys and some optional ones, each value of the declared type. additionalProperties,
patternProperties and min/maxProperties are respected.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

from tasks.fuzz.pattern_text import pattern_example
from tasks.fuzz.schema_view import name_tokens, properties
from tasks.fuzz.validate import validate_payload

# Makes one value for (key, property schema, rng): the everyday or the random generator.
ValueFor = Callable[[str, dict[str, Any], random.Random], Any]

Pairs = tuple[tuple[str, Any], ...]

_FREE_FORM: tuple[tuple[frozenset[str], Pairs], ...] = (
    (
        frozenset({"config", "configuration", "options", "settings", "params", "parameters",
                   "kwargs", "args", "generation", "sampling"}),
        (("temperature", 0.7), ("max_tokens", 256), ("top_p", 0.9), ("seed", 42),
         ("stream", False)),
    ),
    (
        frozenset({"metadata", "meta", "info", "extra", "attributes", "context", "properties"}),
        (("source", "fuzz-test"), ("author", "Ada Lovelace"), ("language", "en"),
         ("version", "1.2.0"), ("created_at", "2024-05-01T12:00:00Z")),
    ),
    (
        frozenset({"headers"}),
        (("Accept", "application/json"), ("User-Agent", "cog-safe-push"),
         ("Accept-Language", "en-US")),
    ),
    (
        frozenset({"weights", "scales", "lora", "loras", "adapters", "strengths"}),
        (("style", 0.8), ("detail", 0.6), ("lighting", 0.4)),
    ),
    (
        frozenset({"labels", "mapping", "map", "lookup", "names", "tags", "aliases", "vocab"}),
        (("cat", "animal"), ("oak", "tree"), ("rose", "flower"), ("salmon", "fish")),
    ),
)  # fmt: skip
_GENERIC: Pairs = (
    ("name", "example"),
    ("count", 3),
    ("enabled", True),
    ("score", 0.5),
    ("label", "sample input"),
)
_OPTIONAL_SHARE = 0.6  # how often a random object carries each optional declared key


def free_pairs(name: str) -> Pairs:
    """Realistic key/value pairs for a free-form dict, chosen by the input's name."""
    tokens = name_tokens(name)
    for words, pairs in _FREE_FORM:
        if tokens & words:
            return pairs
    return _GENERIC


def _value_schema(flat: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The schema a free key's value must meet; None when the key is not allowed at all."""
    for pattern, schema in (flat.get("patternProperties") or {}).items():
        try:
            if re.search(pattern, key) and isinstance(schema, dict):
                return schema
        except re.error:
            continue
    extra = flat.get("additionalProperties", True)
    if extra is False:
        return None
    return extra if isinstance(extra, dict) else {}


def _free_value(
    key: str, sample: Any, schema: dict[str, Any], value_for: ValueFor, rng: random.Random
) -> Any:
    """The pool's sample value when the schema takes it, else one made from the schema."""
    if sample is None:
        return value_for(key, schema, rng)
    if not schema or validate_payload(sample, schema) == []:
        return sample
    as_text = json.dumps(sample)  # 3 -> "3" where values must be strings
    if isinstance(sample, int | float) and validate_payload(as_text, schema) == []:
        return as_text
    return value_for(key, schema, rng)


def _free_keys(name: str, flat: dict[str, Any], rng: random.Random) -> list[tuple[str, Any]]:
    """Keys (with sample values) a free-form part of this dict may take."""
    pairs = [(k, v) for k, v in free_pairs(name) if _value_schema(flat, k) is not None]
    if pairs:
        return pairs
    for pattern in flat.get("patternProperties") or {}:
        key = pattern_example(pattern, rng)
        if key and _value_schema(flat, key) is not None:
            return [(key, "sample input")]
    return []


def object_value(
    name: str,
    flat: dict[str, Any],
    rng: random.Random,
    value_for: ValueFor,
    *,
    everyday: bool = False,
) -> dict[str, Any]:
    """A dict for an object input: declared keys (all required ones), or free-form pairs.

    `everyday` gives the plain, repeatable version (every declared key, the pool's first
    three pairs); otherwise optional keys and pairs are chosen at random. Never empty
    unless the schema allows nothing else.
    """
    declared = properties(flat)
    required = [k for k in flat.get("required") or [] if isinstance(k, str)]
    result: dict[str, Any] = {}
    for key, sub in declared.items():
        if key in required or everyday or rng.random() < _OPTIONAL_SHARE:
            result[key] = value_for(key, sub, rng)
    for key in required:  # required keys the schema names without declaring them
        if key not in result:
            result[key] = value_for(key, _value_schema(flat, key) or {}, rng)
    if declared and not result:
        first = next(iter(declared))
        result[first] = value_for(first, declared[first], rng)
    free = [] if declared else _free_keys(name, flat, rng)
    if free:
        count = min(len(free), 3 if everyday else rng.randint(2, 4))
        chosen = free[:count] if everyday else sorted(rng.sample(free, count), key=free.index)
        for key, sample in chosen:
            result[key] = _free_value(key, sample, _value_schema(flat, key) or {}, value_for, rng)
    return _fit_count(name, flat, result, rng, value_for)


def _fit_count(
    name: str,
    flat: dict[str, Any],
    result: dict[str, Any],
    rng: random.Random,
    value_for: ValueFor,
) -> dict[str, Any]:
    """Respect minProperties (more keys) and maxProperties (drop optional keys, last first)."""
    low, high = flat.get("minProperties"), flat.get("maxProperties")
    if isinstance(low, int) and len(result) < low:
        spare = [(k, None) for k in properties(flat) if k not in result]
        spare += [(k, v) for k, v in _free_keys(name, flat, rng) if k not in result]
        for index in range(len(spare), low - len(result)):
            spare.append((f"{name or 'key'}_{index + 1}", "sample input"))
        for key, sample in spare[: low - len(result)]:
            sub = properties(flat).get(key) or _value_schema(flat, key) or {}
            result[key] = _free_value(key, sample, sub, value_for, rng)
    if isinstance(high, int) and len(result) > high:
        required = set(flat.get("required") or [])
        for key in [k for k in reversed(list(result)) if k not in required]:
            if len(result) <= high:
                break
            del result[key]
    return result
