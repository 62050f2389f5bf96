"""The inputs the live and the test version both run, so that their outputs can be compared.

Why several: one input compares one path through the model. The first test case expected
to succeed is what its author cares about; required inputs only put every default in play
(a changed default is invisible to a case that sets the input); fuzz inputs reach the
rest. Each must be valid for both versions' schemas: an input the live version does not
take cannot be compared. Pure: settings, schemas and candidate payloads in; payloads out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tasks.core.config import ModeView
from tasks.core.openapi import input_schema, required_inputs
from tasks.fuzz.generate import generate_schema_inputs
from tasks.fuzz.validate import validate_payload

REQUIRED_ONLY = "required inputs only"


@dataclass(frozen=True)
class CompareInput:
    """One input both versions run; `source` says where it came from ("test case 1").

    `test_inputs` is what the test version ran when it differs from `inputs` only by new
    inputs set to their defaults (the same call, for a caller of the live version)."""

    source: str
    inputs: dict[str, Any]
    test_inputs: dict[str, Any] | None = None

    @property
    def on_test(self) -> dict[str, Any]:
        return self.test_inputs if self.test_inputs is not None else self.inputs


def payload_key(inputs: dict[str, Any]) -> str:
    """A stable identity for a payload: runs of the same inputs on one version are shared."""
    return json.dumps(inputs, sort_keys=True, default=str)


def input_properties_of(schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties")
    return props if isinstance(props, dict) else {}


def required_only(view: ModeView, live_doc: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """The required inputs (at everyday values) and the fixed ones, nothing else."""
    fuzz = view.fuzz
    payload = generate_schema_inputs(
        input_schema(live_doc),
        1,
        fixed=fuzz.fixed_inputs,
        disabled=fuzz.disabled_inputs,
        seed=seed or 0,
    )[0]
    keep = set(required_inputs(live_doc)) | set(fuzz.fixed_inputs)
    return {k: v for k, v in payload.items() if k in keep}


def compare_inputs(
    view: ModeView,
    live_doc: dict[str, Any],
    new_doc: dict[str, Any],
    seed: int | None,
    fuzz_payloads: Sequence[tuple[str, dict[str, Any]]] = (),
) -> list[CompareInput]:
    """Up to `view.compare_inputs` inputs, in this order: the first test case expected to
    succeed, required inputs only, then the fuzz payloads (labelled), then further cases;
    each valid for both versions, none twice."""
    schemas = (input_schema(live_doc), input_schema(new_doc))
    known = set.intersection(*(set(input_properties_of(schema)) for schema in schemas))
    new_props = input_properties_of(schemas[1])

    def for_live(inputs: dict[str, Any]) -> dict[str, Any]:
        """Leave out new inputs set to their own default: live never had them, and for the
        test version leaving them out is the same call."""
        return {
            k: v
            for k, v in inputs.items()
            if k in known or "default" not in new_props.get(k, {}) or v != new_props[k]["default"]
        }

    def fits(source: str, inputs: dict[str, Any]) -> bool:
        if not set(inputs) <= known:
            return False  # an input one of the versions does not take
        if source.startswith("test case"):
            return True  # the author's own case: trusted as written (local file paths too)
        return all(not validate_payload(inputs, schema) for schema in schemas)

    cases = [
        (f"test case {index}", dict(case.inputs))
        for index, case in enumerate(view.test_cases, start=1)
        if case.error_contains is None
    ]
    candidates = [
        *cases[:1],
        (REQUIRED_ONLY, required_only(view, live_doc, seed)),
        *fuzz_payloads,
        *cases[1:],
    ]
    chosen: list[CompareInput] = []
    seen: set[str] = set()
    for source, ran in candidates:
        inputs = for_live(ran)
        key = payload_key(inputs)
        if key in seen or not fits(source, inputs):
            continue
        seen.add(key)
        chosen.append(CompareInput(source, inputs, ran if inputs != ran else None))
        if len(chosen) >= view.compare_inputs:
            break
    return chosen
