"""The schema generator's parts: pure building from signatures, and the probe in a subprocess.

Whole schemas against Cog's live in tests/test_cog_expected_schemas.py; here are the rules
one at a time, the probe's signature data and its error messages.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import cog
import pytest

from tasks.core import openapi
from tasks.core.cog_yaml import CogYaml
from tasks.core.errors import UsageError
from tasks.platforms.local.cog_schema import (
    build_openapi,
    describe_signatures,
    generate_schema,
    has_default,
    input_property,
    input_type_schema,
    is_nullable,
    is_required,
    number,
    output_type_schema,
    title,
)

STR = {"kind": "primitive", "primitive": "str"}
INT = {"kind": "primitive", "primitive": "int"}
SECRET = {"kind": "primitive", "primitive": "Secret"}


def model(root: Path, source: str, cog_yaml: str = 'predict: "predict.py:Predictor"\n') -> Path:
    (root / "predict.py").write_text(textwrap.dedent(source).lstrip())
    (root / "cog.yaml").write_text(cog_yaml)
    return root


# ---------------------------------------------------------------- pure rules


def test_titles_change_only_first_letters_like_cog() -> None:
    assert title("num_inference_steps") == "Num Inference Steps"
    assert title("seed") == "Seed"
    assert title("num_HD_steps") == "Num HD Steps"  # str.title() would say "Num Hd Steps"
    assert title("x2y") == "X2y"
    assert title("prediction_id") == "Prediction Id"


def test_numbers_are_written_as_go_writes_floats() -> None:
    assert json.dumps(number(2.0)) == "2" and json.dumps(number(0.5)) == "0.5"
    assert number([1.0, {"a": 3.0}]) == [1, {"a": 3}]
    assert number(True) is True and number("1.0") == "1.0"
    assert isinstance(number(1e22), float)  # Go switches to exponent notation there


@pytest.mark.parametrize(
    ("field", "nullable", "default", "required"),
    [
        ({"type": STR}, False, False, True),
        ({"type": STR, "default": "x"}, False, True, False),
        ({"type": INT, "default": 0}, False, True, False),
        ({"type": INT, "default": None}, False, False, True),  # `seed: int = Input(default=None)`
        ({"type": {**INT, "nullable": True}}, True, False, False),  # bare Optional[int]
        ({"type": {**INT, "nullable": True}, "default": None}, True, True, False),
        ({"type": SECRET}, False, False, True),  # the fixed bug: Input(description=...) only
        ({"type": SECRET, "default": None}, True, True, False),
        ({"type": SECRET, "default": "k"}, False, True, False),
        ({"type": {"kind": "array", "items": STR}, "default": None}, False, False, True),
        ({"type": {"kind": "union", "variants": [STR, INT], "nullable": True}}, True, False, True),
        (
            {"type": {"kind": "union", "variants": [STR, INT], "nullable": True}, "default": None},
            True,
            True,
            False,
        ),
    ],
)
def test_nullable_default_and_required(field, nullable, default, required) -> None:
    field = {"name": "x", **field}
    assert is_nullable(field) is nullable
    assert has_default(field) is default
    assert is_required(field) is required


def test_input_type_schemas() -> None:
    assert input_type_schema(SECRET) == {
        "type": "string",
        "format": "password",
        "writeOnly": True,
        "x-cog-secret": True,
    }
    assert input_type_schema({"kind": "array", "items": {"kind": "any"}, "nullable": True}) == {
        "type": "array",
        "items": {"type": "object"},
        "nullable": True,
    }
    union = {"kind": "union", "variants": [STR, {"kind": "array", "items": INT}], "nullable": True}
    assert input_type_schema(union) == {
        "anyOf": [
            {"type": "string", "nullable": True},
            {"type": "array", "items": {"type": "integer"}, "nullable": True},
        ],
        "nullable": True,
    }


def test_output_type_schemas_recurse() -> None:
    shape = {
        "kind": "iterator",
        "items": {
            "kind": "object",
            "fields": [
                {
                    "name": "file_url",
                    "type": {"kind": "primitive", "primitive": "Path"},
                    "required": True,
                },
                {
                    "name": "scores",
                    "type": {
                        "kind": "dict",
                        "values": {"kind": "array", "items": INT},
                        "nullable": True,
                    },
                    "required": False,
                },
            ],
        },
    }
    assert output_type_schema(shape) == {
        "type": "array",
        "x-cog-array-type": "iterator",
        "items": {
            "type": "object",
            "properties": {
                "file_url": {"type": "string", "format": "uri", "title": "File Url"},
                "scores": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "integer"}},
                    "nullable": True,
                    "title": "Scores",
                },
            },
            "required": ["file_url"],
        },
    }
    assert output_type_schema({"kind": "any"}) == {"type": "object"}


def test_property_keys_for_every_input_option() -> None:
    schemas: dict = {}
    prop = input_property(
        {
            "name": "steps",
            "order": 3,
            "type": INT,
            "default": 4,
            "description": "Steps",
            "ge": 1.0,
            "le": 8,
            "deprecated": True,
        },
        schemas,
    )
    assert prop == {
        "x-order": 3,
        "title": "Steps",
        "type": "integer",
        "default": 4,
        "description": "Steps",
        "minimum": 1,
        "maximum": 8,
        "deprecated": True,
    }
    assert schemas == {}
    text = input_property(
        {"name": "code", "order": 0, "type": STR, "min_length": 1, "max_length": 9, "regex": "^a"},
        schemas,
    )
    assert (text["minLength"], text["maxLength"], text["pattern"]) == (1, 9, "^a")


def signature(*inputs: dict, output: dict | None = None, **extra) -> dict:
    return {"inputs": list(inputs), "output": output or STR, "cog_version": "9.9.9", **extra}


def test_enum_names_never_clobber_fixed_components_or_the_other_mode() -> None:
    status = {"name": "Status", "order": 0, "type": STR, "default": "a", "choices": ["a", "b"]}
    mode_a = {"name": "mode", "order": 1, "type": STR, "default": "a", "choices": ["a", "b"]}
    mode_x = {"name": "mode", "order": 0, "type": STR, "default": "x", "choices": ["x", "y"]}
    same = {"name": "same", "order": 1, "type": INT, "default": 1, "choices": [1, 2]}
    doc = build_openapi(signature(status, mode_a, same), signature(mode_x, {**same}))
    schemas = doc["components"]["schemas"]
    assert schemas["Status"]["enum"] == [
        "starting",
        "processing",
        "succeeded",
        "canceled",
        "failed",
    ]
    assert openapi.enum_values(openapi.input_properties(doc)["Status"]) == ["a", "b"]
    assert openapi.enum_values(openapi.input_properties(doc)["mode"]) == ["a", "b"]
    assert openapi.enum_values(openapi.input_properties(doc, train=True)["mode"]) == ["x", "y"]
    assert schemas["mode2"]["title"] == "mode2"
    # identical choices share one component, as in Cog
    train_same = schemas["TrainingInput"]["properties"]["same"]
    assert train_same["allOf"] == [{"$ref": "#/components/schemas/same"}]
    assert "same2" not in schemas


def test_document_has_cogs_version_paths_and_streaming_flag() -> None:
    doc = build_openapi(signature(streaming=True), signature())
    assert doc["info"] == {"title": "Cog", "version": "9.9.9"}
    assert list(doc["paths"]) == [
        "/",
        "/health-check",
        "/predictions",
        "/predictions/{prediction_id}/cancel",
        "/trainings",
        "/trainings/{training_id}/cancel",
    ]
    assert doc["paths"]["/predictions"]["post"]["x-cog-streaming"] is True
    assert "x-cog-streaming" not in doc["paths"]["/trainings"]["post"]
    assert doc["components"]["schemas"]["TrainingOutput"]["title"] == "Output"
    only_train = build_openapi(None, signature())
    assert (
        "/predictions" not in only_train["paths"]
        and "Input" not in only_train["components"]["schemas"]
    )
    assert openapi.looks_like_openapi(only_train)


# ---------------------------------------------------------------- the probe, for real

PREDICTOR = """
from typing import AsyncIterator, Optional

