"""Edge cases for differential testing: one input at a time at a boundary, the rest typical."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from tasks.fuzz.edge_cases import (
    ALL_OPTIONAL,
    LABEL_CHARS,
    SEED_LARGE,
    EdgeCase,
    edge_cases,
    pick_edge_cases,
)
from tasks.fuzz.schema_view import as_input_schema, properties
from tasks.fuzz.typical import SECRET_VALUE, typical_value
from tasks.fuzz.validate import validate_payload

URI = {"type": "string", "format": "uri"}
SECRET = {"type": "string", "format": "password", "writeOnly": True, "x-cog-secret": True}
REF = "#/components/schemas/"


def inputs(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An Input object schema, the properties numbered in the order given (x-order)."""
    numbered = {name: {**prop, "x-order": i} for i, (name, prop) in enumerate(props.items())}
    schema: dict[str, Any] = {"title": "Input", "type": "object", "properties": numbered}
    if required:
        schema["required"] = required
    return schema


def document(schemas: dict[str, Any]) -> dict[str, Any]:
    """A whole OpenAPI document around Cog's component schemas."""
    return {"openapi": "3.0.2", "info": {}, "paths": {}, "components": {"schemas": schemas}}


def values_of(cases: list[EdgeCase], name: str) -> list[Any]:
    return [c.payload[name] for c in cases if c.input_name == name]


def labels_of(cases: list[EdgeCase], name: str) -> list[str]:
    return [c.label for c in cases if c.input_name == name]


