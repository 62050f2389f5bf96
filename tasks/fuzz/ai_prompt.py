"""The request for one batch of AI-written fuzz inputs: schema, media, history, rules.

Why one message holds everything: the model answers best when it sees the whole input
schema, the bundled media each file input may use (by name, never as base64), the author's
guidance and what was already generated, and it costs one round trip per batch.
"""

from __future__ import annotations

import json
from typing import Any

from tasks.fuzz import sample_media
from tasks.fuzz.schema_view import flatten, is_file_input, properties

MEDIA_PREFIX = "@media:"
MAX_SHOWN_PREVIOUS = 40  # payloads already generated that go back into the prompt

SYSTEM = (
    "You write test inputs for fuzzing a machine-learning model served by Cog. Your inputs "
    "must be valid for the model's input schema, realistic enough that a working model "
    "should succeed on them, and as varied as possible so that together they exercise "
    "every option and edge of the schema. You answer with JSON only."
)


def abbreviate(value: Any) -> Any:
    """Payloads as the model should see them: media as @media names, long text cut."""
    if isinstance(value, dict):
        return {k: abbreviate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [abbreviate(v) for v in value]
    if isinstance(value, str):
        sample = sample_media.sample_for_value(value)
        if sample is not None:
            return MEDIA_PREFIX + sample.name
        if value.startswith("data:"):
            return value[: value.find(",") + 1] + "..."
        if len(value) > 300:
            return value[:300] + f"...({len(value)} chars)"
    return value


def media_catalogue_text(schema: dict[str, Any]) -> str:
    """For each file input, the samples that fit it best (by kind, accepted types and
    traits such as a mask or speech; SVG only where accepted)."""
    lines = []
    for name, prop in properties(schema).items():
        if not is_file_input(prop):
            continue
        flat = flatten(prop)  # a list's own schema: its words and its items' are both read
        kind = sample_media.kind_for_input(name, flat)
        lines.append(f'- "{name}" takes {kind} files; use one of:')
        lines.extend(
            f"    {MEDIA_PREFIX}{s.describe()}" for s in sample_media.samples_for_input(name, flat)
        )
    return "\n".join(lines)


def build_prompt(
    schema: dict[str, Any],
    count: int,
    *,
    fixed: dict[str, Any],
    disabled: list[str],
    user_prompt: str | None,
    previous: list[dict[str, Any]],
) -> str:
    """The request for one batch. Everything the model needs is in this one message."""
    props = properties(schema)
    shown_schema = {
        **{k: v for k, v in schema.items() if k != "properties"},
        "properties": {k: v for k, v in props.items() if k not in disabled and k not in fixed},
    }
    parts = [
        f"Generate {count} different input payloads for this model.",
        "",
        "Input schema (JSON Schema, OpenAPI flavour; `x-order` is display order):",
        json.dumps(shown_schema, indent=1, sort_keys=True),
    ]
    if fixed:
        parts += [
            "",
            "Fixed inputs: these are always set to these values; you may leave them out:",
            json.dumps(abbreviate(fixed), sort_keys=True),
        ]
    if disabled:
        parts += ["", "Disabled inputs: never include these keys: " + ", ".join(sorted(disabled))]
    catalogue = media_catalogue_text(shown_schema)
    if catalogue:
        parts += [
            "",
            "File inputs (`format: uri`) must be one of these bundled samples, written exactly "
            f'as "{MEDIA_PREFIX}<name>" (no other URLs):',
            catalogue,
        ]
    if user_prompt:
        parts += ["", "Guidance from the model's author (follow it):", user_prompt.strip()]
    if previous:
        shown = previous[-MAX_SHOWN_PREVIOUS:]
        parts += [
            "",
            f"Already generated ({len(previous)} payloads"
            + (f", last {len(shown)} shown" if len(shown) < len(previous) else "")
            + "). Do not repeat them; choose new, diverse combinations:",
            *(json.dumps(abbreviate(p), sort_keys=True) for p in shown),
        ]
    parts += [
        "",
        "Rules:",
        "- Respect every type, minimum/maximum, enum, maxLength and required input.",
        "- Vary the values: try boundary values, every enum choice, short and long text, "
        "different media, and leave optional inputs out sometimes (the model then uses "
        "its default). Never use null.",
        "- Text inputs (prompts, questions) should read like real user requests.",
        f"- Answer with only a JSON array of exactly {count} objects, one per payload, "
        "no prose and no code fence.",
    ]
    return "\n".join(parts)