import cog
from cog import BasePredictor, Input, Secret


class Predictor(BasePredictor):
    @cog.streaming
    async def predict(
        self,
        text: str = Input(description="Text", min_length=1),
        key: Secret = Input(description="Key"),
        spare: Secret = Input(description="Spare key", default=None),
        limit: Optional[int] = Input(description="Limit", default=None, ge=1),
        mode: str = Input(description="Mode", choices=["a", "b"], default="a"),
    ) -> AsyncIterator[str]:
        yield text
"""


def test_probe_reports_the_signature_as_plain_data(tmp_path: Path) -> None:
    model(tmp_path, PREDICTOR)
    found = describe_signatures(tmp_path, {"predict": "predict.py:Predictor"})
    sig = found["predict"]
    assert found["cog_version"] == sig["cog_version"] == cog.__version__
    assert (sig["method"], sig["is_async"], sig["streaming"]) == ("predict", True, True)
    assert sig["output"] == {"kind": "iterator", "items": STR}
    by_name = {f["name"]: f for f in sig["inputs"]}
    assert by_name["key"] == {"name": "key", "order": 1, "type": SECRET, "description": "Key"}
    assert by_name["spare"]["default"] is None  # `default=None` written out: a default
    assert "default" not in by_name["key"]  # Input(description=...) only: no default
    assert by_name["limit"]["type"] == {**INT, "nullable": True} and by_name["limit"]["ge"] == 1
    assert by_name["mode"]["choices"] == ["a", "b"]
    assert by_name["text"]["min_length"] == 1


def test_generated_document_is_what_coglet_is_given(tmp_path: Path) -> None:
    document = generate_schema(model(tmp_path, PREDICTOR))
    schema = document["components"]["schemas"]["Input"]
    assert schema["required"] == ["text", "key"]
    assert schema["properties"]["spare"]["nullable"] is True
    assert document["paths"]["/predictions"]["post"]["x-cog-streaming"] is True


def test_stdlib_modules_are_not_shadowed_by_the_probes_neighbours(tmp_path: Path) -> None:
    """The probe lives next to platform.py: a model importing pydantic (which imports the
    stdlib `platform`) once got ours and failed with "cannot import name 'BaseModel'"."""
    model(
        tmp_path,
        """
        import platform

        from cog import BasePredictor
        from pydantic import BaseModel

        class Out(BaseModel):
            system: str

        class Predictor(BasePredictor):
            def predict(self) -> Out:
                return Out(system=platform.system())
        """,
    )
    schemas = generate_schema(tmp_path)["components"]["schemas"]
    assert schemas["Output"]["properties"]["system"] == {"title": "System", "type": "string"}


def test_broken_predictor_reports_the_error(tmp_path: Path) -> None:
    model(tmp_path, "import not_a_module_anywhere\n")
    with pytest.raises(UsageError, match="not_a_module_anywhere"):
        generate_schema(tmp_path)


def test_missing_annotation_is_rejected(tmp_path: Path) -> None:
    model(
        tmp_path,
        """
        from cog import BasePredictor
        class Predictor(BasePredictor):
            def predict(self, text) -> str:
                return text
        """,
    )
    with pytest.raises(UsageError, match="missing type annotation for parameter 'text'"):
        generate_schema(tmp_path)


def test_missing_target_and_method_are_named(tmp_path: Path) -> None:
    model(tmp_path, "from cog import BasePredictor\nclass Other(BasePredictor):\n    pass\n")
    with pytest.raises(UsageError, match="predictor not found: Predictor"):
        generate_schema(tmp_path)
    model(
        tmp_path,
        "from cog import BasePredictor\nclass Predictor(BasePredictor):\n    pass\n",
        'train: "predict.py:Predictor"\n',
    )
    with pytest.raises(UsageError, match=r"Predictor must define train\(\)"):
        generate_schema(tmp_path)


@pytest.mark.parametrize(
    ("line", "missing"),
    [
        ("from cog.types import Weights", "cog.types.Weights"),
        ("from cog import Weights", "cog.Weights"),
        ("import cog.weights", "cog.weights"),
        ("import cog\nWEIGHTS = cog.Weights", "cog.Weights"),
    ],
)
def test_a_model_for_a_newer_cog_fails_with_one_line(
    tmp_path: Path, line: str, missing: str
) -> None:
    model(
        tmp_path,
        f"{line}\nfrom cog import BasePredictor\n\n"
        "class Predictor(BasePredictor):\n    def predict(self) -> str:\n        return ''\n",
    )
    with pytest.raises(UsageError) as caught:
        generate_schema(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"predict.py:{line.count(chr(10)) + 1}: `{line.splitlines()[-1]}`")
    assert f"{missing} needs a newer Cog than the installed cog {cog.__version__}" in message
    assert "--python" in message


def test_an_unrelated_import_error_is_not_blamed_on_cog(tmp_path: Path) -> None:
    model(tmp_path, "from json import no_such_name\n")
    with pytest.raises(UsageError) as caught:
        generate_schema(tmp_path)
    assert "newer Cog" not in str(caught.value) and "no_such_name" in str(caught.value)


def test_cog_yaml_helpers() -> None:
    cog_yaml = CogYaml(Path("cog.yaml"), "predict.py:P", None, {"build": {}})
    assert cog_yaml.refs() == {"predict": "predict.py:P"}
    assert CogYaml(Path("cog.yaml"), None, None, {"concurrency": {"max": 4}}).max_concurrency() == 4
    assert cog_yaml.max_concurrency() == 1
