"""One test per compatibility rule, on schema pairs shaped like the ones Cog and Replicate serve."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tasks.schema.diff import Finding, breaking, diff_schemas, format_findings

# --------------------------------------------------------------------------------------------
# A builder for Cog-shaped OpenAPI documents
# --------------------------------------------------------------------------------------------


def inp(type_: str | None = "string", order: int = 0, **extra: Any) -> dict[str, Any]:
    """One input property the way Cog writes it (title, x-order, description, ...)."""
    prop: dict[str, Any] = {"x-order": order, "description": "An input."}
    if type_ is not None:
        prop["type"] = type_
    prop.update(extra)
    return prop


def cog_doc(
    inputs: dict[str, dict[str, Any]],
    output: dict[str, Any] | None = None,
    *,
    required: list[str] | None = None,
    choices: dict[str, list[Any]] | None = None,
    training_inputs: dict[str, dict[str, Any]] | None = None,
    training_output: dict[str, Any] | None = None,
    training_required: list[str] | None = None,
    extra_components: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A full OpenAPI document like `cog` generates: choices become allOf[$ref] components."""
    schemas: dict[str, Any] = {
        "Status": {
            "title": "Status",
            "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
            "type": "string",
            "description": "An enumeration.",
        },
        "PredictionRequest": {
            "title": "PredictionRequest",
            "type": "object",
            "properties": {"input": {"$ref": "#/components/schemas/Input"}},
        },
        "PredictionResponse": {
            "title": "PredictionResponse",
            "type": "object",
            "properties": {
                "input": {"$ref": "#/components/schemas/Input"},
                "output": {"$ref": "#/components/schemas/Output"},
                "status": {"$ref": "#/components/schemas/Status"},
            },
        },
    }
    properties: dict[str, Any] = {}
    for name, prop in inputs.items():
        prop = copy.deepcopy(prop)
        prop.setdefault("title", name.replace("_", " ").title())
        if choices and name in choices:
            values = choices[name]
            kind = "integer" if all(isinstance(v, int) for v in values) else "string"
            schemas[name] = {
                "title": name,
                "description": "An enumeration.",
                "enum": values,
                "type": kind,
            }
            prop.pop("type", None)
            prop["allOf"] = [{"$ref": f"#/components/schemas/{name}"}]
        properties[name] = prop
    schemas["Input"] = {"type": "object", "title": "Input", "properties": properties}
    if required:
        schemas["Input"]["required"] = required
    schemas["Output"] = {
        "title": "Output",
        **(output if output is not None else {"type": "string"}),
    }
    if training_inputs is not None:
        schemas["TrainingInput"] = {
            "type": "object",
            "title": "TrainingInput",
            "properties": copy.deepcopy(training_inputs),
        }
        if training_required:
            schemas["TrainingInput"]["required"] = training_required
    if training_output is not None:
        schemas["TrainingOutput"] = {"title": "TrainingOutput", **training_output}
    schemas.update(extra_components or {})
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {"schemas": schemas},
    }


FILE = {"type": "string", "format": "uri"}
WEIGHTS_OUTPUT = {"type": "object", "properties": {"weights": {**FILE, "title": "Weights"}}}


def verdicts(findings: list[Finding]) -> dict[str, bool]:
    return {f.rule: f.breaking for f in findings}


def only(findings: list[Finding], rule: str) -> Finding:
    matches = [f for f in findings if f.rule == rule]
    assert len(matches) == 1, findings
    return matches[0]


def diff_inputs(old: dict[str, Any], new: dict[str, Any], **kw: Any) -> list[Finding]:
    return diff_schemas(cog_doc({"x": old}, **kw), cog_doc({"x": new}, **kw))


