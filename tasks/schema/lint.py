"""Schema lint: rules a model's OpenAPI schema should follow before it is pushed.

Two rules, one message per problem, every offender named at once so one fix round is enough:

- every input a caller is expected to use (every non-deprecated input) has a description,
  because Replicate shows it as the input's help text and AI input generators rely on it;
- every input's default obeys the input's own schema (type, bounds, choices, lengths, regex,
  items), because `cog build` refuses such an input and a caller who leaves it out would be
  given a value the model says it does not accept.

Pure: takes the (already dereferenced) document and returns messages; never imports Prefect.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from tasks.core.openapi import input_properties, to_json_schema

WHY = "cog build refuses an input whose default breaks its own constraints"
_MAX_SHOWN = 60
_MAX_CHOICES = 10
# Cog writes a list input's ge/le, min_length/max_length and regex on the array itself and
# applies them to every element; JSON Schema would ignore them there.
_ELEMENT_KEYWORDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
)
_ARTICLES = {"integer": "an", "array": "an", "object": "an"}


def _has_description(prop: Any) -> bool:
    if not isinstance(prop, dict):
        return False
    description = prop.get("description")
    return isinstance(description, str) and bool(description.strip())


def _declares_array(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind == "array" or (isinstance(kind, list) and "array" in kind):
        return True
    return any(
        _declares_array(sub)
        for key in ("allOf", "anyOf", "oneOf")
        for sub in (schema.get(key) if isinstance(schema.get(key), list) else [])
    )


def _cog_meaning(prop: dict[str, Any], default: Any) -> dict[str, Any]:
    """The Draft 7 schema a default must satisfy, read the way Cog means a list input.

    An array keeps its element constraints on its items. A list default on a schema with no
    array in it is Cog's `list[str] = Input(choices=...)`, written as an enum of the element:
    each element must then satisfy that schema.
    """
    schema = to_json_schema(prop, nullable=False)
    if _declares_array(schema):
        moved = {k: schema.pop(k) for k in _ELEMENT_KEYWORDS if k in schema}
        if moved:
            items = schema.get("items")
            if isinstance(items, dict):
                schema["items"] = {**moved, **items}
            elif items is None:
                schema["items"] = moved
    elif isinstance(default, list):
        schema = {"type": "array", "items": schema}
    return schema


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _type_names(kind: Any) -> str:
    kinds = [kind] if isinstance(kind, str) else [k for k in kind if k != "null"]
    return " or ".join(f"{_ARTICLES.get(k, 'a')} {k}" for k in kinds) or "null"


def _choices(values: list[Any]) -> str:
    shown = ", ".join(_show(v) for v in values[:_MAX_CHOICES])
    return shown + (", ..." if len(values) > _MAX_CHOICES else "")


def _subject(path: list[Any]) -> str:
    """`default`, or which part of it: `default item at index 1`."""
    if not path:
        return "default"
    where = " ".join(f"index {p}" if isinstance(p, int) else f"key {p!r}" for p in path)
    return f"default item at {where}"


# What a default that breaks a keyword with a single limit "is", in Cog's words.
_BROKEN_LIMIT = {
    "minimum": "is below its minimum",
    "maximum": "is above its maximum",
    "exclusiveMinimum": "is not above its exclusive minimum",
    "exclusiveMaximum": "is not below its exclusive maximum",
    "multipleOf": "is not a multiple of",
    "const": "is not its only allowed value",
    "minLength": "is shorter than its min_length",
    "maxLength": "is longer than its max_length",
    "pattern": "does not match its regex",
}


def _problem(error: jsonschema.ValidationError) -> str:
    """What is wrong, in Cog's words where it has them, keeping JSON Schema's meaning."""
    path = list(error.absolute_path)
    subject = _subject(path)
    value = _show(error.instance)
    shown = f"default {value}" if not path else f"{subject} ({value})"
    keyword, limit = error.validator, error.validator_value
    if keyword == "type":
        return f"{shown} is not {_type_names(limit)}"
    if keyword == "enum":
        return f"{shown} is not one of its choices {_choices(list(limit))}"
    if keyword in _BROKEN_LIMIT:
        # Length limits name the value's part only: a long text is not worth repeating.
        whom = subject if keyword in ("minLength", "maxLength") else shown
        return f"{whom} {_BROKEN_LIMIT[keyword]} {_show(limit)}"
    if keyword in ("minItems", "maxItems"):
        count = len(error.instance)
        items = f"{count} item" if count == 1 else f"{count} items"
        than = "fewer" if keyword == "minItems" else "more"
        return f"{subject} has {items}, {than} than its {keyword} {limit}"
    if keyword == "anyOf":
        return f"{shown} matches none of its alternative types"
    if keyword == "oneOf":
        return f"{shown} does not match exactly one of its alternative types"
    message = " ".join(error.message.split())
    return f"{shown} breaks its schema ({keyword}: {_show(message)})"


def default_problems(prop: Any) -> list[str]:
    """What is wrong with a property's non-null default against its own schema ([] = fine).

    No default, or a null one, is fine: Cog writes `default: null` only where None is allowed
    or means "no default". Formats (file URLs) are not checked, only the type. A schema that
    jsonschema cannot read (an unknown type, a regex Python cannot compile) is left alone here.
    """
    if not isinstance(prop, dict) or prop.get("default") is None:
        return []
    default = prop["default"]
    schema = _cog_meaning(prop, default)
    try:
        jsonschema.Draft7Validator.check_schema(schema)
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(default))
    except (jsonschema.exceptions.SchemaError, re.error):
        return []
    typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    problems = [
        _problem(e)
        for e in sorted(errors, key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])
        if e.validator == "type" or not any(tuple(e.absolute_path)[: len(t)] == t for t in typed)
    ]
    return list(dict.fromkeys(problems))


def lint_schema(doc: dict[str, Any], *, train: bool = False) -> list[str]:
    """One message per problem of the Input (TrainingInput with `train`) schema.

    A non-deprecated input without a description; a default breaking its own input's schema,
    deprecated or not, since Cog refuses to build either way.
    """
    label = "training input" if train else "input"
    problems = []
    for name, prop in input_properties(doc, train).items():
        deprecated = isinstance(prop, dict) and prop.get("deprecated") is True
        if not deprecated and not _has_description(prop):
            problems.append(f"{label} {name!r} has no description")
        for problem in default_problems(prop):
            problems.append(f"{label} {name!r} {problem} ({WHY})")
    return problems
