"""Schema lint: rules a model's OpenAPI schema should follow before it is pushed.

Today one rule, as in the seed tool: every input a caller is expected to use (that is, every
non-deprecated input) has a description, because Replicate shows it as the input's help text
and AI input generators rely on it. Pure: takes the document, returns one message per problem.
"""

from __future__ import annotations

from typing import Any

from tasks.core.openapi import input_properties


def _has_description(prop: Any) -> bool:
    if not isinstance(prop, dict):
        return False
    description = prop.get("description")
    return isinstance(description, str) and bool(description.strip())


def lint_schema(doc: dict[str, Any], *, train: bool = False) -> list[str]:
    """One message per non-deprecated input (TrainingInput with `train`) without a description.

    All offenders are named at once so that one fix round is enough.
    """
    label = "training input" if train else "input"
    problems = []
    for name, prop in input_properties(doc, train).items():
        if isinstance(prop, dict) and prop.get("deprecated") is True:
            continue
        if not _has_description(prop):
            problems.append(f"{label} {name!r} has no description")
    return problems