def baseline(schema: dict[str, Any], fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every case starts from, worked out here the way the brief states it."""
    schema = as_input_schema(schema)
    out = {
        name: typical_value(name, prop, random.Random(0))
        for name, prop in properties(schema).items()
        if name in (schema.get("required") or []) and name not in (fixed or {})
    }
    return {**out, **(fixed or {})}


# --- real Cog documents ------------------------------------------------------------------

# `python -m tasks.platforms.local.cog_schema examples/hello`, components only.
HELLO = document({
    "Input": {
        "title": "Input",
        "type": "object",
        "properties": {
            "name": {"x-order": 0, "title": "Name", "type": "string", "default": "world",
                     "description": "Who to greet", "maxLength": 200},
            "punctuation": {"x-order": 1, "allOf": [{"$ref": REF + "punctuation"}],
                            "default": "!", "description": "How to end the greeting"},
            "repeat": {"x-order": 2, "title": "Repeat", "type": "integer", "default": 1,
                       "description": "How many times to greet", "minimum": 1, "maximum": 3},
            "seed": {"x-order": 3, "title": "Seed", "type": "integer", "nullable": True,
                     "default": None, "description": "Random seed"},
        },
    },
    "punctuation": {"title": "punctuation", "description": "An enumeration.",
                    "enum": ["!", ".", "?"], "type": "string"},
    "Output": {"title": "Output", "type": "string"},
})  # fmt: skip

# tests/e2e/test_cog_expected_schemas.py, "static generator basics" (static_schema_gen.txtar).
STATIC_BASICS = document({
    "Input": {
        "title": "Input",
        "type": "object",
        "properties": {
            "text": {"title": "Text", "type": "string", "x-order": 0},
            "image": {"title": "Image", **URI, "x-order": 1},
            "count": {"title": "Count", "type": "integer", "default": 5, "description": "Count",
                      "minimum": 1, "maximum": 100, "x-order": 2},
            "mode": {"allOf": [{"$ref": REF + "mode"}], "default": "fast",
                     "description": "Mode", "x-order": 3},
            "name": {"title": "Name", "type": "string", "default": "abc", "description": "Name",
                     "minLength": 1, "maxLength": 100, "pattern": "^[a-z]+$", "x-order": 4},
            "ratio": {"title": "Ratio", "type": "number", "default": 0.5, "description": "Ratio",
                      "minimum": 0, "maximum": 1, "x-order": 5},
            "old": {"title": "Old", "type": "string", "default": "x", "description": "Old",
                    "deprecated": True, "x-order": 6},
            "seed": {"title": "Seed", "type": "integer", "description": "Seed", "x-order": 7},
            "level": {"allOf": [{"$ref": REF + "level"}], "default": 1, "description": "Level",
                      "x-order": 8},
        },
        "required": ["text", "image", "seed"],
    },
    "mode": {"title": "mode", "description": "An enumeration.",
             "enum": ["fast", "balanced", "quality"], "type": "string"},
    "level": {"title": "level", "description": "An enumeration.", "enum": [1, 2],
              "type": "integer"},
})  # fmt: skip

# tests/e2e/test_cog_expected_schemas.py, "constraints, choices, secret and a BaseModel
# output" (build_openapi_schema_complex.txtar).
COMPLEX = document({
    "Input": {
        "title": "Input",
        "type": "object",
        "properties": {
            "prompt": {"title": "Prompt", "type": "string", "default": "hi",
                       "description": "Prompt", "x-order": 0},
            "temperature": {"title": "Temperature", "type": "number", "default": 0.7,
                            "description": "Heat", "minimum": 0, "maximum": 2, "x-order": 1},
            "speed": {"allOf": [{"$ref": REF + "speed"}], "default": "medium",
                      "description": "Speed", "x-order": 2},
            "key": {"title": "Key", **SECRET, "description": "Key", "x-order": 3},
            "picture": {"title": "Picture", **URI, "default": None, "nullable": True,
                        "description": "Picture", "x-order": 4},
        },
        "required": ["key"],
    },
    "speed": {"title": "speed", "description": "An enumeration.",
              "enum": ["slow", "medium", "fast"], "type": "string"},
})  # fmt: skip

# tests/e2e/test_cog_expected_schemas.py, "list inputs" (string_list_input.txtar).
LISTS = document({
    "Input": {
        "title": "Input",
        "type": "object",
        "properties": {
            "tags": {"title": "Tags", "type": "array", "items": {"type": "string"},
                     "default": ["a", "b"], "description": "Tags", "x-order": 0},
            "sizes": {"allOf": [{"$ref": REF + "sizes"}], "default": [1],
                      "description": "Sizes", "x-order": 1},
            "ids": {"title": "Ids", "type": "array", "items": {"type": "integer"},
                    "description": "Ids", "x-order": 2},
            "words": {"title": "Words", "type": "array", "items": {"type": "string"},
                      "description": "Words", "x-order": 3},
        },
        "required": ["ids", "words"],
    },
    "sizes": {"title": "sizes", "description": "An enumeration.", "enum": [1, 2, 4],
              "type": "integer"},
})  # fmt: skip

# tests/e2e/test_cog_expected_schemas.py, "dict, TypedDict and list[dict] inputs" and
# "files: File and Path, lists of them, Path | None", merged.
DICTS_AND_FILES = document({
    "Input": {
        "title": "Input",
        "type": "object",
        "properties": {
            "point": {"title": "Point", "type": "object", "x-order": 0},
            "history": {"title": "History", "type": "array", "items": {"type": "object"},
                        "x-order": 1},
            "more": {"default": None, "items": {"type": "object"}, "nullable": True,
                     "title": "More", "type": "array", "x-order": 2},
            "upload": {"title": "Upload", **URI, "x-order": 3},
            "paths": {"title": "Paths", "type": "array", "items": URI, "x-order": 4},
            "scan": {"title": "Scan", **URI, "nullable": True, "default": None, "x-order": 5},
        },
        "required": ["point", "history", "upload", "paths"],
    },
})  # fmt: skip

# Shaped like a diffusion model's Input, with every kind of input at once.
MIXED = inputs(
    {
        "prompt": {"type": "string", "description": "Prompt"},
        "negative_prompt": {"type": "string", "default": "", "maxLength": 500},
        "image": {**URI, "description": "Input image"},
        "num_steps": {"type": "integer", "minimum": 1, "maximum": 50, "default": 25},
        "guidance": {"type": "number", "minimum": 0, "maximum": 20, "default": 7.5},
        "strength": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "scheduler": {"allOf": [{"enum": ["DDIM", "K_EULER", "PNDM"], "type": "string"}],
                      "default": "K_EULER"},
        "seed": {"type": "integer", "nullable": True},
        "fast": {"type": "boolean", "default": False},
        "tags": {"type": "array", "items": {"type": "string"}},
        "options": {"type": "object"},
        "api_key": {**SECRET},
    },
    ["prompt", "image", "api_key"],
)  # fmt: skip

SCHEMAS = {
    "hello": HELLO,
    "static basics": STATIC_BASICS,
    "complex": COMPLEX,
    "lists": LISTS,
    "dicts and files": DICTS_AND_FILES,
    "mixed": MIXED,
}


# --- properties that hold for every schema ---------------------------------------------


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_the_same_schema_gives_the_same_cases(name):
    first = edge_cases(copy.deepcopy(SCHEMAS[name]))
    second = edge_cases(copy.deepcopy(SCHEMAS[name]))
    assert first, name
    assert first == second


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_every_payload_is_valid(name):
    for case in edge_cases(SCHEMAS[name]):
        assert validate_payload(case.payload, SCHEMAS[name]) == [], case.label


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_each_case_changes_exactly_its_input(name):
    schema = SCHEMAS[name]
    base = baseline(schema)
    for case in edge_cases(schema):
        if case.input_name is None:
            continue
        rest = {k: v for k, v in case.payload.items() if k != case.input_name}
        assert rest == {k: v for k, v in base.items() if k != case.input_name}, case.label
        assert case.payload[case.input_name] != base.get(case.input_name, object()), case.label


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_labels_are_short_and_unique(name):
    labels = [case.label for case in edge_cases(SCHEMAS[name])]
    assert all(0 < len(label) <= LABEL_CHARS for label in labels), labels
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_payloads_share_no_lists_or_dicts(name):
    """Changing one case's payload (a caller adding a key...) leaves the others alone."""
    cases = edge_cases(SCHEMAS[name])
    before = copy.deepcopy(cases)
    for index, case in enumerate(cases):
        for value in case.payload.values():
            if isinstance(value, list):
                value.append("changed")
            elif isinstance(value, dict):
                value["changed"] = True
        assert cases[index + 1 :] == before[index + 1 :], case.label
    assert edge_cases(SCHEMAS[name]) == before


# --- real documents, in full ------------------------------------------------------------


def test_the_hello_example_in_full():
    assert [c.label for c in edge_cases(HELLO)] == [
        ALL_OPTIONAL,
        "name=''",
        "punctuation='.'",
        "repeat=3 (maximum)",  # 1 is the default
        "seed=0",
        "name='héllo 你好 🌍 …' (non-ASCII)",
        "punctuation='?'",
        "seed=-1",
        "name=<200 chars>",
        "seed=4294967295",
    ]
    everything = edge_cases(HELLO)[0]
    assert everything.input_name is None
    assert everything.payload == {"name": "world", "punctuation": "!", "repeat": 1, "seed": 1}


def test_the_static_basics_document():
    cases = edge_cases(STATIC_BASICS)
    assert values_of(cases, "text")[0] == ""  # a required string still gets ''
    assert values_of(cases, "image") == []  # a file has no edge value
    assert values_of(cases, "count") == [1, 100]
    assert values_of(cases, "mode") == ["balanced", "quality"]
    assert values_of(cases, "name") == []  # ^[a-z]+$, minLength 1: no '', no accents, no spaces
    assert values_of(cases, "ratio") == [0.0, 1.0]
    assert values_of(cases, "seed") == [0, -1, SEED_LARGE]
    assert values_of(cases, "level") == [2]
    assert len(values_of(cases, "old")) == 3  # '', non-ASCII, long
    for case in cases:
        assert case.payload["image"].startswith("data:image/")  # the baseline's sample file


def test_the_complex_document_keeps_the_secret_and_skips_defaults():
    cases = edge_cases(COMPLEX)
    assert all(case.payload["key"] == SECRET_VALUE for case in cases)
    assert all(case.input_name != "key" for case in cases)
    assert values_of(cases, "temperature") == [0.0, 2.0]
    assert values_of(cases, "speed") == ["slow", "fast"]
    assert values_of(cases, "picture") == []
    assert "" in values_of(cases, "prompt")
    everything = cases[0]
    assert everything.label == ALL_OPTIONAL
    assert set(everything.payload) == {"prompt", "temperature", "speed", "picture", "key"}


def test_list_inputs_get_empty_and_long_lists():
    cases = edge_cases(LISTS)
    assert values_of(cases, "tags")[0] == []
    assert len(values_of(cases, "tags")[1]) == 5
    assert labels_of(cases, "tags") == ["tags=[]", "tags=<5 items>"]
    assert values_of(cases, "sizes") == [1, 2, 4]  # choices; the default is [1], not 1
    assert values_of(cases, "ids")[0] == []
    assert all(isinstance(v, int) for v in values_of(cases, "ids")[1])


def test_dicts_and_files():
    cases = edge_cases(DICTS_AND_FILES)
    assert values_of(cases, "point") == [{}]
    assert values_of(cases, "upload") == []
    assert values_of(cases, "scan") == []
    # [] for a list of files is a classic crash (files[0]); five files are not sent.
    assert values_of(cases, "paths") == [[]]
    assert values_of(cases, "history")[0] == []
    assert len(values_of(cases, "history")[1]) == 5


# --- strings ------------------------------------------------------------------------------


def _non_ascii_ok(text: str) -> bool:
    accents = any(ch in "éèüöçñ" for ch in text)
    cjk = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    emoji = any(ord(ch) >= 0x1F300 for ch in text)
    return accents and cjk and emoji


def test_free_text_gets_empty_non_ascii_and_long_text():
    cases = edge_cases(inputs({"text": {"type": "string"}}))
    empty, foreign, long = values_of(cases, "text")
    assert empty == ""
    assert _non_ascii_ok(foreign)
    assert len(long) == 1000 and long.isascii()
    assert labels_of(cases, "text") == [
        "text=''",
        "text='héllo 你好 🌍 …' (non-ASCII)",
        "text=<1000 chars>",
    ]


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"maxLength": 5000}, ["", "non-ascii", 5000]),
        ({"maxLength": 200}, ["", "non-ascii", 200]),
        ({"maxLength": 80}, ["", "non-ascii"]),  # 80 characters is everyday text
        ({"maxLength": 10}, ["", "non-ascii"]),
        ({"maxLength": 1}, ["", "non-ascii"]),
        ({"minLength": 3}, ["non-ascii", 1000]),
        ({"minLength": 1, "maxLength": 100}, ["non-ascii", 100]),
        ({"pattern": "^[a-z]+$"}, []),
        ({"pattern": "^[^0-9]*$"}, ["", "non-ascii"]),  # the long text has digits (35mm)
        ({"pattern": "^\\S+$"}, ["non-ascii"]),
    ],
)
def test_strings_respect_length_and_pattern(limits, expected):
    schema = inputs({"text": {"type": "string", **limits}})
    got = []
    for value in values_of(edge_cases(schema), "text"):
        assert validate_payload({"text": value}, schema) == []
        if value == "":
            got.append("")
        elif not value.isascii():
            got.append("non-ascii")
        else:
            got.append(len(value))
    assert got == expected


