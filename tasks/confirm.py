"""Whether a push landed: the model's latest version is the one pushed, with the tested schema.

Pure functions (no Prefect, no platform): tasks.push reads the facts, this decides, and the
flow and the terminal word the outcome with `unconfirmed_line`.

Why only Cog's components are compared: a pushed version's interface, what its callers send
and get back, is the Input, Output, TrainingInput and TrainingOutput schemas Cog generates
from the predictor's and trainer's signatures; they are what every check here read (schema
lint, compatibility, fuzz inputs, output comparison). The rest of the document is the Cog
runtime's own boilerplate (info.version, paths, the PredictionRequest/Response wrappers,
validation errors), which Replicate's rebuild of the unchanged directory may take from a
newer Cog runtime without changing the model. The components are compared whole and exactly,
after inlining $refs (an enum inlined in one and referenced in the other is the same schema).
"""

from __future__ import annotations

from typing import Any

from tasks.core import openapi
from tasks.core.platform_data import VersionInfo
from tasks.core.results import first_line

INTERFACE = (
    openapi.INPUT,
    openapi.OUTPUT,
    openapi.TRAINING_INPUT,
    openapi.TRAINING_OUTPUT,
)
WHY_LIMIT = 300  # the reason is one line of a terminal; the version id after it stays whole


def interface(document: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """The components Cog generates from the model's signatures, dereferenced (None: absent)."""
    return {name: openapi.component(document, name) for name in INTERFACE}


def interface_differences(tested: dict[str, Any], landed: dict[str, Any]) -> list[str]:
    """Names of the components that differ between the tested and the landed document."""
    before, after = interface(tested), interface(landed)
    return [name for name in INTERFACE if before[name] != after[name]]


def why_unconfirmed(
    ref: str,
    pushed: str,
    latest: VersionInfo | None,
    tested_schema: dict[str, Any] | None,
) -> str | None:
    """None when `latest` is the pushed version (and, given a tested schema, has its
    interface); otherwise why the push cannot be confirmed, in a few words."""
    if latest is None:
        return f"{ref} has no versions after the push"
    if latest.id != pushed:
        return f"the latest version of {ref} is {latest.id}, not the one pushed"
    if tested_schema is not None:
        differing = interface_differences(tested_schema, latest.openapi_schema)
        if differing:
            return (
                f"the schema of the pushed version differs from the tested one "
                f"({', '.join(differing)})"
            )
    return None


def unreadable(what: str, error: BaseException | str) -> str:
    """Why a push is unconfirmed when the platform could not be asked (after its retries)."""
    text = str(error) or type(error).__name__
    return f"could not read {what} after the push: {first_line(text, WHY_LIMIT)}"


def not_updated(why: str, deployment: str | None) -> str:
    """The reason, saying that the deployment (when there is one) was left as it was."""
    if deployment is None:
        return why
    return f"{why}; deployment {deployment} not updated (it serves what it served before)"


def unconfirmed_line(report: dict[str, Any]) -> str:
    """The one line an unconfirmed run ends with: it was pushed, why that is not confirmed,
    and which version (whole, so a person can look it up)."""
    why = first_line(report.get("error") or "unknown", 2 * WHY_LIMIT)
    return f"pushed, but not confirmed: {why}; version {report['model']}:{report['version']}"
