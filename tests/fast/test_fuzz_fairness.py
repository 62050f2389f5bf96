"""The offline generator is fair to the model: it sends what real users send.

Fair means: dicts have content, required text is never empty, numbers come from inside
their range, the first payload is the everyday one, and edge values (bounds, empty optional
values, long text) are tried in a minority of payloads only. Every payload validates.
"""

from __future__ import annotations

import re

import pytest

from tasks.fuzz.generate import generate_schema_inputs, specials
from tasks.fuzz.objects import free_pairs
from tasks.fuzz.repair import OMIT
from tasks.fuzz.schema_view import properties
from tasks.fuzz.text import LONG_TEXT_CHARS, PROMPTS
from tasks.fuzz.validate import validate_payload

SIZE = {
    "type": "object",
    "x-order": 4,
    "description": "Output size",
    "required": ["width", "height"],
    "properties": {
        "width": {"type": "integer", "minimum": 64, "maximum": 2048},
        "height": {"type": "integer", "minimum": 64, "maximum": 2048},
        "label": {"type": "string", "maxLength": 20},
        "tiled": {"type": "boolean"},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 4},
    },
    "additionalProperties": False,
}

# Shaped like a Cog model with dict inputs (`config: dict`, `metadata: dict = None`).
SCHEMA = {
    "type": "object",
    "required": ["prompt", "config", "steps", "size"],
    "properties": {
        "prompt": {"type": "string", "x-order": 0, "description": "Prompt"},
        "config": {"type": "object", "x-order": 1, "description": "Generation settings"},
        "metadata": {"type": "object", "nullable": True, "x-order": 2},
        "steps": {"type": "integer", "minimum": 1, "maximum": 100, "x-order": 3},
        "size": SIZE,
        "guidance": {"type": "number", "minimum": 0, "maximum": 20, "default": 7.5, "x-order": 5},
        "negative_prompt": {"type": "string", "x-order": 6, "description": "What to avoid"},
        "scheduler": {"enum": ["DDIM", "K_EULER", "PNDM"], "default": "DDIM", "x-order": 7},
        "seed": {"type": "integer", "nullable": True, "x-order": 8},
    },
}


def edge_count(payload: dict) -> int:
    """How many edge values one payload of SCHEMA carries."""
    edges = [
        payload["steps"] in (1, 100),
        payload.get("guidance") in (0, 20),
        len(payload["prompt"]) >= LONG_TEXT_CHARS,
        payload.get("negative_prompt") == "",
        len(payload.get("negative_prompt", "")) >= LONG_TEXT_CHARS,
        payload.get("metadata") == {},
    ]
    return sum(edges)


@pytest.fixture(scope="module")
def fifty() -> list[dict]:
    return generate_schema_inputs(SCHEMA, 50, seed=2024)


def test_every_payload_validates(fifty: list[dict]):
    assert len(fifty) == 50
    assert [validate_payload(p, SCHEMA) for p in fifty] == [[]] * 50


def test_required_dicts_always_have_content(fifty: list[dict]):
    assert all(p["config"] for p in fifty)
    keys = {k for p in fifty for k in p["config"]}
    assert keys <= {k for k, _ in free_pairs("config")}  # settings, as a user sends them
    assert len(keys) >= 3  # and not always the same ones


def test_optional_dicts_are_mostly_filled(fifty: list[dict]):
    sent = [p["metadata"] for p in fifty if "metadata" in p]
    assert len(sent) >= 25
    assert sum(bool(m) for m in sent) >= 0.9 * len(sent)  # {} is an occasional edge at most


def test_property_typed_object_gets_its_declared_keys_and_types(fifty: list[dict]):
    declared = set(SIZE["properties"])
    for payload in fifty:
        size = payload["size"]
        assert {"width", "height"} <= set(size) <= declared
        assert all(isinstance(size[k], int) and 64 <= size[k] <= 2048 for k in ("width", "height"))
        assert isinstance(size.get("label", ""), str) and len(size.get("label", "")) <= 20
        assert isinstance(size.get("tiled", False), bool)
        if "ratio" in size:
            assert isinstance(size["ratio"], float) and 0 < size["ratio"] <= 4
    assert any("label" in p["size"] for p in fifty) and any("tiled" in p["size"] for p in fifty)


def test_required_strings_are_never_empty(fifty: list[dict]):
    assert all(p["prompt"].strip() for p in fifty)
    assert sum(p["prompt"] in PROMPTS for p in fifty) >= 40  # and read like real prompts