def test_non_ascii_text_fits_a_short_max_length():
    for max_len in (1, 3, 10, 15, 40):
        schema = inputs({"text": {"type": "string", "maxLength": max_len}})
        foreign = [v for v in values_of(edge_cases(schema), "text") if not v.isascii()]
        assert len(foreign) == 1 and len(foreign[0]) <= max_len
        assert any(ord(ch) >= 0x1F300 for ch in foreign[0])


def test_a_required_string_gets_empty_text_when_allowed():
    schema = inputs({"text": {"type": "string"}}, ["text"])
    assert values_of(edge_cases(schema), "text")[0] == ""
    schema = inputs({"text": {"type": "string", "minLength": 1}}, ["text"])
    assert "" not in values_of(edge_cases(schema), "text")


def test_a_string_default_is_not_repeated():
    schema = inputs({"text": {"type": "string", "default": ""}})
    values = values_of(edge_cases(schema), "text")
    assert "" not in values and len(values) == 2


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": "integer", "minimum": 1, "maximum": 50, "default": 25}, [1, 50]),
        ({"type": "integer", "minimum": 1, "maximum": 50, "default": 50}, [1]),
        ({"type": "integer", "minimum": 1, "maximum": 50, "default": 1}, [50]),
        ({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}, [1, 9]),
        (
            {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "maximum": 10,
             "exclusiveMaximum": True},
            [1, 9],
        ),
        ({"type": "number", "minimum": 0, "maximum": 20, "default": 7.5}, [0.0, 20.0]),
        ({"type": "number", "minimum": 0.5, "maximum": 2.5}, [0.5, 2.5]),
        ({"type": "number", "minimum": 0, "maximum": 5, "default": 0}, [5.0]),  # 0.0 == 0
        ({"type": "integer", "default": 7}, [0, -1, 100]),
        ({"type": "integer", "default": 20}, [0, -1, 200]),
        ({"type": "integer", "default": -30}, [0, -1, 300]),
        ({"type": "integer", "default": 0}, [-1, 100]),
        ({"type": "integer", "nullable": True}, [0, -1, 100]),
        ({"type": "number", "default": 7.5}, [0.0, -1.0, 75.0]),
        ({"type": "number"}, [0.0, -1.0, 10.0]),
        ({"type": "integer", "minimum": 0}, [0, 100]),
        ({"type": "integer", "minimum": 1, "default": 4}, [100, 1]),
        ({"type": "integer", "maximum": 5}, [0, -1, 5]),
        ({"type": "integer", "minimum": -5}, [0, -1, 100, -5]),
        ({"type": "integer", "exclusiveMinimum": 0}, [100, 1]),
        ({"type": "number", "minimum": 0, "exclusiveMinimum": True}, [10.0, 0.001]),
        ({"type": "integer", "maximum": 50, "default": 20}, [0, -1, 50]),  # 200 is too big
    ],
)  # fmt: skip
def test_number_edges(prop, expected):
    schema = inputs({"steps": prop})
    values = values_of(edge_cases(schema), "steps")
    assert values == expected
    integer = prop["type"] == "integer"
    assert all(isinstance(v, int) if integer else isinstance(v, float) for v in values)


