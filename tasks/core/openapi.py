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


def is_concatenated_stream(schema: dict[str, Any] | None) -> bool:
    """Cog's streaming text output: an iterator of strings displayed concatenated."""
    return bool(
        schema
        and schema.get("type") == "array"
        and schema.get("x-cog-array-type") == "iterator"
        and schema.get("x-cog-array-display") == "concatenate"
    )


def join_stream(output: Any, schema: dict[str, Any] | None) -> Any:
    """Streamed text as the one string a user sees; any other output unchanged. Every platform
    returns it so, so that a comparison judges the same value wherever the model ran."""
    if (
        is_concatenated_stream(schema)
        and isinstance(output, list)
        and all(isinstance(part, str) for part in output)
    ):
        return "".join(output)
    return output


def to_json_schema(node: Any, *, nullable: bool = True) -> Any:
    """Cog's OpenAPI 3.0 schema as JSON Schema Draft 7: `nullable`, boolean exclusive bounds,
    leftover $refs. With `nullable` False the top node's `nullable` is dropped (a check of a
    non-null value then gets the plain type's sharper messages)."""
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
    if out.pop("nullable", False) is True and nullable:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "type" not in out and "enum" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out
