"""Reading Cog's OpenAPI documents: dereferencing and picking out Input/Output schemas.

Pure functions over plain dicts; every stage that looks at a schema goes through here.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from tasks.core.errors import UsageError

INPUT = "Input"
OUTPUT = "Output"
TRAINING_INPUT = "TrainingInput"
TRAINING_OUTPUT = "TrainingOutput"


def _resolve_pointer(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise UsageError(f"unsupported $ref {ref!r}: only local references are understood")
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise UsageError(f"$ref {ref!r} points nowhere in the schema")
        node = node[part]
    return node


_WHOLE_DOCUMENT: Any = object()  # a sentinel: None is a legitimate value inside a schema


def dereference(
    document: dict[str, Any], node: Any = _WHOLE_DOCUMENT, _seen: tuple[str, ...] = ()
) -> Any:
    """Return a copy of `node` (default: the whole document) with local $refs inlined.

    A recursive reference is left as {"$ref": ...} at the point where it would loop, so
    recursive components never hang or crash a caller.
    """
    if node is _WHOLE_DOCUMENT:
        node = document
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in _seen:
                return {"$ref": ref}
            target = dereference(document, _resolve_pointer(document, ref), (*_seen, ref))
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(target, dict):
                merged = dict(target)
                merged.update(dereference(document, siblings, _seen))
                return merged
            return target
        return {k: dereference(document, v, _seen) for k, v in node.items()}
    if isinstance(node, list):
        return [dereference(document, v, _seen) for v in node]
    return copy.deepcopy(node)


def component(document: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A dereferenced component schema (Input, Output, TrainingInput, ...), or None."""
    schemas = (document.get("components") or {}).get("schemas") or {}
    if name not in schemas:
        return None
    value = dereference(document, schemas[name])
    return value if isinstance(value, dict) else None


def input_schema(document: dict[str, Any], train: bool = False) -> dict[str, Any]:
    """The Input (or TrainingInput) object schema; empty object schema when absent."""
    found = component(document, TRAINING_INPUT if train else INPUT)
    return found or {"type": "object", "properties": {}}


def output_schema(document: dict[str, Any], train: bool = False) -> dict[str, Any] | None:
    return component(document, TRAINING_OUTPUT if train else OUTPUT)


def input_properties(document: dict[str, Any], train: bool = False) -> dict[str, dict[str, Any]]:
    return dict(input_schema(document, train).get("properties") or {})


def required_inputs(document: dict[str, Any], train: bool = False) -> list[str]:
    return list(input_schema(document, train).get("required") or [])


def enum_values(prop: dict[str, Any]) -> list[Any] | None:
    """Choices of an input, whether written as enum, allOf[enum] or anyOf[enum]."""
    if "enum" in prop:
        return list(prop["enum"])
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in prop.get(key) or []:
            if isinstance(sub, dict) and "enum" in sub:
                return list(sub["enum"])
    return None


def schema_hash(value: Any) -> str:
    """A stable content hash of any JSON-able value (used in cache keys)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def looks_like_openapi(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("components"), dict)
        and isinstance(document["components"].get("schemas"), dict)
    )