def test_exclusive_float_bounds_stay_inside():
    schema = inputs({"strength": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}})
    low, high = values_of(edge_cases(schema), "strength")
    assert 0 < low < 0.01 and 0.99 < high < 1
    assert labels_of(edge_cases(schema), "strength") == [
        "strength=0.001 (minimum)",
        "strength=0.999 (maximum)",
    ]


def test_number_labels():
    schema = inputs({
        "steps": {"type": "integer", "minimum": 1, "maximum": 50, "default": 25},
        "scale": {"type": "number", "default": 3.0},
    })  # fmt: skip
    cases = edge_cases(schema)
    assert labels_of(cases, "steps") == ["steps=1 (minimum)", "steps=50 (maximum)"]
    assert labels_of(cases, "scale") == ["scale=0", "scale=-1", "scale=30"]


@pytest.mark.parametrize("name", ["seed", "random_seed", "noise_seed", "Seed"])
def test_a_seed_gets_the_largest_value_numpy_takes(name):
    schema = inputs({name: {"type": "integer", "nullable": True, "default": None}})
    cases = edge_cases(schema)
    assert values_of(cases, name) == [0, -1, 2**32 - 1]
    assert labels_of(cases, name)[-1] == f"{name}=4294967295"


def test_a_bounded_seed_keeps_its_bounds_and_a_non_seed_is_not_sent_2_32():
    schema = inputs({
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "seeds_per_batch": {"type": "integer", "default": 3},
        "steps": {"type": "integer"},
    })  # fmt: skip
    cases = edge_cases(schema)
    assert values_of(cases, "seed") == [0, 2**31 - 1]
    assert values_of(cases, "seeds_per_batch") == [0, -1, 100]  # "seeds" is not "seed"
    assert max(values_of(cases, "steps")) == 100