def diff_outputs(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    return diff_schemas(cog_doc({}, old), cog_doc({}, new))


# --------------------------------------------------------------------------------------------
# Identity, ordering, formatting
# --------------------------------------------------------------------------------------------


def test_identical_schemas_have_no_findings() -> None:
    doc = cog_doc(
        {"prompt": inp(order=0), "steps": inp("integer", 1, default=20, minimum=1, maximum=50)},
        {"type": "array", "items": FILE},
        required=["prompt"],
        choices={"scheduler": ["DDIM", "K_EULER"]},
    )
    assert diff_schemas(doc, copy.deepcopy(doc)) == []


def test_breaking_findings_come_first_and_format_one_line_each() -> None:
    old = cog_doc({"prompt": inp(), "steps": inp("integer", 1, default=20)})
    new = cog_doc({"prompt": inp(), "seed": inp("integer", 2)})
    findings = diff_schemas(old, new)
    assert [f.breaking for f in findings] == sorted((f.breaking for f in findings), reverse=True)
    assert findings[0].rule == "input-removed" and findings[-1].rule == "input-added"
    text = format_findings(findings)
    lines = text.splitlines()
    assert len(lines) == len(findings)
    assert lines[0].startswith("BREAKING") and "steps" in lines[0]
    assert lines[-1].startswith("ok") and "seed" in lines[-1]
    assert breaking(findings) == [findings[0]]
    assert findings[0].to_dict() == {
        "rule": "input-removed",
        "path": "input.steps",
        "message": findings[0].message,
        "breaking": True,
    }


# --------------------------------------------------------------------------------------------
# Inputs removed, renamed, added, required-ness, deprecated
# --------------------------------------------------------------------------------------------


def test_input_removed_is_breaking() -> None:
    old = cog_doc({"prompt": inp(), "negative_prompt": inp(order=1, default="")})
    new = cog_doc({"prompt": inp()})
    f = only(diff_schemas(old, new), "input-removed")
    assert f.breaking and f.path == "input.negative_prompt" and "negative_prompt" in f.message


def test_input_renamed_is_breaking_and_named() -> None:
    old = cog_doc({"num_steps": inp("integer", 0, default=20, minimum=1)})
    new = cog_doc({"num_inference_steps": inp("integer", 0, default=20, minimum=1)})
    findings = diff_schemas(old, new)
    f = only(findings, "input-renamed")
    assert f.breaking and "num_steps" in f.message and "num_inference_steps" in f.message
    assert verdicts(findings)["input-added"] is False


def test_new_optional_input_without_default_is_not_breaking() -> None:
    old = cog_doc({"prompt": inp()}, required=["prompt"])
    new = cog_doc(
        {"prompt": inp(), "seed": inp("integer", 1, description="Random seed")},
        required=["prompt"],
    )
    f = only(diff_schemas(old, new), "input-added")
    assert not f.breaking and f.path == "input.seed"


def test_new_required_input_is_breaking() -> None:
    old = cog_doc({"prompt": inp()}, required=["prompt"])
    new = cog_doc({"prompt": inp(), "image": inp(**FILE)}, required=["prompt", "image"])
    f = only(diff_schemas(old, new), "input-added-required")
    assert f.breaking and "image" in f.message


def test_input_with_default_becoming_required_is_breaking() -> None:
    old = cog_doc({"prompt": inp(default="a cat")})
    new = cog_doc({"prompt": inp()}, required=["prompt"])
    findings = diff_schemas(old, new)
    assert verdicts(findings)["input-now-required"] is True
    assert verdicts(findings)["default-changed"] is False
    assert "prompt" in only(findings, "input-now-required").message


def test_required_input_becoming_optional_is_not_breaking() -> None:
    old = cog_doc({"prompt": inp()}, required=["prompt"])
    new = cog_doc({"prompt": inp(default="")})
    assert verdicts(diff_schemas(old, new)) == {
        "input-now-optional": False,
        "default-changed": False,
    }


def test_removing_deprecated_input_is_not_breaking() -> None:
    old = cog_doc({"prompt": inp(), "legacy": inp("boolean", 1, default=False, deprecated=True)})
    new = cog_doc({"prompt": inp()})
    findings = diff_schemas(old, new)
    f = only(findings, "deprecated-input-removed")
    assert not f.breaking and "legacy" in f.message
    assert breaking(findings) == []


def test_narrowing_a_kept_deprecated_input_is_breaking() -> None:
    old = cog_doc({"legacy": inp("integer", maximum=100, deprecated=True)})
    new = cog_doc({"legacy": inp("integer", maximum=10, deprecated=True)})
    f = only(diff_schemas(old, new), "maximum-tightened")
    assert f.breaking and "legacy" in f.path


def test_deprecating_an_input_is_not_breaking() -> None:
    f = only(diff_inputs(inp(), inp(deprecated=True)), "input-deprecated")
    assert not f.breaking


def test_changed_default_is_not_breaking() -> None:
    f = only(diff_inputs(inp("number", default=7.5), inp("number", default=3.5)), "default-changed")
    assert not f.breaking and "7.5" in f.message and "3.5" in f.message


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------


def test_input_integer_to_number_is_not_breaking() -> None:
    f = only(diff_inputs(inp("integer", default=4), inp("number", default=4)), "type-widened")
    assert not f.breaking


def test_input_number_to_integer_is_breaking() -> None:
    f = only(diff_inputs(inp("number", default=7.5), inp("integer", default=7)), "type-narrowed")
    assert f.breaking and f.path == "input.x"


def test_input_string_to_integer_is_breaking() -> None:
    f = only(diff_inputs(inp("string"), inp("integer")), "type-changed")
    assert f.breaking and "string" in f.message and "integer" in f.message


def test_input_missing_type_is_handled() -> None:
    # An untyped input accepts anything; giving it a type narrows it.
    assert verdicts(diff_inputs(inp(None), inp("string"))) == {"type-narrowed": True}
    assert verdicts(diff_inputs(inp("string"), inp(None))) == {"type-widened": False}
    assert diff_inputs(inp(None), inp(None)) == []


def test_output_number_to_integer_is_not_breaking() -> None:
    f = only(diff_outputs({"type": "number"}, {"type": "integer"}), "type-narrowed")
    assert not f.breaking


def test_output_integer_to_number_is_breaking() -> None:
    f = only(diff_outputs({"type": "integer"}, {"type": "number"}), "type-widened")
    assert f.breaking and f.path == "output"


def test_output_without_type_is_handled() -> None:
    # Cog writes `-> Any` as an Output with only a title.
    assert verdicts(diff_outputs({}, {"type": "string"})) == {"type-narrowed": False}
    assert verdicts(diff_outputs({"type": "string"}, {})) == {"type-widened": True}


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


def test_input_uri_format_added_is_breaking() -> None:
    f = only(diff_inputs(inp("string"), inp(**FILE)), "format-changed")
    assert f.breaking and "uri" in f.message


def test_input_uri_format_removed_is_breaking() -> None:
    assert verdicts(diff_inputs(inp(**FILE), inp("string"))) == {"format-changed": True}


def test_output_uri_format_changes_are_breaking() -> None:
    assert verdicts(diff_outputs(FILE, {"type": "string"})) == {"format-changed": True}
    assert verdicts(diff_outputs({"type": "string"}, FILE)) == {"format-changed": True}


def test_password_format_and_secret_are_not_breaking() -> None:
    secret = inp(format="password", writeOnly=True, **{"x-cog-secret": True})
    findings = diff_inputs(inp(), secret)
    assert verdicts(findings) == {"format-changed": False, "secret-changed": False}


def test_other_format_changes_are_not_breaking() -> None:
    assert verdicts(diff_inputs(inp(format="date"), inp(format="date-time"))) == {
        "format-changed": False
    }


# --------------------------------------------------------------------------------------------
# Numeric bounds
# --------------------------------------------------------------------------------------------


def test_input_minimum_added_or_raised_is_breaking() -> None:
    f = only(diff_inputs(inp("integer"), inp("integer", minimum=1)), "minimum-tightened")
    assert f.breaking and "input.x" in f.message
    raised = diff_inputs(inp("integer", minimum=1), inp("integer", minimum=64))
    assert verdicts(raised) == {"minimum-tightened": True}


def test_input_minimum_lowered_is_not_breaking() -> None:
    findings = diff_inputs(inp("number", minimum=1), inp("number", minimum=0))
    assert verdicts(findings) == {"minimum-relaxed": False}


def test_input_maximum_lowered_is_breaking_and_raised_is_not() -> None:
    lowered = diff_inputs(inp("integer", maximum=1024), inp("integer", maximum=512))
    assert verdicts(lowered) == {"maximum-tightened": True}
    raised = diff_inputs(inp("integer", maximum=1024), inp("integer", maximum=2048))
    assert verdicts(raised) == {"maximum-relaxed": False}
    removed = diff_inputs(inp("integer", maximum=1024), inp("integer"))
    assert verdicts(removed) == {"maximum-relaxed": False}


def test_exclusive_bounds_in_both_openapi_spellings() -> None:
    # 3.0 boolean form: minimum 0 becoming exclusive rejects 0.
    f = only(
        diff_inputs(inp("number", minimum=0), inp("number", minimum=0, exclusiveMinimum=True)),
        "minimum-tightened",
    )
    assert f.breaking and "exclusive" in f.message
    # 3.1 numeric form for the upper bound.
    tightened = diff_inputs(inp("number", maximum=1), inp("number", exclusiveMaximum=1))
    assert verdicts(tightened) == {"maximum-tightened": True}
    # For integers, exclusiveMinimum 0 is exactly minimum 1.
    assert diff_inputs(inp("integer", minimum=1), inp("integer", exclusiveMinimum=0)) == []


def test_multiple_of_added_or_unrelated_is_breaking() -> None:
    added = diff_inputs(inp("integer", default=512), inp("integer", default=512, multipleOf=8))
    assert verdicts(added) == {"multipleOf-tightened": True}
    unrelated = diff_inputs(inp("integer", multipleOf=3), inp("integer", multipleOf=2))
    assert verdicts(unrelated) == {"multipleOf-changed": True}
    coarser = diff_inputs(inp("integer", multipleOf=8), inp("integer", multipleOf=64))
    assert verdicts(coarser) == {"multipleOf-tightened": True}


def test_multiple_of_becoming_a_divisor_is_not_breaking() -> None:
    f = only(
        diff_inputs(inp("integer", multipleOf=64), inp("integer", multipleOf=8)),
        "multipleOf-relaxed",
    )
    assert not f.breaking
    decimals = diff_inputs(inp("number", multipleOf=0.5), inp("number", multipleOf=0.1))
    assert verdicts(decimals) == {"multipleOf-relaxed": False}


# --------------------------------------------------------------------------------------------
# String constraints
# --------------------------------------------------------------------------------------------


def test_min_length_added_is_breaking() -> None:
    assert verdicts(diff_inputs(inp(), inp(minLength=3))) == {"minLength-tightened": True}
    assert verdicts(diff_inputs(inp(minLength=3), inp(minLength=1))) == {"minLength-relaxed": False}


def test_shorter_max_length_is_breaking() -> None:
    f = only(diff_inputs(inp(maxLength=1000), inp(maxLength=77)), "maxLength-tightened")
    assert f.breaking and "1000" in f.message and "77" in f.message
    assert verdicts(diff_inputs(inp(maxLength=77), inp())) == {"maxLength-relaxed": False}


def test_pattern_added_or_changed_is_breaking_removed_is_not() -> None:
    assert verdicts(diff_inputs(inp(), inp(pattern="^[a-z]+$"))) == {"pattern-added": True}
    changed = diff_inputs(inp(pattern="^[a-z]+$"), inp(pattern="^[a-z0-9]+$"))
    assert verdicts(changed) == {"pattern-changed": True}
    assert verdicts(diff_inputs(inp(pattern="^a"), inp())) == {"pattern-removed": False}


# --------------------------------------------------------------------------------------------
# Enums in every shape
# --------------------------------------------------------------------------------------------


def test_cog_choice_losing_a_value_is_breaking() -> None:
    old = cog_doc({"scheduler": inp(default="DDIM")}, choices={"scheduler": ["DDIM", "K_EULER"]})
    new = cog_doc({"scheduler": inp(default="DDIM")}, choices={"scheduler": ["DDIM"]})
    f = only(diff_schemas(old, new), "enum-value-removed")
    assert f.breaking and "K_EULER" in f.message and f.path == "input.scheduler"


def test_cog_choice_gaining_a_value_is_not_breaking() -> None:
    old = cog_doc({"scheduler": inp()}, choices={"scheduler": ["DDIM"]})
    new = cog_doc({"scheduler": inp()}, choices={"scheduler": ["DDIM", "PNDM"]})
    assert verdicts(diff_schemas(old, new)) == {"enum-value-added": False}


def test_inline_allof_enum_losing_a_value_is_breaking() -> None:
    old = inp(None, allOf=[{"type": "string", "enum": ["png", "jpg", "webp"]}])
    new = inp(None, allOf=[{"type": "string", "enum": ["png", "webp"]}])
    f = only(diff_inputs(old, new), "enum-value-removed")
    assert f.breaking and "jpg" in f.message


def test_plain_enum_losing_a_value_is_breaking() -> None:
    findings = diff_inputs(inp(enum=["png", "jpg"]), inp(enum=["png"]))
    assert verdicts(findings) == {"enum-value-removed": True}


def test_cog_ref_enum_compared_with_plain_enum_is_equal() -> None:
    old = cog_doc({"fmt": inp()}, choices={"fmt": ["png", "jpg"]})
    new = cog_doc({"fmt": inp(enum=["jpg", "png"])})
    assert diff_schemas(old, new) == []


def test_integer_enum_losing_a_value_is_breaking() -> None:
    old = cog_doc({"size": inp("integer")}, choices={"size": [512, 768, 1024]})
    new = cog_doc({"size": inp("integer")}, choices={"size": [512, 1024]})
    f = only(diff_schemas(old, new), "enum-value-removed")
    assert f.breaking and "768" in f.message


def test_enum_changing_type_is_breaking() -> None:
    old = cog_doc({"size": inp("integer")}, choices={"size": [512, 1024]})
    new = cog_doc({"size": inp()}, choices={"size": ["512", "1024"]})
    f = only(diff_schemas(old, new), "enum-type-changed")
    assert f.breaking and "size" in f.path


def test_enum_added_to_free_input_is_breaking_and_removed_is_not() -> None:
    assert verdicts(diff_inputs(inp(), inp(enum=["a", "b"]))) == {"enum-added": True}
    assert verdicts(diff_inputs(inp(enum=["a", "b"]), inp())) == {"enum-removed": False}


def test_output_enum_gaining_a_value_is_breaking() -> None:
    old = {"type": "string", "enum": ["cat", "dog"]}
    new = {"type": "string", "enum": ["cat", "dog", "bird"]}
    assert verdicts(diff_outputs(old, new)) == {"enum-value-added": True}


# --------------------------------------------------------------------------------------------
# Nullable and unions
# --------------------------------------------------------------------------------------------


def test_removing_nullable_from_input_is_breaking() -> None:
    f = only(diff_inputs(inp(nullable=True), inp()), "nullable-removed")
    assert f.breaking and f.path == "input.x"
    assert verdicts(diff_inputs(inp(), inp(nullable=True))) == {"nullable-added": False}


def test_removing_null_branch_of_anyof_is_breaking() -> None:
    old = inp(None, anyOf=[{"type": "string"}, {"type": "null"}])
    new = inp(None, anyOf=[{"type": "string"}])
    assert verdicts(diff_inputs(old, new)) == {"nullable-removed": True}
    # OpenAPI 3.1 spelling.
    assert verdicts(diff_inputs(inp(["string", "null"]), inp())) == {"nullable-removed": True}


def test_narrowing_a_union_is_breaking() -> None:
    old = inp(None, anyOf=[{"type": "string"}, {"type": "integer"}], nullable=True)
    new = inp(None, anyOf=[{"type": "string"}], nullable=True)
    f = only(diff_inputs(old, new), "union-narrowed")
    assert f.breaking and "integer" in f.message
    assert verdicts(diff_inputs(old, inp("string", nullable=True))) == {"union-narrowed": True}


def test_widening_a_union_is_not_breaking_for_inputs_but_is_for_outputs() -> None:
    old_branches = [{"type": "string"}]
    new_branches = [{"type": "string"}, {"type": "integer"}]
    assert verdicts(diff_inputs(inp(None, anyOf=old_branches), inp(None, anyOf=new_branches))) == {
        "union-widened": False
    }
    assert verdicts(diff_outputs({"anyOf": old_branches}, {"anyOf": new_branches})) == {
        "union-widened": True
    }


def test_union_branch_constraints_are_compared() -> None:
    old = inp(None, anyOf=[{"type": "string", "maxLength": 100}, {"type": "integer"}])
    new = inp(None, anyOf=[{"type": "integer"}, {"type": "string", "maxLength": 10}])
    assert verdicts(diff_inputs(old, new)) == {"maxLength-tightened": True}


def test_output_becoming_nullable_is_breaking() -> None:
    assert verdicts(diff_outputs(FILE, {**FILE, "nullable": True})) == {"nullable-added": True}


# --------------------------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------------------------


def test_input_array_item_type_change_is_breaking() -> None:
    old = inp("array", items={"type": "string"})
    new = inp("array", items={"type": "integer"})
    f = only(diff_inputs(old, new), "type-changed")
    assert f.breaking and f.path == "input.x[]"


def test_input_array_min_and_max_items() -> None:
    base = inp("array", items=FILE)
    assert verdicts(diff_inputs(base, {**base, "minItems": 1})) == {"minItems-tightened": True}
    assert verdicts(diff_inputs({**base, "maxItems": 4}, {**base, "maxItems": 2})) == {
        "maxItems-tightened": True
    }
    assert verdicts(diff_inputs({**base, "maxItems": 2}, {**base, "maxItems": 4})) == {
        "maxItems-relaxed": False
    }


def test_input_single_file_becoming_list_is_breaking() -> None:
    f = only(diff_inputs(inp(**FILE), inp("array", items=FILE)), "became-list")
    assert f.breaking and "input.x" in f.message


# --------------------------------------------------------------------------------------------
# Outputs, deeply
# --------------------------------------------------------------------------------------------


def test_output_file_becoming_list_of_files_is_breaking() -> None:
    f = only(diff_outputs(FILE, {"type": "array", "items": FILE}), "became-list")
    assert f.breaking and f.path == "output"


def test_output_list_becoming_single_file_is_breaking() -> None:
    assert verdicts(diff_outputs({"type": "array", "items": FILE}, FILE)) == {"became-single": True}


def test_output_array_item_type_change_is_breaking() -> None:
    old = {"type": "array", "items": FILE}
    new = {"type": "array", "items": {"type": "string"}}
    f = only(diff_outputs(old, new), "format-changed")
    assert f.breaking and f.path == "output[]"


def test_output_object_property_removed_is_breaking_added_is_not() -> None:
    old = {
        "type": "object",
        "properties": {"image": {**FILE, "title": "Image"}, "caption": {"type": "string"}},
        "required": ["image", "caption"],
    }
    new = {
        "type": "object",
        "properties": {"image": {**FILE, "title": "Image"}, "nsfw": {"type": "boolean"}},
        "required": ["image"],
    }
    findings = diff_outputs(old, new)
    assert verdicts(findings) == {"output-property-removed": True, "output-property-added": False}
    assert only(findings, "output-property-removed").path == "output.caption"


def test_output_property_becoming_optional_is_breaking() -> None:
    old = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    new = {"type": "object", "properties": {"text": {"type": "string", "nullable": True}}}
    assert verdicts(diff_outputs(old, new)) == {
        "output-property-now-optional": True,
        "nullable-added": True,
    }


def test_output_iterator_added_or_removed_is_breaking() -> None:
    listed = {"type": "array", "items": {"type": "string"}}
    streamed = {**listed, "x-cog-array-type": "iterator"}
    f = only(diff_outputs(listed, streamed), "output-iterator-changed")
    assert f.breaking and "stream" in f.message
    assert verdicts(diff_outputs(streamed, listed)) == {"output-iterator-changed": True}


def test_output_concatenate_added_or_removed_is_breaking() -> None:
    streamed = {"type": "array", "items": {"type": "string"}, "x-cog-array-type": "iterator"}
    joined = {**streamed, "x-cog-array-display": "concatenate"}
    assert verdicts(diff_outputs(streamed, joined)) == {"output-concatenate-changed": True}
    assert verdicts(diff_outputs(joined, streamed)) == {"output-concatenate-changed": True}


def test_output_schema_removed_is_breaking() -> None:
    old = cog_doc({}, FILE)
    new = cog_doc({}, FILE)
    del new["components"]["schemas"]["Output"]
    assert verdicts(diff_schemas(old, new)) == {"output-removed": True}


# --------------------------------------------------------------------------------------------
# Training schemas
# --------------------------------------------------------------------------------------------


def test_train_compares_only_training_components() -> None:
    old = cog_doc(
        {"prompt": inp()},
        training_inputs={"input_images": inp(**FILE), "steps": inp("integer", 1, maximum=4000)},
        training_output=WEIGHTS_OUTPUT,
        training_required=["input_images"],
    )
    new = cog_doc(
        {"prompt": inp(), "seed": inp("integer")},  # a predict change: ignored with train
        training_inputs={"input_images": inp(**FILE), "steps": inp("integer", 1, maximum=1000)},
        training_output=WEIGHTS_OUTPUT,
        training_required=["input_images"],
    )
    findings = diff_schemas(old, new, train=True)
    assert verdicts(findings) == {"maximum-tightened": True}
    assert only(findings, "maximum-tightened").path == "training_input.steps"
    # And without --train only Input/Output count.
    assert verdicts(diff_schemas(old, new)) == {"input-added": False}


def test_training_output_changes_are_breaking() -> None:
    old = cog_doc({}, training_inputs={}, training_output=WEIGHTS_OUTPUT)
    new = cog_doc({}, training_inputs={}, training_output={"type": "object", "properties": {}})
    f = only(diff_schemas(old, new, train=True), "output-property-removed")
    assert f.breaking and f.path == "training_output.weights" and "weights" in f.message


def test_training_input_removed_named() -> None:
    old = cog_doc({}, training_inputs={"lr": inp("number"), "steps": inp("integer")})
    new = cog_doc({}, training_inputs={"steps": inp("integer")})
    f = only(diff_schemas(old, new, train=True), "input-removed")
    assert f.breaking and "lr" in f.message and "training input" in f.message


# --------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------


def test_recursive_and_unused_components_do_not_crash() -> None:
    node = {
        "title": "Node",
        "type": "object",
        "properties": {
            "value": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    extra = {"Node": node, "Unused": {"$ref": "#/components/schemas/DoesNotExist"}}
    old = cog_doc({}, {"$ref": "#/components/schemas/Node"}, extra_components=extra)
    new_node = copy.deepcopy(node)
    new_node["properties"]["value"] = {"type": "integer"}
    new = cog_doc({}, {"$ref": "#/components/schemas/Node"}, extra_components={"Node": new_node})
    findings = diff_schemas(old, new)
    assert verdicts(findings) == {"type-changed": True}
    assert only(findings, "type-changed").path == "output.value"


def test_ref_chains_are_resolved() -> None:
    extra = {
        "Size": {"$ref": "#/components/schemas/SizeEnum"},
        "SizeEnum": {"type": "integer", "enum": [512, 768]},
    }
    old = cog_doc({"size": inp(None, allOf=[{"$ref": "#/components/schemas/Size"}])})
    old["components"]["schemas"].update(extra)
    new = copy.deepcopy(old)
    new["components"]["schemas"]["SizeEnum"]["enum"] = [512]
    assert verdicts(diff_schemas(old, new)) == {"enum-value-removed": True}


def test_unicode_names_are_reported() -> None:
    old = cog_doc({"提示词": inp(), "größe": inp("integer", 1, maximum=10)})
    new = cog_doc({"größe": inp("integer", 1, maximum=5)})
    findings = diff_schemas(old, new)
    assert {f.path for f in findings} == {"input.提示词", "input.größe"}
    assert "提示词" in format_findings(findings)


def test_documents_without_components_are_compared_as_empty() -> None:
    assert diff_schemas({}, {}) == []
    new = cog_doc({"prompt": inp()}, required=["prompt"])
    assert verdicts(diff_schemas({}, new)) == {"input-added-required": True, "output-added": False}


@pytest.mark.parametrize("train", [False, True])
def test_every_breaking_finding_names_its_field(train: bool) -> None:
    def side(maximum: int, fmt: str | None, fields: dict[str, Any]) -> dict[str, Any]:
        prop = inp("integer", maximum=maximum)
        fields = {"a": prop, "b": inp(**({"format": fmt} if fmt else {})), **fields}
        return fields

    old_inputs = side(10, "uri", {"c": inp()})
    new_inputs = side(5, None, {})
    out_old = {"type": "object", "properties": {"weights": FILE, "log": {"type": "string"}}}
    out_new = {"type": "object", "properties": {"weights": {"type": "string"}}}
    if train:
        old = cog_doc({}, training_inputs=old_inputs, training_output=out_old)
        new = cog_doc({}, training_inputs=new_inputs, training_output=out_new)
    else:
        old, new = cog_doc(old_inputs, out_old), cog_doc(new_inputs, out_new)
    findings = breaking(diff_schemas(old, new, train=train))
    assert len(findings) == 5
    for f in findings:
        field = f.path.split(".", 1)[1]
        assert field in f.message or field == f.path.split(".")[-1]
        assert field in {"a", "b", "c", "weights", "log"}


def test_null_defaults_and_reordered_unions_are_not_changes() -> None:
    # `default: null` is common in hand-written and older Cog schemas.
    old = inp(None, anyOf=[{"type": "string"}, {"type": "integer"}], default=None)
    new = inp(None, anyOf=[{"type": "integer"}, {"type": "string"}], default=None)
    assert diff_inputs(old, new) == []
    assert verdicts(diff_inputs(old, {**new, "default": "x"})) == {"default-changed": False}


def test_enum_values_decide_the_type() -> None:
    # `number` with integer choices only ever carried integers: `integer` loses nothing.
    assert diff_inputs(inp("number", enum=[1, 2]), inp("integer", enum=[1, 2])) == []
    narrowed = diff_inputs(inp("number", enum=[1.5, 2]), inp("integer", enum=[2]))
    assert verdicts(narrowed) == {"type-narrowed": True, "enum-value-removed": True}
