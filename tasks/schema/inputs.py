"""Inputs the config sends that the model does not take: a config mistake, not a model bug.

Sent anyway, they would be ignored (or rejected) and the check would test something other
than its author meant, so the run stops with a usage error (exit 2) as soon as the test
version's schema is known. Pure: the mode's settings and the schema in, a stage out.
"""

from __future__ import annotations

from typing import Any

from tasks.core.config import ModeView
from tasks.core.openapi import input_properties
from tasks.core.results import StageResult


def unknown_inputs(view: ModeView, doc: dict[str, Any]) -> StageResult | None:
    """A failed "usage" stage naming every unknown input, or None when all are known."""
    known = input_properties(doc, train=view.train)
    problems = []
    for index, case in enumerate(view.test_cases, start=1):
        extra = sorted(set(case.inputs) - set(known))
        if extra:
            problems.append(f"{view.name} test case {index} sends {', '.join(extra)}")
    extra = sorted(set(view.fuzz.fixed_inputs) - set(known))
    if extra:
        problems.append(f"{view.name} fuzz fixed_inputs set {', '.join(extra)}")
    if not problems:
        return None
    message = (
        f"{'; '.join(problems)}, which the model does not take; its inputs are: "
        f"{', '.join(known) or '(none)'}"
    )
    return StageResult(view.stage("inputs"), "failed", message, kind="usage")