# --- choices, booleans, lists, objects, files --------------------------------------------


def test_every_other_choice_in_order():
    schema = inputs({
        "mode": {"type": "string", "enum": ["slow", "medium", "fast", "turbo"],
                 "default": "medium"},
        "level": {"allOf": [{"enum": [1, 2, 3], "type": "integer"}], "default": 3},
    })  # fmt: skip
    cases = edge_cases(schema)
    assert values_of(cases, "mode") == ["slow", "fast", "turbo"]
    assert labels_of(cases, "mode") == ["mode='slow'", "mode='fast'", "mode='turbo'"]
    assert values_of(cases, "level") == [1, 2]


def test_a_required_choice_without_a_default_skips_its_typical_value():
    schema = inputs({"mode": {"type": "string", "enum": ["a", "b", "c"]}}, ["mode"])
    assert values_of(edge_cases(schema), "mode") == ["b", "c"]


def test_a_choice_the_schema_rejects_is_dropped():
    schema = inputs({"mode": {"type": "string", "enum": ["a", "bb", "c"], "maxLength": 1}})
    assert values_of(edge_cases(schema), "mode") == ["a", "c"]


@pytest.mark.parametrize(
    ("prop", "required", "expected"),
    [
        ({"type": "boolean", "default": False}, False, [True]),
        ({"type": "boolean", "default": True}, False, [False]),
        ({"type": "boolean"}, False, [True, False]),
        ({"type": "boolean", "nullable": True, "default": None}, False, [True, False]),
        ({"type": "boolean"}, True, [True]),  # the baseline sends False
    ],
)
def test_booleans(prop, required, expected):
    schema = inputs({"upscale": prop}, ["upscale"] if required else None)
    cases = edge_cases(schema)
    assert values_of(cases, "upscale") == expected
    assert labels_of(cases, "upscale") == [f"upscale={v}" for v in expected]


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({}, [0, 5]),
        ({"minItems": 1}, [5]),
        ({"maxItems": 3}, [0]),
        ({"maxItems": 4}, [0, 4]),
        ({"minItems": 2, "maxItems": 8}, [5]),
    ],
)
def test_lists(limits, expected):
    schema = inputs({"tags": {"type": "array", "items": {"type": "string"}, **limits}})
    values = values_of(edge_cases(schema), "tags")
    assert [len(v) for v in values] == expected
    assert all(item for v in values for item in v)  # the long list holds real values


