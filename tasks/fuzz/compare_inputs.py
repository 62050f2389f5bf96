"""The inputs the live and the test version both run, so that their outputs can be compared.

Pure: the mode's settings, both schemas and a seed in; payloads out.
"""

from __future__ import annotations

from typing import Any

from tasks.core.config import ModeView
from tasks.core.openapi import input_properties, input_schema, required_inputs
from tasks.fuzz.generate import generate_schema_inputs

DEFAULT_COMPARE_SEED = 42


def compare_inputs(
    view: ModeView, live_doc: dict[str, Any], new_doc: dict[str, Any], seed: int | None
) -> dict[str, Any]:
    """The first test case that is expected to succeed (not an error_contains case), else
    required-only generated inputs (plus a seed when both versions take one, so that the
    comparison can be strict and the prediction cached)."""
    cases = [c for c in view.test_cases if c.error_contains is None]
    if cases:  # expected to succeed on both versions
        return dict(cases[0].inputs)
    fuzz = view.fuzz
    payload = generate_schema_inputs(
        input_schema(live_doc),
        1,
        fixed=fuzz.fixed_inputs,
        disabled=fuzz.disabled_inputs,
        seed=seed or 0,
    )[0]
    keep = set(required_inputs(live_doc)) | set(fuzz.fixed_inputs)
    inputs = {k: v for k, v in payload.items() if k in keep}
    both_seeded = "seed" in input_properties(live_doc) and "seed" in input_properties(new_doc)
    if both_seeded and "seed" not in fuzz.disabled_inputs and "seed" not in inputs:
        inputs["seed"] = seed if seed is not None else DEFAULT_COMPARE_SEED
    return inputs
