"""Schema lint: every non-deprecated input needs a description; every default obeys its input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tasks.platforms.local.cog_schema import generate_schema
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


# ------------------------------------------------ defaults obey their own constraints

WHY = "(cog build refuses an input whose default breaks its own constraints)"
TEXT = {"type": "string", "description": "d"}
INTEGER = {"type": "integer", "description": "d"}
NUMBER = {"type": "number", "description": "d"}
ARRAY_OF_INT = {"type": "array", "items": {"type": "integer"}, "description": "d"}
MODE_CHOICES = {"allOf": [{"enum": ["fast", "best"], "type": "string", "title": "mode"}]}
SIZE_CHOICES = {"allOf": [{"enum": [1, 2, 4], "type": "integer", "title": "sizes"}]}

# (case id, the input's schema, what lint says after "input 'x' "; None = nothing to say)
DEFAULT_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    # ge / le: inclusive bounds
    (
        "below ge",
        {**INTEGER, "default": 1, "minimum": 2, "maximum": 10},
        "default 1 is below its minimum 2",
    ),
    ("on ge", {**INTEGER, "default": 2, "minimum": 2, "maximum": 10}, None),
    ("on le", {**INTEGER, "default": 10, "minimum": 2, "maximum": 10}, None),
    (
        "above le",
        {**NUMBER, "default": 10.5, "maximum": 10},
        "default 10.5 is above its maximum 10",
    ),
    # exclusive bounds, OpenAPI 3.1 / JSON Schema numeric form
    (
        "on exclusive min",
        {**NUMBER, "default": 0.5, "exclusiveMinimum": 0.5},
        "default 0.5 is not above its exclusive minimum 0.5",
    ),
    ("over exclusive min", {**NUMBER, "default": 0.6, "exclusiveMinimum": 0.5}, None),
    (
        "on exclusive max",
        {**INTEGER, "default": 1, "exclusiveMaximum": 1},
        "default 1 is not below its exclusive maximum 1",
    ),
    # exclusive bounds, OpenAPI 3.0 boolean form qualifying minimum / maximum
    (
        "on bool exclusive min",
        {**INTEGER, "default": 2, "minimum": 2, "exclusiveMinimum": True},
        "default 2 is not above its exclusive minimum 2",
    ),
    (
        "on bool exclusive max",
        {**NUMBER, "default": 3, "maximum": 3, "exclusiveMaximum": True},
        "default 3 is not below its exclusive maximum 3",
    ),
    (
        "bool exclusive min, inside",
        {**INTEGER, "default": 3, "minimum": 2, "exclusiveMinimum": True},
        None,
    ),
    (
        "exclusive false is inclusive",
        {**INTEGER, "default": 2, "minimum": 2, "exclusiveMinimum": False},
        None,
    ),
    (
        "below min, exclusive false",
        {**INTEGER, "default": 1, "minimum": 2, "exclusiveMinimum": False},
        "default 1 is below its minimum 2",
    ),
    # type
    ("integer for number", {**NUMBER, "default": 1, "minimum": 0}, None),
    ("bool for integer", {**INTEGER, "default": True}, "default True is not an integer"),
    ("bool for number", {**NUMBER, "default": False}, "default False is not a number"),
    ("float for integer", {**INTEGER, "default": 1.5}, "default 1.5 is not an integer"),
    (
        "string for integer",
        {**INTEGER, "default": "3", "minimum": 5},
        "default '3' is not an integer",
    ),
    ("number for string", {**TEXT, "default": 3}, "default 3 is not a string"),
    ("string for boolean", {"type": "boolean", "default": "yes"}, "default 'yes' is not a boolean"),
    ("boolean", {"type": "boolean", "default": False}, None),
    ("string for array", {**ARRAY_OF_INT, "default": "1"}, "default '1' is not an array"),
    # choices: directly as enum, or allOf [the dereferenced component]
    (
        "not in enum",
        {**TEXT, "enum": ["fast", "best"], "default": "slow"},
        "default 'slow' is not one of its choices 'fast', 'best'",
    ),
    (
        "not in allOf enum",
        {**MODE_CHOICES, "default": "slow"},
        "default 'slow' is not one of its choices 'fast', 'best'",
    ),
    ("in allOf enum", {**MODE_CHOICES, "default": "best"}, None),
    (
        "int not in allOf enum",
        {**SIZE_CHOICES, "default": 3},
        "default 3 is not one of its choices 1, 2, 4",
    ),
    (
        "wrong type says only type",
        {**SIZE_CHOICES, "default": "1"},
        "default '1' is not an integer",
    ),
    # min_length / max_length
    (
        "under min_length",
        {**TEXT, "minLength": 2, "default": "a"},
        "default is shorter than its min_length 2",
    ),
    (
        "over max_length",
        {**TEXT, "maxLength": 3, "default": "abcd"},
        "default is longer than its max_length 3",
    ),
    ("on max_length", {**TEXT, "minLength": 3, "maxLength": 3, "default": "abc"}, None),
    # regex: JSON Schema's search semantics
    (
        "no regex match",
        {**TEXT, "pattern": "^[0-9]+$", "default": "12a"},
        "default '12a' does not match its regex '^[0-9]+$'",
    ),
    ("regex found inside", {**TEXT, "pattern": "[0-9]+", "default": "abc1"}, None),
    # formats are not checked beyond type
    ("uri not checked", {**TEXT, "format": "uri", "default": "not a url"}, None),
    ("uri must be a string", {**TEXT, "format": "uri", "default": 3}, "default 3 is not a string"),
    # null defaults
    ("null default", {**INTEGER, "minimum": 2, "default": None}, None),
    ("null default, nullable", {**INTEGER, "nullable": True, "minimum": 2, "default": None}, None),
    (
        "nullable still bounded",
        {**INTEGER, "nullable": True, "minimum": 2, "default": 1},
        "default 1 is below its minimum 2",
    ),
    # arrays: minItems / maxItems and the items' own constraints
    (
        "too few items",
        {**ARRAY_OF_INT, "minItems": 2, "default": [1]},
        "default has 1 item, fewer than its minItems 2",
    ),
    (
        "too many items",
        {**ARRAY_OF_INT, "maxItems": 2, "default": [1, 2, 3]},
        "default has 3 items, more than its maxItems 2",
    ),
    (
        "item above max",
        {**ARRAY_OF_INT, "items": {"type": "integer", "maximum": 10}, "default": [1, 20]},
        "default item at index 1 (20) is above its maximum 10",
    ),
    (
        "bool item for integer",
        {**ARRAY_OF_INT, "default": [1, True]},
        "default item at index 1 (True) is not an integer",
    ),
    (
        "items fine",
        {**ARRAY_OF_INT, "items": {"type": "integer", "maximum": 10}, "default": [1, 10]},
        None,
    ),
    (
        "item not in items enum",
        {**ARRAY_OF_INT, "items": {"type": "string", "enum": ["a"]}, "default": ["b"]},
        "default item at index 0 ('b') is not one of its choices 'a'",
    ),
    # Cog writes a list's ge/le, max_length and regex on the array and means each element
    (
        "cog list le",
        {**ARRAY_OF_INT, "minimum": 0, "maximum": 10, "default": [1, 20]},
        "default item at index 1 (20) is above its maximum 10",
    ),
    (
        "cog list max_length",
        {"type": "array", "items": {"type": "string"}, "maxLength": 3, "default": ["a", "bbbb"]},
        "default item at index 1 is longer than its max_length 3",
    ),
    (
        "cog list regex",
        {
            "type": "array",
            "items": {"type": "string"},
            "pattern": "^[a-z]+$",
            "default": ["a", "B"],
        },
        "default item at index 1 ('B') does not match its regex '^[a-z]+$'",
    ),
    (
        "cog list ge/le fine",
        {**ARRAY_OF_INT, "minimum": 0, "maximum": 10, "default": [0, 10]},
        None,
    ),
    # ...and a list's choices as allOf an enum of the element
    ("cog list choices", {**SIZE_CHOICES, "default": [1, 4]}, None),
    (
        "cog list choice missing",
        {**SIZE_CHOICES, "default": [1, 3]},
        "default item at index 1 (3) is not one of its choices 1, 2, 4",
    ),
    # unions
    ("union", {"anyOf": [{"type": "string"}, {"type": "integer"}], "default": 2}, None),
    (
        "outside union",
        {"anyOf": [{"type": "string"}, {"type": "integer"}], "default": 1.5},
        "default 1.5 matches none of its alternative types",
    ),
    # other keywords
    (
        "multiple of",
        {**INTEGER, "multipleOf": 8, "default": 12},
        "default 12 is not a multiple of 8",
    ),
]


@pytest.mark.parametrize(
    ("prop", "said"), [c[1:] for c in DEFAULT_CASES], ids=[c[0] for c in DEFAULT_CASES]
)
def test_a_default_is_checked_against_its_own_schema(
    prop: dict[str, Any], said: str | None
) -> None:
    expected = [] if said is None else [f"input 'x' {said} {WHY}"]
    assert lint_schema(doc({"x": {"description": "d", **prop}})) == expected


def test_train_checks_the_defaults_of_training_input_only() -> None:
    schema = doc(
        {"seed": {**INTEGER, "default": -1, "minimum": 0}},
        training={"steps": {**INTEGER, "default": 0, "minimum": 1}},
    )
    assert lint_schema(schema) == [f"input 'seed' default -1 is below its minimum 0 {WHY}"]
    assert lint_schema(schema, train=True) == [
        f"training input 'steps' default 0 is below its minimum 1 {WHY}"
    ]


def test_every_problem_is_reported_at_once_in_input_order() -> None:
    schema = doc(
        {
            "num": {"type": "integer", "default": 1, "minimum": 2, "maximum": 10},
            "mode": {**MODE_CHOICES, "description": "Mode", "default": "slow"},
            "name": {**TEXT, "default": "abcd!", "maxLength": 3, "pattern": "^[a-z]+$"},
            "old": {**INTEGER, "deprecated": True, "default": 0, "minimum": 1},
            "fine": {**INTEGER, "default": 5, "minimum": 1},
        }
    )
    assert lint_schema(schema) == [
        "input 'num' has no description",
        f"input 'num' default 1 is below its minimum 2 {WHY}",
        f"input 'mode' default 'slow' is not one of its choices 'fast', 'best' {WHY}",
        f"input 'name' default is longer than its max_length 3 {WHY}",
        f"input 'name' default 'abcd!' does not match its regex '^[a-z]+$' {WHY}",
        # deprecated needs no description, but Cog still refuses its default
        f"input 'old' default 0 is below its minimum 1 {WHY}",
    ]


def test_messages_stay_one_short_line_whatever_the_default() -> None:
    long_text = "line one\nline two; " + "x" * 500
    choices = [f"choice{i}" for i in range(30)]
    schema = doc(
        {
            "text": {**TEXT, "default": long_text, "pattern": "^[a-z]+$"},
            "pick": {**TEXT, "enum": choices, "default": "other"},
        }
    )
    problems = lint_schema(schema)
    assert len(problems) == 2
    assert all("\n" not in p and len(p) < 300 for p in problems)
    assert problems[0].startswith("input 'text' default 'line one\\nline two; xxx")
    assert "..." in problems[0] and "'choice9', ..." in problems[1]
    assert "choice10" not in problems[1]


def test_a_schema_jsonschema_cannot_read_is_left_to_other_checks() -> None:
    schema = doc(
        {
            "bad_regex": {**TEXT, "pattern": "([", "default": "a"},
            "bad_type": {"type": "file", "description": "d", "default": "a"},
        }
    )
    assert lint_schema(schema) == []


COG_PREDICTOR = """
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        num: int = Input(description="Number", default=1, ge=2, le=10),
        edge: int = Input(description="On the bound", default=2, ge=2, le=10),
        ratio: float = Input(description="Integer default for a float", default=1, le=1.5),
        mode: str = Input(description="Mode", default="fast", choices=["fast", "best"]),
        sizes: list[int] = Input(description="Sizes", choices=[1, 2, 4], default=[1, 4]),
        scores: list[int] = Input(description="Scores", default=[1, 20], ge=0, le=10),
    ) -> str:
        return ""
"""


def test_the_real_generators_document_for_a_default_below_ge_is_refused(tmp_path: Path) -> None:
    """`num: int = Input(default=1, ge=2, le=10)`: Cog refuses to build it; we once pushed it."""
    (tmp_path / "predict.py").write_text(COG_PREDICTOR)
    (tmp_path / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    document = generate_schema(tmp_path, sys.executable)
    num = document["components"]["schemas"]["Input"]["properties"]["num"]
    assert (num["default"], num["minimum"], num["maximum"]) == (1, 2, 10)  # emitted, not refused
    assert lint_schema(document) == [
        f"input 'num' default 1 is below its minimum 2 {WHY}",
        f"input 'scores' default item at index 1 (20) is above its maximum 10 {WHY}",
    ]