def test_a_list_default_of_nothing_is_not_repeated():
    schema = inputs({"tags": {"type": "array", "items": {"type": "string"}, "default": []}})
    assert [len(v) for v in values_of(edge_cases(schema), "tags")] == [5]


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": "object"}, [{}]),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, [{}]),
        ({"type": "object", "minProperties": 1}, []),
        ({"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}, []),
        ({"type": "object", "default": {}}, []),
    ],
)
def test_objects(prop, expected):
    assert values_of(edge_cases(inputs({"options": prop})), "options") == expected


def test_files_have_no_edge_values():
    schema = inputs({"image": {**URI}, "mask": {**URI, "nullable": True, "default": None}})
    cases = edge_cases(schema, fixed={"image": "https://example.com/a.png"})
    assert [c.input_name for c in cases] == [None]
    assert cases[0].payload["mask"].startswith("data:image/")


# --- fixed, disabled, secrets ---------------------------------------------------------------


def test_fixed_inputs_are_sent_and_never_varied():
    fixed = {"num_steps": 4, "scheduler": "DDIM"}
    cases = edge_cases(MIXED, fixed=fixed)
    assert cases
    for case in cases:
        assert case.input_name not in fixed
        assert {k: case.payload[k] for k in fixed} == fixed
    varied = cases[1].input_name
    expected = {k: v for k, v in baseline(MIXED, fixed).items() if k != varied}
    assert {k: v for k, v in cases[1].payload.items() if k != varied} == expected


def test_disabled_inputs_are_never_sent():
    cases = edge_cases(MIXED, disabled=["seed", "negative_prompt"])
    assert cases
    for case in cases:
        assert "seed" not in case.payload and "negative_prompt" not in case.payload
    assert {c.input_name for c in cases} & {"seed", "negative_prompt"} == set()


def test_a_disabled_input_wins_over_a_fixed_one():
    cases = edge_cases(MIXED, fixed={"seed": 3}, disabled=["seed"])
    assert all("seed" not in case.payload for case in cases)


def test_secrets_are_never_varied_nor_given_as_optional():
    schema = inputs(
        {"text": {"type": "string"}, "token": {**SECRET}, "proxy": {**SECRET, "nullable": True}},
        ["token"],
    )
    cases = edge_cases(schema)
    assert {c.input_name for c in cases} == {None, "text"}
    assert all(c.payload["token"] == SECRET_VALUE for c in cases)
    assert all("proxy" not in c.payload for c in cases)


# --- all optional inputs, order and budget ------------------------------------------------