def test_required_integer_comes_from_inside_its_range(fifty: list[dict]):
    steps = [p["steps"] for p in fifty]
    assert sum(1 < s < 100 for s in steps) >= 0.9 * len(steps)
    assert len(set(steps)) >= 25  # spread over the range, not a handful of favourites
    assert min(steps) <= 30 and max(steps) >= 70


def test_short_runs_are_not_dominated_by_edges():
    """Ten payloads (the default run): the old generator spent about half on edge values."""
    near_bounds = edge_payloads = total = 0
    for seed in range(20):
        for index, payload in enumerate(generate_schema_inputs(SCHEMA, 10, seed=seed)):
            total += 1
            near_bounds += payload["steps"] in (1, 2, 99, 100)
            edge_payloads += edge_count(payload) > 0 and index > 0
    assert near_bounds <= 0.25 * total
    assert edge_payloads <= 0.25 * total


def test_edges_are_still_tried_but_a_minority(fifty: list[dict]):
    steps = {p["steps"] for p in fifty}
    assert {1, 100} <= steps
    assert {0, 20} <= {p.get("guidance") for p in fifty}
    assert any(len(p["prompt"]) >= LONG_TEXT_CHARS for p in fifty)
    assert any(p.get("negative_prompt") == "" for p in fifty)  # optional: "" is fair to try
    assert sum(edge_count(p) > 0 for p in fifty) <= 0.25 * len(fifty)


def test_first_payload_is_the_everyday_one(fifty: list[dict]):
    first = fifty[0]
    assert first["guidance"] == 7.5 and first["scheduler"] == "DDIM"
    assert first["prompt"] == PROMPTS[0]
    assert 1 < first["steps"] < 100 and first["config"] and first["size"]
    assert "seed" not in first and "metadata" not in first and "negative_prompt" not in first
    assert edge_count(first) == 0


def test_a_long_run_tries_every_special_value():
    payloads = generate_schema_inputs(SCHEMA, 100, seed=5)
    required = set(SCHEMA["required"])
    for name, prop in properties(SCHEMA).items():
        sent = [p.get(name, OMIT) for p in payloads]
        for value in specials(name, prop, name in required):
            assert any(v is value or (v == value and type(v) is type(value)) for v in sent), (
                name,
                value if not isinstance(value, str) else value[:40],
            )


def test_same_seed_same_payloads_other_seed_other_payloads():
    first = generate_schema_inputs(SCHEMA, 12, seed=8)
    assert first == generate_schema_inputs(SCHEMA, 12, seed=8)
    assert first != generate_schema_inputs(SCHEMA, 12, seed=9)


CONSTRAINED = {
    "type": "object",
    "required": ["resolution", "code", "weights", "layers", "tags"],
    "properties": {
        "resolution": {"type": "string", "pattern": r"^\d+x\d+$", "description": "WxH"},
        "code": {"type": "string", "minLength": 3, "maxLength": 8},
        "title": {"type": "string", "maxLength": 12},
        "weights": {"type": "object", "additionalProperties": {"type": "number", "maximum": 1}},
        "headers": {"type": "object", "minProperties": 2, "maxProperties": 2},
        "env": {
            "type": "object",
            "patternProperties": {"^[A-Z_]+$": {"type": "string"}},
            "additionalProperties": False,
        },
        "layers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "opacity"],
                "properties": {
                    "name": {"type": "string"},
                    "opacity": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    },
}


def test_constrained_strings_and_objects_are_met_not_repaired_away():
    payloads = generate_schema_inputs(CONSTRAINED, 40, seed=3)
    assert [validate_payload(p, CONSTRAINED) for p in payloads] == [[]] * 40
    assert all(re.fullmatch(r"\d+x\d+", p["resolution"]) for p in payloads)
    assert all(3 <= len(p["code"]) <= 8 and not p["code"].endswith("xx") for p in payloads)
    titles = [p["title"] for p in payloads if p.get("title")]
    assert titles and all(len(t) <= 12 and not t.endswith(" ") for t in titles)
    assert all(p["weights"] and all(v <= 1 for v in p["weights"].values()) for p in payloads)
    assert all(len(p["headers"]) == 2 for p in payloads if "headers" in p)
    envs = [p["env"] for p in payloads if p.get("env")]
    assert envs and all(re.fullmatch("[A-Z_]+", k) for env in envs for k in env)
    assert all(layer["name"] for p in payloads for layer in p["layers"])


def test_an_optional_input_whose_pattern_cannot_be_met_is_left_out():
    schema = {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string"},
            "echo": {"type": "string", "pattern": r"^(ab)\1$"},  # a back-reference
        },
    }
    payloads = generate_schema_inputs(schema, 10, seed=1)
    assert [validate_payload(p, schema) for p in payloads] == [[]] * 10
    assert not any("echo" in p for p in payloads)
