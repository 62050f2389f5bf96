"""Schema lint: every non-deprecated input needs a description."""

from __future__ import annotations

from typing import Any

from tasks.schema.lint import lint_schema


def doc(inputs: dict[str, Any], training: dict[str, Any] | None = None) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Input": {"type": "object", "title": "Input", "properties": inputs},
        "Output": {"title": "Output", "type": "string", "format": "uri"},
        "scheduler": {
            "title": "scheduler",
            "description": "An enumeration.",  # not the input's own description
            "enum": ["DDIM"],
            "type": "string",
        },
    }
    if training is not None:
        schemas["TrainingInput"] = {"type": "object", "properties": training}
    return {"openapi": "3.0.2", "components": {"schemas": schemas}}


def test_every_input_without_description_is_named() -> None:
    schema = doc(
        {
            "prompt": {"type": "string", "title": "Prompt", "description": "What to draw"},
            "seed": {"type": "integer", "title": "Seed"},
            "scheduler": {"allOf": [{"$ref": "#/components/schemas/scheduler"}]},
            "blank": {"type": "string", "description": "   "},
            "old": {"type": "string", "deprecated": True},
        }
    )
    problems = lint_schema(schema)
    assert len(problems) == 3
    assert any("'seed'" in p for p in problems)
    assert any("'blank'" in p for p in problems)
    assert any("'scheduler'" in p for p in problems)
    assert not any("'old'" in p or "'prompt'" in p for p in problems)


def test_described_schema_is_clean_and_train_checks_training_input() -> None:
    schema = doc(
        {"prompt": {"type": "string", "description": "What to draw"}},
        training={"steps": {"type": "integer"}},
    )
    assert lint_schema(schema) == []
    assert lint_schema(schema, train=True) == ["training input 'steps' has no description"]
    assert lint_schema({"openapi": "3.0.2"}) == []
