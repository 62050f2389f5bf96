"""OpenAPI generation from real Cog predictors (probe in a subprocess) and from plain data."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tasks.core import openapi
from tasks.core.cog_yaml import CogYaml
from tasks.core.errors import UsageError
from tasks.platforms.local.cog_schema import (
    build_openapi,
    describe_signatures,
    generate_schema,
    is_required,
    title,
)

REALISTIC = """
from typing import Iterator, Optional

from cog import BasePredictor, ConcatenateIterator, Input, Path, Secret


class Predictor(BasePredictor):
    def predict(
        self,
        prompt: str = Input(description="What to draw", min_length=1, max_length=200),
        image: Path = Input(description="Starting image"),
        num_outputs: int = Input(description="How many", default=1, ge=1, le=4),
        guidance_scale: float = Input(description="Guidance", default=7.5, ge=0, le=20),
        scheduler: str = Input(
            description="Sampler", default="K_EULER", choices=["DDIM", "K_EULER"]
        ),
        size: int = Input(description="Side", default=512, choices=[256, 512]),
        seed: Optional[int] = Input(description="Random seed", default=None),
        negative_prompt: Optional[str] = Input(description="Avoid", default=None),
        old_flag: bool = Input(description="Unused", default=False, deprecated=True),
        tags: list[str] = Input(description="Tags", default=["a"]),
        code: str = Input(description="Code", default="ab", regex="^[a-z]+$"),
        api_key: Secret = Input(description="Key", default=None),
        seed_like: int = Input(description="Unset means random", default=None),
        mask: Path = Input(description="Mask", default=None, accept="image/png,image/jpeg"),
    ) -> list[Path]:
        return []


class StrOut(BasePredictor):
    def predict(self, text: str) -> str:
        return text


class IterOut(BasePredictor):
    def predict(self, n: int = 2) -> Iterator[Path]:
        yield Path("x")


class ConcatOut(BasePredictor):
    def predict(self, prompt: str = "hi") -> ConcatenateIterator[str]:
        yield prompt
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("realistic")
    (root / "predict.py").write_text(REALISTIC)
    (root / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
    )
    return root


@pytest.fixture(scope="module")
def document(model_dir: Path) -> dict:
    return generate_schema(model_dir)


def test_document_envelope_is_openapi_3_0_2(document: dict) -> None:
    assert document["openapi"] == "3.0.2"
    assert document["info"]["title"] == "Cog"
    assert "/predictions" in document["paths"]
    assert "/trainings" not in document["paths"]
    assert openapi.looks_like_openapi(document)
    schemas = document["components"]["schemas"]
    assert schemas["PredictionRequest"]["properties"]["input"] == {
        "$ref": "#/components/schemas/Input"
    }
    assert "TrainingInput" not in schemas


def test_input_properties_have_replicate_shape(document: dict) -> None:
    schema = document["components"]["schemas"]["Input"]
    assert schema["title"] == "Input" and schema["type"] == "object"
    props = schema["properties"]
    assert list(props) == [
        "prompt",
        "image",
        "num_outputs",
        "guidance_scale",
        "scheduler",
        "size",
        "seed",
        "negative_prompt",
        "old_flag",
        "tags",
        "code",
        "api_key",
        "seed_like",
        "mask",
    ]
    assert props["prompt"] == {
        "title": "Prompt",
        "type": "string",
        "description": "What to draw",
        "minLength": 1,
        "maxLength": 200,
        "x-order": 0,
    }
    assert props["image"] == {
        "title": "Image",
        "type": "string",
        "format": "uri",
        "description": "Starting image",
        "x-order": 1,
    }
    assert props["num_outputs"] == {
        "title": "Num Outputs",
        "type": "integer",
        "default": 1,
        "description": "How many",
        "minimum": 1,
        "maximum": 4,
        "x-order": 2,
    }
    assert props["guidance_scale"]["minimum"] == 0 and props["guidance_scale"]["maximum"] == 20
    assert props["guidance_scale"]["type"] == "number"
    assert props["guidance_scale"]["default"] == 7.5
    assert props["seed"]["nullable"] is True and props["seed"]["type"] == "integer"
    assert "default" not in props["seed"]
    assert props["old_flag"]["deprecated"] is True
    assert "deprecated" not in props["prompt"]
    assert props["tags"]["type"] == "array" and props["tags"]["items"] == {"type": "string"}
    assert props["tags"]["default"] == ["a"]
    assert props["code"]["pattern"] == "^[a-z]+$"
    assert props["api_key"]["format"] == "password" and props["api_key"]["x-cog-secret"] is True
    assert props["api_key"]["nullable"] is True  # a bare Secret with a None default is optional
    assert "nullable" not in props["seed_like"] and "default" not in props["seed_like"]
    assert props["mask"]["x-cog-accept"] == "image/png,image/jpeg"
    # cog's rule: a None default on a non-Optional type is no default at all
    assert schema["required"] == ["prompt", "image", "seed_like", "mask"]


