"""Our generated schemas against Cog 0.23's, one small predictor of our own per case.

Each case writes a predictor with the shape of a Cog fixture, generates the schema with the
local platform's generator (the probe runs for real) and compares the components with what
`cog build` writes for that shape. The expected JSON is embedded; it comes from the fixture
cited in the case (replicate/cog integration-tests/tests/*.txtar, which pin whole property
objects or the `required` list) and, where a fixture only pins part, from the generator's
own code and unit tests (pkg/schema/openapi_spec.go, schema_type.go, types.go and their
_test.go files, and python/parser_test.go).

There is nothing in Cog 0.23 to compare with in-process: the schema is written by the Go
CLI at build time and coglet only reads it (crates/coglet/src/worker.rs: "No runtime
generation"; started without .cog/openapi_schema.json, its GET /openapi.json answers 503
"OpenAPI schema not available"), so these cases are the comparison.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cog
import pytest

from tasks.core.errors import UsageError
from tasks.platforms.local.cog_schema import generate_schema

SECRET = {"type": "string", "format": "password", "writeOnly": True, "x-cog-secret": True}
URI = {"type": "string", "format": "uri"}
REF = "#/components/schemas/"


@dataclass
class Case:
    """A predictor of ours, the Cog fixture it mirrors and the components Cog writes for it."""

    id: str
    fixture: str
    files: dict[str, str]
    expected: dict[str, Any]
    predict: str | None = "predict.py:Predictor"
    train: str | None = None
    checks: dict[str, Any] = field(default_factory=dict)  # {json path: value} elsewhere


def write_model(root: Path, case: Case) -> Path:
    for name, source in case.files.items():
        (root / name).write_text(textwrap.dedent(source).lstrip())
    lines = [f'predict: "{case.predict}"'] if case.predict else []
    lines += [f'train: "{case.train}"'] if case.train else []
    (root / "cog.yaml").write_text('build:\n  python_version: "3.11"\n' + "\n".join(lines) + "\n")
    return root


def dig(document: dict[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("|"):
        node = node[part]
    return node


def inputs(properties: dict[str, Any], required: list[str] | None = None, title="Input"):
    obj: dict[str, Any] = {"title": title, "type": "object", "properties": properties}
    if required:
        obj["required"] = required
    return obj


def output(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "title": "Output"}


def enum(name: str, values: list[Any], kind: str = "string") -> dict[str, Any]:
    return {"title": name, "description": "An enumeration.", "enum": values, "type": kind}


CASES = [
    Case(
        "required text and path",
        "build_openapi_schema.txtar",
        {
            "predict.py": """
            from cog import BasePredictor, Path

            class Predictor(BasePredictor):
                def predict(self, caption: str, photo: Path) -> Path:
                    return photo
            """
        },
        {
            "Input": inputs(
                {
                    "caption": {"title": "Caption", "type": "string", "x-order": 0},
                    "photo": {"title": "Photo", **URI, "x-order": 1},
                },
                ["caption", "photo"],
            ),
            "Output": output(URI),
        },
    ),
    Case(
        # The fixed bug: a Secret without `default=` is required and not nullable;
        # `default=None` makes it optional with an explicit null default.
        "secrets required and optional",
        "static_schema_secret_optional.txtar, build_openapi_schema_complex.txtar; "
        "openapi_spec_test.go TestNoneDefaultOnBareSecretIsOptional, "
        "TestBareSecretWithoutDefaultRemainsRequired",
        {
            "predict.py": """
            from typing import Optional

            from cog import BasePredictor, Input, Secret

            class Predictor(BasePredictor):
                def predict(
                    self,
                    bare_token: Secret,
                    message: str = Input(description="Message"),
                    proxy_token: Secret = Input(description="Falls back to a proxy", default=None),
                    token: Secret = Input(description="Must be given"),
                    seed: int = Input(description="Random when absent", default=None),
                    maybe_token: Optional[Secret] = Input(description="Maybe", default=None),
                ) -> str:
                    return message
            """
        },
        {
            "Input": inputs(
                {
                    "bare_token": {"title": "Bare Token", **SECRET, "x-order": 0},
                    "message": {
                        "title": "Message",
                        "type": "string",
                        "description": "Message",
                        "x-order": 1,
                    },
                    "proxy_token": {
                        "title": "Proxy Token",
                        **SECRET,
                        "default": None,
                        "nullable": True,
                        "description": "Falls back to a proxy",
                        "x-order": 2,
                    },
                    "token": {
                        "title": "Token",
                        **SECRET,
                        "description": "Must be given",
                        "x-order": 3,
                    },
                    "seed": {
                        "title": "Seed",
                        "type": "integer",
                        "description": "Random when absent",
                        "x-order": 4,
                    },
                    "maybe_token": {
                        "title": "Maybe Token",
                        **SECRET,
                        "default": None,
                        "nullable": True,
                        "description": "Maybe",
                        "x-order": 5,
                    },
                },
                ["bare_token", "message", "token", "seed"],
            ),
            "Output": output({"type": "string"}),
        },
    ),
    Case(
        "constraints, choices, secret and a BaseModel output",
        "build_openapi_schema_complex.txtar",
        {
            "predict.py": """
            from typing import Optional

            from cog import BaseModel, BasePredictor, Input, Path, Secret

            class Result(BaseModel):
                caption: str
                confidence: float

            class Predictor(BasePredictor):
                def predict(
                    self,
                    prompt: str = Input(description="Prompt", default="hi"),
                    temperature: float = Input(description="Heat", ge=0, le=2, default=0.7),
                    speed: str = Input(
                        description="Speed", choices=["slow", "medium", "fast"], default="medium"
                    ),
                    key: Secret = Input(description="Key"),
                    picture: Optional[Path] = Input(description="Picture", default=None),
                ) -> Result:
                    return Result(caption=prompt, confidence=temperature)
            """
        },
        {
            "Input": inputs(
                {
                    "prompt": {
                        "title": "Prompt",
                        "type": "string",
                        "default": "hi",
                        "description": "Prompt",
                        "x-order": 0,
                    },
                    "temperature": {
                        "title": "Temperature",
                        "type": "number",
                        "default": 0.7,
                        "description": "Heat",
                        "minimum": 0,
                        "maximum": 2,
                        "x-order": 1,
                    },
                    "speed": {
                        "allOf": [{"$ref": REF + "speed"}],
                        "default": "medium",
                        "description": "Speed",
                        "x-order": 2,
                    },
                    "key": {"title": "Key", **SECRET, "description": "Key", "x-order": 3},
                    "picture": {
                        "title": "Picture",
                        **URI,
                        "default": None,
                        "nullable": True,
                        "description": "Picture",
                        "x-order": 4,
                    },
                },
                ["key"],
            ),
            "speed": enum("speed", ["slow", "medium", "fast"]),
            "Output": output(
                {
                    "type": "object",
                    "properties": {
                        "caption": {"title": "Caption", "type": "string"},
                        "confidence": {"title": "Confidence", "type": "number"},
                    },
                    "required": ["caption", "confidence"],
                }
            ),
        },
    ),
    Case(
        "static generator basics: choices, bounds, required list",
        "static_schema_gen.txtar; openapi_spec_test.go TestInputStringConstraints, "
        "TestInputDeprecated, TestNoneDefaultOnRequiredTypeIsRequired",
        {
            "predict.py": """
            from cog import BasePredictor, Input, Path

            class Predictor(BasePredictor):
                def predict(
                    self,
                    text: str,
                    image: Path,
                    count: int = Input(description="Count", default=5, ge=1, le=100),
                    mode: str = Input(
                        description="Mode", default="fast", choices=["fast", "balanced", "quality"]
                    ),
                    name: str = Input(
                        description="Name", default="abc", min_length=1, max_length=100,
                        regex="^[a-z]+$",
                    ),
                    ratio: float = Input(description="Ratio", default=0.5, ge=0.0, le=1.0),
                    old: str = Input(description="Old", default="x", deprecated=True),
                    seed: int = Input(description="Seed", default=None),
                    level: int = Input(description="Level", choices=[1, 2], default=1),
                ) -> str:
                    return text
            """
        },
        {
            "Input": inputs(
                {
                    "text": {"title": "Text", "type": "string", "x-order": 0},
                    "image": {"title": "Image", **URI, "x-order": 1},
                    "count": {
                        "title": "Count",
                        "type": "integer",
                        "default": 5,
                        "description": "Count",
                        "minimum": 1,
                        "maximum": 100,
                        "x-order": 2,
                    },
                    "mode": {
                        "allOf": [{"$ref": REF + "mode"}],
                        "default": "fast",
                        "description": "Mode",
                        "x-order": 3,
                    },
                    "name": {
                        "title": "Name",
                        "type": "string",
                        "default": "abc",
                        "description": "Name",
                        "minLength": 1,
                        "maxLength": 100,
                        "pattern": "^[a-z]+$",
                        "x-order": 4,
                    },
                    "ratio": {
                        "title": "Ratio",
                        "type": "number",
                        "default": 0.5,
                        "description": "Ratio",
                        "minimum": 0,
                        "maximum": 1,
                        "x-order": 5,
                    },
                    "old": {
                        "title": "Old",
                        "type": "string",
                        "default": "x",
                        "description": "Old",
                        "deprecated": True,
                        "x-order": 6,
                    },
                    "seed": {
                        "title": "Seed",
                        "type": "integer",
                        "description": "Seed",
                        "x-order": 7,
                    },
                    "level": {
                        "allOf": [{"$ref": REF + "level"}],
                        "default": 1,
                        "description": "Level",
                        "x-order": 8,
                    },
                },
                ["text", "image", "seed"],
            ),
            "mode": enum("mode", ["fast", "balanced", "quality"]),
            "level": enum("level", [1, 2], "integer"),
        },
    ),
    Case(
        "Optional with and without a default",
        "optional_input_no_default.txtar, union_type.txtar; "
        "parser_test.go TestOptionalInputOpenAPINotRequired; "
        "openapi_spec_test.go TestNoneDefaultOnOptionalTypeEmitsNull",
        {
            "predict.py": """
            from typing import Optional

            from cog import BasePredictor, Input

            class Predictor(BasePredictor):
                def predict(
                    self,
                    value: Optional[str],
                    count: Optional[int] = Input(description="Count"),
                    text: str | None = Input(description="Text", default=None),
                    ratio: Optional[float] = None,
                ) -> str:
                    return str(value)
            """
        },
        {
            "Input": inputs(
                {
                    "value": {"title": "Value", "type": "string", "nullable": True, "x-order": 0},
                    "count": {
                        "title": "Count",
                        "type": "integer",
                        "nullable": True,
                        "description": "Count",
                        "x-order": 1,
                    },
                    "text": {
                        "title": "Text",
                        "type": "string",
                        "nullable": True,
                        "default": None,
                        "description": "Text",
                        "x-order": 2,
                    },
                    "ratio": {
                        "title": "Ratio",
                        "type": "number",
                        "nullable": True,
                        "default": None,
                        "x-order": 3,
                    },
                }
            ),
        },
    ),
    Case(
        "list inputs: defaults, choices, None default",
        "string_list_input.txtar; openapi_spec.go buildInputSchema (choices are allOf an "
        "enum whatever the type); openapi_spec_test.go TestInputRepeatedType",
        {
            "predict.py": """
            from cog import BasePredictor, Input

            class Predictor(BasePredictor):
                def predict(
                    self,
                    tags: list[str] = Input(description="Tags", default=["a", "b"]),
                    sizes: list[int] = Input(description="Sizes", choices=[1, 2, 4], default=[1]),
                    ids: list[int] = Input(description="Ids", default=None),
                    words: list[str] = Input(description="Words"),
                ) -> str:
                    return ""
            """
        },
        {
            "Input": inputs(
                {
                    "tags": {
                        "title": "Tags",
                        "type": "array",
                        "items": {"type": "string"},
                        "default": ["a", "b"],
                        "description": "Tags",
                        "x-order": 0,
                    },
                    "sizes": {
                        "allOf": [{"$ref": REF + "sizes"}],
                        "default": [1],
                        "description": "Sizes",
                        "x-order": 1,
                    },
                    "ids": {
                        "title": "Ids",
                        "type": "array",
                        "items": {"type": "integer"},
                        "description": "Ids",
                        "x-order": 2,
                    },
                    "words": {
                        "title": "Words",
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Words",
                        "x-order": 3,
                    },
                },
                ["ids", "words"],
            ),
            "sizes": enum("sizes", [1, 2, 4], "integer"),
        },
    ),
    Case(
        "files: File and Path, lists of them, Path | None",
        "file_list_input.txtar, path_list_input.txtar, pep604_path_or_none_input.txtar, "
        "pep604_list_path_or_none_input.txtar, optional_path_input.txtar",
        {
            "predict.py": """
            from cog import BasePredictor, File, Input, Path

            class Predictor(BasePredictor):
                def predict(
                    self,
                    upload: File,
                    files: list[File],
                    paths: list[Path],
                    scan: Path | None = Input(default=None),
                    scans: list[Path] | None = Input(default=None),
                ) -> str:
                    return ""
            """
        },
        {
            "Input": inputs(
                {
                    "upload": {"title": "Upload", **URI, "x-order": 0},
                    "files": {"title": "Files", "type": "array", "items": URI, "x-order": 1},
                    "paths": {"title": "Paths", "type": "array", "items": URI, "x-order": 2},
                    "scan": {
                        "title": "Scan",
                        **URI,
                        "nullable": True,
                        "default": None,
                        "x-order": 3,
                    },
                    "scans": {
                        "title": "Scans",
                        "type": "array",
                        "items": URI,
                        "nullable": True,
                        "default": None,
                        "x-order": 4,
                    },
                },
                ["upload", "files", "paths"],
            ),
        },
    ),
    Case(
        "accept on Path inputs",
        "accept_mime_type.txtar; parser_test.go TestAcceptOnFileType",
        {
            "predict.py": """
            from typing import Optional

            from cog import BasePredictor, File, Input, Path

            class Predictor(BasePredictor):
                def predict(
                    self,
                    words: str = Input(description="Words", default="test"),
                    picture: Path = Input(description="Picture", accept="image/*"),
                    sound: Optional[Path] = Input(
                        description="Sound", accept="audio/wav,audio/mp3", default=None
                    ),
                    blob: File = Input(description="Blob", accept=".safetensors,.bin"),
                ) -> str:
                    return words
            """
        },
        {
            "Input": inputs(
                {
                    "words": {
                        "title": "Words",
                        "type": "string",
                        "default": "test",
                        "description": "Words",
                        "x-order": 0,
                    },
                    "picture": {
                        "title": "Picture",
                        **URI,
                        "description": "Picture",
                        "x-cog-accept": "image/*",
                        "x-order": 1,
                    },
                    "sound": {
                        "title": "Sound",
                        **URI,
                        "nullable": True,
                        "default": None,
                        "description": "Sound",
                        "x-cog-accept": "audio/wav,audio/mp3",
                        "x-order": 2,
                    },
                    "blob": {
                        "title": "Blob",
                        **URI,
                        "description": "Blob",
                        "x-cog-accept": ".safetensors,.bin",
                        "x-order": 3,
                    },
                },
                ["picture", "blob"],
            ),
        },
    ),
    Case(
        "dict, TypedDict and list[dict] inputs",
        "typeddict_input.txtar, dict_input.txtar, list_dict_input.txtar, typing_dict_input.txtar",
        {
            "predict.py": """
            from typing import Any, Dict, List, TypedDict

            from cog import BasePredictor

            class Point(TypedDict):
                x: int
                y: int

            class Predictor(BasePredictor):
                def predict(
                    self,
                    point: Point,
                    options: dict,
                    history: list[dict],
                    extras: Dict[str, Any],
                    pairs: List[Dict[str, Any]],
                    more: list[Point] | None = None,
                ) -> str:
                    return ""
            """
        },
        {
            "Input": inputs(
                {
                    "point": {"title": "Point", "type": "object", "x-order": 0},
                    "options": {"title": "Options", "type": "object", "x-order": 1},
                    "history": {
                        "title": "History",
                        "type": "array",
                        "items": {"type": "object"},
                        "x-order": 2,
                    },
                    "extras": {"title": "Extras", "type": "object", "x-order": 3},
                    "pairs": {
                        "title": "Pairs",
                        "type": "array",
                        "items": {"type": "object"},
                        "x-order": 4,
                    },
                    "more": {
                        "default": None,
                        "items": {"type": "object"},
                        "nullable": True,
                        "title": "More",
                        "type": "array",
                        "x-order": 5,
                    },
                },
                ["point", "options", "history", "extras", "pairs"],
            ),
        },
    ),
    Case(
        "union inputs",
        "union_input_http.txtar; parser_test.go TestUnionInputNullableWithoutDefaultOpenAPI; "
        "openapi_spec_test.go TestOpenAPIUnionInputStringFloat",
        {
            "predict.py": """
            from cog import BasePredictor, Input

            class Predictor(BasePredictor):
                def predict(
                    self,
                    amount: str | float,
                    level: int | str | None,
                    value: str | float | None = Input(default=None),
                ) -> str:
                    return str(value)
            """
        },
        {
            "Input": inputs(
                {
                    "amount": {
                        "title": "Amount",
                        "anyOf": [{"type": "string"}, {"type": "number"}],
                        "x-order": 0,
                    },
                    "level": {
                        "title": "Level",
                        "anyOf": [
                            {"type": "integer", "nullable": True},
                            {"type": "string", "nullable": True},
                        ],
                        "nullable": True,
                        "x-order": 1,
                    },
                    "value": {
                        "title": "Value",
                        "anyOf": [
                            {"type": "string", "nullable": True},
                            {"type": "number", "nullable": True},
                        ],
                        "nullable": True,
                        "default": None,
                        "x-order": 2,
                    },
                },
                ["amount", "level"],
            ),
        },
    ),
    Case(
        "opaque inputs and outputs",
        "static_schema_opaque.txtar",
        {
            "vendor.py": """
            class Blob:
                pass
            """,
            "predict.py": """
            from typing import Annotated, List

            from cog import BaseModel, BasePredictor, Opaque
            from vendor import Blob

            class Bundle(BaseModel):
                one: Annotated[Blob, Opaque]
                many: Annotated[List[Blob], Opaque]

            class Predictor(BasePredictor):
                def predict(
                    self, blob: Annotated[Blob, Opaque], blobs: Annotated[List[Blob], Opaque]
                ) -> Bundle:
                    return Bundle(one=blob, many=blobs)
            """,
        },
        {
            "Input": inputs(
                {
                    "blob": {"title": "Blob", "type": "object", "x-order": 0},
                    "blobs": {
                        "items": {"type": "object"},
                        "title": "Blobs",
                        "type": "array",
                        "x-order": 1,
                    },
                },
                ["blob", "blobs"],
            ),
            "Output": output(
                {
                    "type": "object",
                    "properties": {
                        "one": {"title": "One", "type": "object"},
                        "many": {"items": {"type": "object"}, "title": "Many", "type": "array"},
                    },
                    "required": ["one", "many"],
                }
            ),
        },
    ),
    # ------------------------------------------------------------ outputs
    Case(
        "list[Path] output",
        "path_list_output.txtar",
        {
            "predict.py": """
            from typing import List

            from cog import BasePredictor, Path

            class Predictor(BasePredictor):
                def predict(self) -> List[Path]:
                    return []
            """
        },
        {"Input": inputs({}), "Output": output({"type": "array", "items": URI})},
    ),
    Case(
        "Iterator[str] output, no streaming opt-in",
        "iterator_string_output.txtar, sse_requires_streaming_opt_in.txtar",
        {
            "predict.py": """
            from typing import Iterator

            from cog import BasePredictor

            class Predictor(BasePredictor):
                def predict(self, count: int) -> Iterator[str]:
                    yield from (str(i) for i in range(count))
            """
        },
        {
            "Output": output(
                {"type": "array", "items": {"type": "string"}, "x-cog-array-type": "iterator"}
            )
        },
        checks={"paths|/predictions|post": lambda op: "x-cog-streaming" not in op},
    ),
    Case(
        "ConcatenateIterator[str] with @cog.streaming",
        "concatenate_iterator_output.txtar; parser_test.go TestStreamingDecoratorQualifiedOptIn",
        {
            "predict.py": """
            import cog
            from cog import BasePredictor, ConcatenateIterator

            class Predictor(BasePredictor):
                @cog.streaming
                def predict(self, prompt: str) -> ConcatenateIterator[str]:
                    yield prompt
            """
        },
        {
            "Output": output(
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-cog-array-type": "iterator",
                    "x-cog-array-display": "concatenate",
                }
            )
        },
        checks={"paths|/predictions|post|x-cog-streaming": True},
    ),
    Case(
        "async generator: AsyncIterator[Path]",
        "async_predictor.txtar; parser_test.go TestAsyncIteratorOutput",
        {
            "predict.py": """
            from typing import AsyncIterator

            from cog import BasePredictor, Path

            class Predictor(BasePredictor):
                async def predict(self, n: int = 2) -> AsyncIterator[Path]:
                    yield Path("x")
            """
        },
        {
            "Input": inputs({"n": {"title": "N", "type": "integer", "default": 2, "x-order": 0}}),
            "Output": output({"type": "array", "items": URI, "x-cog-array-type": "iterator"}),
        },
    ),
    Case(
        "async generator: AsyncConcatenateIterator[str]",
        "parser_test.go TestAsyncConcatenateIteratorOutput",
        {
            "predict.py": """
            from cog import AsyncConcatenateIterator, BasePredictor

            class Predictor(BasePredictor):
                async def predict(self, s: str) -> AsyncConcatenateIterator[str]:
                    yield s
            """
        },
        {
            "Output": output(
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-cog-array-type": "iterator",
                    "x-cog-array-display": "concatenate",
                }
            )
        },
    ),
    Case(
        "async predictor returning str",
        "async_predictor.txtar",
        {
            "predict.py": """
            from cog import BasePredictor

            class Predictor(BasePredictor):
                async def predict(self, s: str) -> str:
                    return "hello " + s
            """
        },
        {
            "Input": inputs({"s": {"title": "S", "type": "string", "x-order": 0}}, ["s"]),
            "Output": output({"type": "string"}),
        },
    ),
    Case(
        "cog.BaseModel output: Optional, list and defaulted fields",
        "complex_output.txtar, nested_output_types.txtar; "
        "parser_test.go TestBaseModelOutputWithDefaults",
        {
            "predict.py": """
            from typing import List, Optional

            from cog import BaseModel, BasePredictor, Path

            class Report(BaseModel):
                ok: bool
                problem: Optional[str]
                preview: Optional[Path]
                labels: List[str]
                count: int
                ratio: float = 0.0

            class Predictor(BasePredictor):
                def predict(self, msg: str) -> Report:
                    return Report(ok=True, problem=None, preview=None, labels=[], count=0)
            """
        },
        {
            "Output": output(
                {
                    "type": "object",
                    "properties": {
                        "ok": {"title": "Ok", "type": "boolean"},
                        "problem": {"title": "Problem", "type": "string", "nullable": True},
                        "preview": {"title": "Preview", **URI, "nullable": True},
                        "labels": {
                            "title": "Labels",
                            "type": "array",
                            "items": {"type": "string"},
                        },
                        "count": {"title": "Count", "type": "integer"},
                        "ratio": {"title": "Ratio", "type": "number"},
                    },
                    "required": ["ok", "labels", "count"],
                }
            )
        },
    ),
    Case(
        # Only a literal default makes a field optional: `Field(default=3)` is not one.
        "pydantic output: defaults, Optional, dict field",
        "pydantic2_output.txtar; parser_test.go TestPydanticOutputDefaultedFieldNotNullable, "
        "TestPydanticOutputWithOptionalField, TestPydanticOutputWithDictField; "
        "models.go parseAnnotatedAssignment",
        {
            "predict.py": """
            from typing import List, Optional

            from cog import BasePredictor
            from pydantic import BaseModel as PydanticBaseModel, Field

            class Verdict(PydanticBaseModel):
                label: str
                scores: List[float]
                counts: dict[str, int]
                detail: Optional[str] = None
                strict: bool = False
                level: int = Field(default=3)

            class Predictor(BasePredictor):
                def predict(self, name: str, score: float = 0.5) -> Verdict:
                    return Verdict(label=name, scores=[score], counts={})
            """
        },
        {
            "Input": inputs(
                {
                    "name": {"title": "Name", "type": "string", "x-order": 0},
                    "score": {"title": "Score", "type": "number", "default": 0.5, "x-order": 1},
                },
                ["name"],
            ),
            "Output": output(
                {
                    "type": "object",
                    "properties": {
                        "label": {"title": "Label", "type": "string"},
                        "scores": {
                            "title": "Scores",
                            "type": "array",
                            "items": {"type": "number"},
                        },
                        "counts": {
                            "title": "Counts",
                            "type": "object",
                            "additionalProperties": {"type": "integer"},
                        },
                        "detail": {"title": "Detail", "type": "string", "nullable": True},
                        "strict": {"title": "Strict", "type": "boolean"},
                        "level": {"title": "Level", "type": "integer"},
                    },
                    "required": ["label", "scores", "counts", "level"],
                }
            ),
        },
    ),
    Case(
        "TypedDict output with NotRequired and a nullable key",
        "typeddict_output.txtar; parser_test.go TestTypedDictOutputNotRequiredField",
        {
            "predict.py": """
            from typing import NotRequired, TypedDict

            from cog import BasePredictor

            class Record(TypedDict):
                name: str
                count: NotRequired[int]
                note: str | None

            class Predictor(BasePredictor):
                def predict(self) -> Record:
                    return {"name": "a", "note": None}
            """
        },
        {
            "Output": output(
                {
                    "type": "object",
                    "properties": {
                        "name": {"title": "Name", "type": "string"},
                        "count": {"title": "Count", "type": "integer"},
                        "note": {"title": "Note", "type": "string", "nullable": True},
                    },
                    "required": ["name", "note"],
                }
            )
        },
    ),
    Case(
        "TypedDict output, total=False with Required",
        "parser_test.go TestTypedDictOutputTotalFalse, TestTypedDictOutputRequiredOptionalField",
        {
            "predict.py": """
            from typing import Required, TypedDict

            from cog import BasePredictor

            class Partial(TypedDict, total=False):
                name: str
                value: Required[int | None]

            class Predictor(BasePredictor):
                def predict(self) -> Partial:
                    return {"value": None}
            """
        },
        {
            "Output": output(
                {
                    "type": "object",
                    "properties": {
                        "name": {"title": "Name", "type": "string"},
                        "value": {"title": "Value", "type": "integer", "nullable": True},
                    },
                    "required": ["value"],
                }
            )
        },
    ),
    Case(
        "bare dict output",
        "dict_output.txtar; parser_test.go TestDictOutput",
        {
            "predict.py": """
            from cog import BasePredictor

            class Predictor(BasePredictor):
                def predict(self, name: str) -> dict:
                    return {"greeting": name}
            """
        },
        {"Output": output({"type": "object"})},
    ),
    Case(
        "nested dict output",
        "architecture/02-schema.md (dict[str, list[dict[str, int]]]); "
        "parser_test.go TestListOfDictOfListOutput, TestDictStrIntOutput",
        {
            "predict.py": """
            from cog import BasePredictor

            class Predictor(BasePredictor):
                def predict(self) -> dict[str, list[dict[str, int]]]:
                    return {}
            """
        },
        {
            "Output": output(
                {
                    "type": "object",
                    "additionalProperties": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": {"type": "integer"},
                        },
                    },
                }
            )
        },
    ),
    Case(
        "bare list output",
        "parser_test.go TestBareListOutput",
        {
            "predict.py": """
            from cog import BasePredictor

            class Predictor(BasePredictor):
                def predict(self) -> list:
                    return []
            """
        },
        {"Output": output({"type": "array", "items": {"type": "object"}})},
    ),
    Case(
        "list of models and a nested model",
        "parser_test.go TestListOfBaseModelOutput, TestNestedBaseModelField",
        {
            "predict.py": """
            from cog import BasePredictor
            from pydantic import BaseModel

            class Inner(BaseModel):
                value: int
                label: str

            class Item(BaseModel):
                inner: Inner
                score: float

            class Predictor(BasePredictor):
                def predict(self) -> list[Item]:
                    return []
            """
        },
        {
            "Output": output(
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "inner": {
                                "title": "Inner",
                                "type": "object",
                                "properties": {
                                    "value": {"title": "Value", "type": "integer"},
                                    "label": {"title": "Label", "type": "string"},
                                },
                                "required": ["value", "label"],
                            },
                            "score": {"title": "Score", "type": "number"},
                        },
                        "required": ["inner", "score"],
                    },
                }
            )
        },
    ),
    Case(
        "output model in another file",
        "multi_file_schema.txtar",
        {
            "shapes_out.py": """
            from pydantic import BaseModel

            class Answer(BaseModel):
                text: str
                score: float
                tags: list[str]
            """,
            "predict.py": """
            from cog import BasePredictor
            from shapes_out import Answer

            class Predictor(BasePredictor):
                def predict(self, prompt: str) -> Answer:
                    return Answer(text=prompt, score=1.0, tags=[])
            """,
        },
        {
            "Input": inputs(
                {"prompt": {"title": "Prompt", "type": "string", "x-order": 0}}, ["prompt"]
            ),
            "Output": output(
                {
                    "type": "object",
                    "properties": {
                        "text": {"title": "Text", "type": "string"},
                        "score": {"title": "Score", "type": "number"},
                        "tags": {"title": "Tags", "type": "array", "items": {"type": "string"}},
                    },
                    "required": ["text", "score", "tags"],
                }
            ),
        },
    ),
    Case(
        "from __future__ import annotations",
        "future_annotations.txtar",
        {
            "predict.py": """
            from __future__ import annotations

            from typing import Optional

            from cog import BasePredictor, Input, Path

            class Predictor(BasePredictor):
                def predict(self, size: Optional[int] = Input(description="Size")) -> Path:
                    return Path("x")
            """
        },
        {
            "Input": inputs(
                {
                    "size": {
                        "title": "Size",
                        "type": "integer",
                        "nullable": True,
                        "description": "Size",
                        "x-order": 0,
                    }
                }
            ),
            "Output": output(URI),
        },
    ),
    # ------------------------------------------------------------ targets
    Case(
        "function predictor",
        "function_predictor.txtar; parser_test.go TestStandaloneFunction",
        {
            "predict.py": """
            from cog import Input

            def run(prompt: str = Input(), greeting: str = Input(default="hello")) -> str:
                return f"{greeting} {prompt}"
            """
        },
        {
            "Input": inputs(
                {
                    "prompt": {"title": "Prompt", "type": "string", "x-order": 0},
                    "greeting": {
                        "title": "Greeting",
                        "type": "string",
                        "default": "hello",
                        "x-order": 1,
                    },
                },
                ["prompt"],
            ),
            "Output": output({"type": "string"}),
        },
        predict="predict.py:run",
    ),
    Case(
        "BaseRunner: an inherited run() is the signature",
        "run_new_runner.txtar; parser_test.go TestRunnerWithInheritedRun",
        {
            "predict.py": """
            from cog import BaseRunner

            class Base(BaseRunner):
                def run(self, text: str) -> str:
                    return text

            class Runner(Base):
                def setup(self) -> None:
                    self.ready = True
            """
        },
        {
            "Input": inputs({"text": {"title": "Text", "type": "string", "x-order": 0}}, ["text"]),
            "Output": output({"type": "string"}),
        },
        predict="predict.py:Runner",
    ),
    Case(
        "train function: TrainingInput and TrainingOutput",
        "train_basic.txtar; openapi_spec.go buildOpenAPISpec (the output keeps the title "
        '"Output" under TrainingOutput)',
        {
            "predict.py": """
            from cog import BasePredictor

            class Predictor(BasePredictor):
                def predict(self, s: str) -> str:
                    return "hello " + s
            """,
            "train.py": """
            from cog import BaseModel, Path

            class TrainingOutput(BaseModel):
                weights: Path

            def train(n: int) -> TrainingOutput:
                return TrainingOutput(weights=Path("weights.bin"))
            """,
        },
        {
            "Input": inputs({"s": {"title": "S", "type": "string", "x-order": 0}}, ["s"]),
            "TrainingInput": inputs(
                {"n": {"title": "N", "type": "integer", "x-order": 0}}, ["n"], "TrainingInput"
            ),
            "TrainingOutput": output(
                {
                    "type": "object",
                    "properties": {"weights": {"title": "Weights", **URI}},
                    "required": ["weights"],
                }
            ),
        },
        train="train.py:train",
        checks={
            "paths|/trainings|post|operationId": "train_trainings_post",
            "components|schemas|TrainingRequest|properties|input": {"$ref": REF + "TrainingInput"},
        },
    ),
    Case(
        "trainer class: train() is the training signature",
        "training_setup.txtar; parser_test.go TestTrainModeClassDecoratedMethod",
        {
            "predict.py": """
            from cog import BasePredictor

            class Predictor(BasePredictor):
                def predict(self, s: str) -> str:
                    return s
            """,
            "train.py": """
            from cog import BasePredictor, Input

            class Trainer(BasePredictor):
                def setup(self) -> None:
                    pass

                def train(self, s: str = Input(description="Seed text")) -> str:
                    return "trained " + s

                def predict(self, other: int) -> int:
                    return other
            """,
        },
        {
            "TrainingInput": inputs(
                {
                    "s": {
                        "title": "S",
                        "type": "string",
                        "description": "Seed text",
                        "x-order": 0,
                    }
                },
                ["s"],
                "TrainingInput",
            ),
            "TrainingOutput": output({"type": "string"}),
        },
        train="train.py:Trainer",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_generated_components_match_cog(case: Case, tmp_path: Path) -> None:
    document = generate_schema(write_model(tmp_path, case))
    schemas = document["components"]["schemas"]
    for name, expected in case.expected.items():
        assert schemas.get(name) == expected, f"{name} differs from Cog ({case.fixture})"
    for path, expected in case.checks.items():
        found = dig(document, path)
        assert expected(found) if callable(expected) else found == expected, path
    for component in ("Input", "TrainingInput"):
        properties = (schemas.get(component) or {}).get("properties") or {}
        orders = [prop["x-order"] for prop in properties.values()]
        assert orders == list(range(len(orders))), "properties follow the signature"


def test_a_whole_prediction_document_is_cogs(tmp_path: Path) -> None:
    """Every part of the document, envelope included (openapi_spec.go buildOpenAPISpec;
    openapi_spec_test.go TestPredictEndpoints, TestFixedComponentSchemas)."""
    case = Case(
        "whole",
        "",
        {
            "predict.py": """
            from cog import BasePredictor

            class Predictor(BasePredictor):
                def predict(self, s: str) -> str:
                    return s
            """
        },
        {},
    )
    ok = {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}
    invalid = {
        "description": "Validation Error",
        "content": {"application/json": {"schema": {"$ref": REF + "HTTPValidationError"}}},
    }
    stamp = {"type": "string", "format": "date-time"}
    expected = {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": cog.__version__},
        "paths": {
            "/": {"get": {"summary": "Root", "operationId": "root__get", "responses": {"200": ok}}},
            "/health-check": {
                "get": {
                    "summary": "Healthcheck",
                    "operationId": "healthcheck_health_check_get",
                    "responses": {"200": ok},
                }
            },
            "/predictions": {
                "post": {
                    "summary": "Predict",
                    "description": "Run a single prediction on the model",
                    "operationId": "predict_predictions_post",
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": REF + "PredictionRequest"}}
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "Successful Response",
                            "content": {
                                "application/json": {"schema": {"$ref": REF + "PredictionResponse"}}
                            },
                        },
                        "422": invalid,
                    },
                }
            },
            "/predictions/{prediction_id}/cancel": {
                "post": {
                    "summary": "Cancel",
                    "operationId": "cancel_predictions__prediction_id__cancel_post",
                    "parameters": [
                        {
                            "required": True,
                            "schema": {"title": "Prediction Id", "type": "string"},
                            "name": "prediction_id",
                            "in": "path",
                        }
                    ],
                    "responses": {"200": ok, "422": invalid},
                }
            },
        },
        "components": {
            "schemas": {
                "Input": inputs({"s": {"title": "S", "type": "string", "x-order": 0}}, ["s"]),
                "Output": output({"type": "string"}),
                "PredictionRequest": {
                    "title": "PredictionRequest",
                    "type": "object",
                    "properties": {
                        "id": {"title": "Id", "type": "string"},
                        "input": {"$ref": REF + "Input"},
                    },
                },
                "PredictionResponse": {
                    "title": "PredictionResponse",
                    "type": "object",
                    "properties": {
                        "input": {"$ref": REF + "Input"},
                        "output": {"$ref": REF + "Output"},
                        "id": {"title": "Id", "type": "string"},
                        "version": {"title": "Version", "type": "string"},
                        "created_at": {"title": "Created At", **stamp},
                        "started_at": {"title": "Started At", **stamp},
                        "completed_at": {"title": "Completed At", **stamp},
                        "status": {"title": "Status", "type": "string"},
                        "error": {"title": "Error", "type": "string"},
                        "logs": {"title": "Logs", "type": "string"},
                        "metrics": {"title": "Metrics", "type": "object"},
                    },
                },
                "Status": enum(
                    "Status", ["starting", "processing", "succeeded", "canceled", "failed"]
                ),
                "HTTPValidationError": {
                    "title": "HTTPValidationError",
                    "type": "object",
                    "properties": {
                        "detail": {
                            "title": "Detail",
                            "type": "array",
                            "items": {"$ref": REF + "ValidationError"},
                        }
                    },
                },
                "ValidationError": {
                    "title": "ValidationError",
                    "required": ["loc", "msg", "type"],
                    "type": "object",
                    "properties": {
                        "loc": {
                            "title": "Location",
                            "type": "array",
                            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        },
                        "msg": {"title": "Message", "type": "string"},
                        "type": {"title": "Error Type", "type": "string"},
                    },
                },
            }
        },
    }
    document = generate_schema(write_model(tmp_path, case))
    assert document == expected
    assert list(document["paths"]) == list(expected["paths"])


REFUSED = [
    (
        "accept on a str",
        "parser_test.go TestAcceptOnNonFileTypeErrors",
        "def predict(self, s: str = Input(description='s', accept='image/*')) -> str:",
        "accept is only valid on Path or File inputs (parameter 's')",
    ),
    (
        "Optional output",
        "parser_test.go TestOptionalOutputErrors",
        "def predict(self, s: str) -> Optional[str]:",
        "Optional is not allowed as a return type",
    ),
    (
        "ConcatenateIterator of int",
        "parser_test.go TestConcatenateIteratorNotStrErrors",
        "def predict(self, s: str) -> ConcatenateIterator[int]:",
        "ConcatenateIterator element type must be str, got int",
    ),
    (
        "streaming without an iterator",
        "parser_test.go TestStreamingDecoratorRequiresIteratorOutput",
        "@cog.streaming\n    def predict(self, s: str) -> str:",
        "@streaming requires Iterator[...]",
    ),
    (
        "union with a Path",
        "parser_test.go TestUnionInputRejectsPathString",
        "def predict(self, s: Path | str) -> str:",
        "Path is not supported in unions",
    ),
    (
        "constraints on a union",
        "types.go ValidateInputField",
        "def predict(self, s: str | int = Input(description='s', ge=1)) -> str:",
        "constraints and choices are not supported on union inputs",
    ),
    (
        "an output type Cog cannot describe",
        "parser_test.go TestUnresolvableUndefinedTypeError",
        "def predict(self, s: str) -> Exception:",
        "cannot resolve output type 'Exception'",
    ),
]


@pytest.mark.parametrize(
    ("what", "fixture", "signature", "message"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_what_cog_refuses_to_build_is_refused(
    tmp_path: Path, what: str, fixture: str, signature: str, message: str
) -> None:
    source = (
        "from typing import Optional\n"
        "import cog\n"
        "from cog import BasePredictor, ConcatenateIterator, Input, Path\n\n\n"
        "class Predictor(BasePredictor):\n"
        f"    {signature}\n"
        "        raise NotImplementedError\n"
    )
    case = Case(what, fixture, {"predict.py": source}, {})
    with pytest.raises(UsageError) as caught:
        generate_schema(write_model(tmp_path, case))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