def test_all_optional_inputs_given_comes_first():
    cases = edge_cases(MIXED, fixed={"num_steps": 4}, disabled=["fast"])
    first = cases[0]
    assert first.label == ALL_OPTIONAL and first.input_name is None
    optional = {"negative_prompt", "guidance", "strength", "scheduler", "seed", "tags", "options"}
    assert set(first.payload) == optional | {"prompt", "image", "api_key", "num_steps"}
    assert first.payload["num_steps"] == 4
    assert [c for c in cases if c.input_name is None] == [first]


def test_no_all_optional_case_without_optional_inputs():
    schema = inputs({"text": {"type": "string"}, "n": {"type": "integer"}}, ["text", "n"])
    assert all(case.input_name is not None for case in edge_cases(schema))
    only_secret = inputs({"text": {"type": "string"}, "key": {**SECRET}}, ["text"])
    assert all(case.input_name is not None for case in edge_cases(only_secret))


def test_round_robin_over_inputs_in_schema_order():
    schema = inputs(
        {
            "text": {"type": "string"},
            "steps": {"type": "integer", "minimum": 1, "maximum": 50, "default": 25},
            "mode": {"type": "string", "enum": ["a", "b", "c", "d"], "default": "a"},
            "flag": {"type": "boolean", "default": False},
            "scale": {"type": "number", "default": 1.0},
        },
        ["text"],
    )
    assert [c.label for c in edge_cases(schema)] == [
        ALL_OPTIONAL,
        "text=''",
        "steps=1 (minimum)",
        "mode='b'",
        "flag=True",
        "scale=0",
        "text='héllo 你好 🌍 …' (non-ASCII)",
        "steps=50 (maximum)",
        "mode='c'",
        "scale=-1",
        "text=<1000 chars>",
        "mode='d'",
        "scale=10",
    ]


def test_x_order_decides_the_order_not_the_dict_order():
    schema = {
        "type": "object",
        "properties": {
            "late": {"type": "boolean", "x-order": 1},
            "early": {"type": "boolean", "x-order": 0},
        },
        "required": ["late", "early"],
    }
    assert [c.input_name for c in edge_cases(schema)] == ["early", "late"]


def test_a_whole_document_and_its_input_schema_give_the_same_cases():
    assert edge_cases(HELLO) == edge_cases(as_input_schema(HELLO))


@pytest.mark.parametrize("budget", [-3, 0])
def test_no_budget_no_cases(budget):
    assert pick_edge_cases(edge_cases(MIXED), budget) == []


def test_pick_takes_the_first_cases_and_never_more_than_exist():
    cases = edge_cases(MIXED)
    assert pick_edge_cases(cases, 5) == cases[:5]
    assert pick_edge_cases(cases, len(cases) + 10) == cases
    assert pick_edge_cases([], 3) == []


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_a_small_budget_spreads_over_the_inputs(name):
    cases = edge_cases(SCHEMAS[name])
    varied = []
    for case in cases:
        if case.input_name not in varied and case.input_name is not None:
            varied.append(case.input_name)
    picked = pick_edge_cases(cases, 1 + len(varied))
    names = [c.input_name for c in picked if c.input_name is not None]
    assert sorted(names) == sorted(varied), "each input once before any twice"
    assert picked[0].input_name is None or not any(c.input_name is None for c in cases)


def test_a_disabled_required_input_leaves_nothing_valid_to_send():
    """Every payload would lack a required input: none is sent rather than a rejected one."""
    schema = inputs({"text": {"type": "string"}, "n": {"type": "integer"}}, ["text"])
    assert edge_cases(schema, disabled=iter(["text"])) == []


def test_a_long_text_label_gives_its_length():
    schema = inputs({"text": {"type": "string", "maxLength": 5000}})
    assert labels_of(edge_cases(schema), "text")[-1] == "text=<5000 chars>"


def test_long_names_and_choices_keep_labels_short():
    name = "a_very_long_input_name_that_goes_on_and_on_and_on_for_ever"
    schema = inputs({name: {"type": "string", "enum": ["x" * 90, "y" * 90]}})
    labels = [case.label for case in edge_cases(schema)]
    assert len(labels) == 3 and all(len(label) <= LABEL_CHARS for label in labels)
    assert len(set(labels)) == 3