def test_choices_become_enum_components_referenced_through_allof(document: dict) -> None:
    schemas = document["components"]["schemas"]
    props = schemas["Input"]["properties"]
    assert props["scheduler"] == {
        "allOf": [{"$ref": "#/components/schemas/scheduler"}],
        "default": "K_EULER",
        "description": "Sampler",
        "x-order": 4,
    }
    assert schemas["scheduler"] == {
        "title": "scheduler",
        "description": "An enumeration.",
        "enum": ["DDIM", "K_EULER"],
        "type": "string",
    }
    assert schemas["size"]["type"] == "integer" and schemas["size"]["enum"] == [256, 512]
    # the shared dereferencing helpers see the choices
    assert openapi.enum_values(openapi.input_properties(document)["scheduler"]) == [
        "DDIM",
        "K_EULER",
    ]


def test_list_of_paths_output(document: dict) -> None:
    assert document["components"]["schemas"]["Output"] == {
        "title": "Output",
        "type": "array",
        "items": {"type": "string", "format": "uri"},
    }


def test_other_output_kinds(model_dir: Path) -> None:
    sigs = describe_signatures(
        model_dir,
        {
            "str": "predict.py:StrOut",
            "iter": "predict.py:IterOut",
            "concat": "predict.py:ConcatOut",
        },
    )
    assert build_openapi(sigs["str"])["components"]["schemas"]["Output"] == {
        "title": "Output",
        "type": "string",
    }
    iterator = build_openapi(sigs["iter"])["components"]["schemas"]["Output"]
    assert iterator["type"] == "array" and iterator["x-cog-array-type"] == "iterator"
    assert iterator["items"] == {"type": "string", "format": "uri"}
    concat = build_openapi(sigs["concat"])["components"]["schemas"]["Output"]
    assert concat["x-cog-array-display"] == "concatenate"
    assert concat["items"] == {"type": "string"}
    # an input without Input(...) and without default is required
    assert build_openapi(sigs["str"])["components"]["schemas"]["Input"]["required"] == ["text"]


def test_train_and_predict_in_one_document(tmp_path: Path) -> None:
    (tmp_path / "predict.py").write_text(
        "from cog import BasePredictor, Input\n"
        "class Predictor(BasePredictor):\n"
        "    def predict(self, mode: str = Input(default='a', choices=['a', 'b'])) -> str:\n"
        "        return mode\n"
    )
    (tmp_path / "train.py").write_text(
        "from cog import Input, Path\n"
        "def train(mode: str = Input(default='x', choices=['x', 'y']), steps: int = 3) -> Path:\n"
        "    return Path('w')\n"
    )
    (tmp_path / "cog.yaml").write_text('predict: "predict.py:Predictor"\ntrain: "train.py:train"\n')
    doc = generate_schema(tmp_path)
    schemas = doc["components"]["schemas"]
    assert {"Input", "Output", "TrainingInput", "TrainingOutput"} <= set(schemas)
    assert "/trainings" in doc["paths"] and "/predictions" in doc["paths"]
    assert schemas["TrainingOutput"] == {
        "title": "TrainingOutput",
        "type": "string",
        "format": "uri",
    }
    # same input name, different choices: each keeps its own enum component
    train_mode = openapi.input_properties(doc, train=True)["mode"]
    assert openapi.enum_values(train_mode) == ["x", "y"]
    assert openapi.enum_values(openapi.input_properties(doc)["mode"]) == ["a", "b"]
    assert schemas["TrainingInput"]["properties"]["steps"]["default"] == 3


def test_broken_predictor_reports_the_error(tmp_path: Path) -> None:
    (tmp_path / "predict.py").write_text("import not_a_module_anywhere\n")
    (tmp_path / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    with pytest.raises(UsageError, match="not_a_module_anywhere"):
        generate_schema(tmp_path)


def test_missing_annotation_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "predict.py").write_text(
        textwrap.dedent(
            """
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def predict(self, text) -> str:
                    return text
            """
        )
    )
    (tmp_path / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    with pytest.raises(UsageError, match="type annotation"):
        generate_schema(tmp_path)


# ---------------------------------------------------------------- pure helpers


def test_title_case() -> None:
    assert title("num_inference_steps") == "Num Inference Steps"
    assert title("seed") == "Seed"


def test_required_semantics() -> None:
    assert is_required({"name": "a", "default": None})
    assert not is_required({"name": "a", "default": 0})
    assert not is_required({"name": "a", "default": False})
    assert not is_required({"name": "a", "default": None, "optional": True})


def test_enum_name_never_overwrites_fixed_components() -> None:
    sig = {
        "inputs": [
            {
                "name": "Status",
                "order": 0,
                "json_type": {"type": "string"},
                "element_json_type": {"type": "string"},
                "default": "a",
                "choices": ["a", "b"],
            }
        ],
        "output": {"type": "string"},
    }
    doc = build_openapi(sig)
    schemas = doc["components"]["schemas"]
    assert schemas["Status"]["enum"] == [
        "starting",
        "processing",
        "succeeded",
        "canceled",
        "failed",
    ]
    assert openapi.enum_values(openapi.input_properties(doc)["Status"]) == ["a", "b"]


def test_cog_yaml_helpers() -> None:
    cog = CogYaml(Path("cog.yaml"), "predict.py:P", None, {"build": {}})
    assert cog.refs() == {"predict": "predict.py:P"}
    assert CogYaml(Path("cog.yaml"), None, None, {"concurrency": {"max": 4}}).max_concurrency() == 4
    assert cog.max_concurrency() == 1
