"""A Cog model's OpenAPI document, generated from its predictor's signature as Cog 0.23 does.

Replicate shows every version's schema as the OpenAPI 3.0.2 document `cog build` wrote; the
local platform builds the same document so that schema lint, compatibility checks and input
generation see exactly what they would see on Replicate, and coglet (which validates inputs
against `.cog/openapi_schema.json`) accepts exactly what it would accept there.

The rules are those of Cog's static generator (pkg/schema/openapi_spec.go and
schema_type.go in replicate/cog). The signature is read by `_schema_probe.py` in the model's
own interpreter (`describe_signatures`); everything before the I/O section is pure.

One deliberate difference: Cog names an input's enum component after the input, so an input
named like a fixed component ("Status", "Input") or a training input sharing a name but not
the choices of a prediction input would overwrite or lose a component. Here the second one
gets a numbered name instead, and every $ref still points at the right choices.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tasks.core import supervise
from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.environment import allowlisted
from tasks.core.errors import UsageError

PROBE = Path(__file__).with_name("_schema_probe.py")
SCHEMA_PATH = Path(".cog") / "openapi_schema.json"
UNKNOWN_VERSION = "0.1.0"
_REF = "#/components/schemas/"
_FIXED_COMPONENTS = {
    "Input",
    "Output",
    "TrainingInput",
    "TrainingOutput",
    "PredictionRequest",
    "PredictionResponse",
    "TrainingRequest",
    "TrainingResponse",
    "Status",
    "ValidationError",
    "HTTPValidationError",
}
_PRIMITIVES: dict[str, dict[str, Any]] = {
    "bool": {"type": "boolean"},
    "float": {"type": "number"},
    "int": {"type": "integer"},
    "str": {"type": "string"},
    "Path": {"type": "string", "format": "uri"},
    "File": {"type": "string", "format": "uri"},
    "Secret": {"type": "string", "format": "password", "writeOnly": True, "x-cog-secret": True},
}


# ---------------------------------------------------------------- small pieces


def title(name: str) -> str:
    """Titles as Cog writes them: `num_HD_steps` -> `Num HD Steps` (only first letters change)."""
    return " ".join(part[:1].upper() + part[1:] for part in name.split("_"))


def number(value: Any) -> Any:
    """A number as Go's JSON encoder writes a float64: 2.0 -> 2, 0.5 -> 0.5."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, list):
        return [number(v) for v in value]
    if isinstance(value, dict):
        return {k: number(v) for k, v in value.items()}
    return value


def primitive_schema(name: str) -> dict[str, Any]:
    return dict(_PRIMITIVES.get(name, {"type": "object"}))


# ---------------------------------------------------------------- inputs


def input_type_schema(shape: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of an input type tree; unions repeat `nullable` on every variant."""
    kind = shape.get("kind")
    if kind == "primitive":
        schema = primitive_schema(shape["primitive"])
    elif kind == "array":
        schema = {"type": "array", "items": input_type_schema(shape.get("items") or {})}
    elif kind == "union":
        variants = []
        for variant in shape.get("variants") or []:
            item = input_type_schema(variant)
            if shape.get("nullable"):
                item["nullable"] = True
            variants.append(item)
        schema = {"anyOf": variants}
    else:
        schema = {"type": "object"}
    if shape.get("nullable"):
        schema["nullable"] = True
    return schema


def element_primitive(shape: dict[str, Any]) -> str | None:
    """The scalar type of an input, looking through one array level."""
    if shape.get("kind") == "array":
        shape = shape.get("items") or {}
    return shape.get("primitive") if shape.get("kind") == "primitive" else None


def is_nullable(field: dict[str, Any]) -> bool:
    """Optional inputs, and `Secret = Input(default=None)`: Cog's idiom for an optional key."""
    shape = field.get("type") or {}
    if shape.get("nullable"):
        return True
    bare_secret = shape.get("kind") == "primitive" and shape.get("primitive") == "Secret"
    return bare_secret and "default" in field and field["default"] is None


def has_default(field: dict[str, Any]) -> bool:
    """A default Cog writes into the schema. A None default on a type that cannot be None
    (`seed: int = Input(default=None)`) is Python for "no default": the input is required."""
    if "default" not in field:
        return False
    return field["default"] is not None or is_nullable(field)


def is_required(field: dict[str, Any]) -> bool:
    """Required unless it has a default or is a single-type Optional (never required).

    A union with None (`str | float | None`) stays required without a default, as in Cog.
    """
    if has_default(field):
        return False
    shape = field.get("type") or {}
    return shape.get("kind") == "union" or not shape.get("nullable")


def _enum_component(field: dict[str, Any]) -> dict[str, Any]:
    element = element_primitive(field.get("type") or {})
    enum_type = _PRIMITIVES.get(element or "", {}).get("type") or "string"
    return {
        "title": field["name"],
        "description": "An enumeration.",
        "enum": number(list(field["choices"])),
        "type": enum_type,
    }


def _component_name(name: str, body: dict[str, Any], schemas: dict[str, Any]) -> str:
    """The input's own name, unless that would overwrite a different component."""
    candidate, suffix = name, 2
    while candidate in _FIXED_COMPONENTS or (
        candidate in schemas and schemas[candidate] != {**body, "title": candidate}
    ):
        candidate, suffix = f"{name}{suffix}", suffix + 1
    return candidate


def input_property(field: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """One property of the Input object; adds the enum component of its choices to `schemas`.

    Choices become `allOf: [$ref]` to an enum named after the input, whatever the type:
    Cog does that for `list[str]` inputs too (the property then only admits one choice).
    """
    prop: dict[str, Any] = {"x-order": field.get("order", 0)}
    if field.get("choices"):
        body = _enum_component(field)
        name = _component_name(field["name"], body, schemas)
        schemas[name] = {**body, "title": name}
        prop["allOf"] = [{"$ref": _REF + name}]
    else:
        prop["title"] = title(field["name"])
        prop.update(input_type_schema(field.get("type") or {}))
    if has_default(field):
        prop["default"] = number(field["default"])
    if is_nullable(field):
        prop["nullable"] = True
    if field.get("description") is not None:
        prop["description"] = field["description"]
    for key, target in (("ge", "minimum"), ("le", "maximum")):
        if field.get(key) is not None:
            prop[target] = number(float(field[key]))
    for key, target in (("min_length", "minLength"), ("max_length", "maxLength")):
        if field.get(key) is not None:
            prop[target] = int(field[key])
    if field.get("regex") is not None:
        prop["pattern"] = field["regex"]
    if field.get("deprecated"):
        prop["deprecated"] = True
    if field.get("accept") is not None:
        prop["x-cog-accept"] = field["accept"]
    return prop


def input_object(
    signature: dict[str, Any], title_text: str, schemas: dict[str, Any]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in sorted(signature.get("inputs") or [], key=lambda f: f.get("order", 0)):
        properties[field["name"]] = input_property(field, schemas)
        if is_required(field):
            required.append(field["name"])
    obj: dict[str, Any] = {"title": title_text, "type": "object", "properties": properties}
    if required:
        obj["required"] = required
    return obj


# ---------------------------------------------------------------- outputs


def output_type_schema(shape: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of an output type tree (recursive, as Cog's SchemaType.JSONSchema)."""
    kind = shape.get("kind")
    if kind == "primitive":
        schema = primitive_schema(shape["primitive"])
    elif kind == "array":
        schema = {"type": "array", "items": output_type_schema(shape.get("items") or {})}
    elif kind == "dict":
        schema = {
            "type": "object",
            "additionalProperties": output_type_schema(shape.get("values") or {}),
        }
    elif kind == "object":
        properties: dict[str, Any] = {}
        required = []
        for field in shape.get("fields") or []:
            properties[field["name"]] = {
                **output_type_schema(field.get("type") or {}),
                "title": title(field["name"]),
            }
            if field.get("required"):
                required.append(field["name"])
        schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
    elif kind == "iterator":
        schema = {
            "type": "array",
            "items": output_type_schema(shape.get("items") or {}),
            "x-cog-array-type": "iterator",
        }
    elif kind == "concatenate":
        schema = {
            "type": "array",
            "items": {"type": "string"},
            "x-cog-array-type": "iterator",
            "x-cog-array-display": "concatenate",
        }
    else:
        schema = {"type": "object"}
    if shape.get("nullable"):
        schema["nullable"] = True
    return schema


def output_object(signature: dict[str, Any]) -> dict[str, Any]:
    """The Output component. Its title is "Output" in train mode too, as Cog writes it."""
    return {**output_type_schema(signature.get("output") or {}), "title": "Output"}


# ---------------------------------------------------------------- the document


_MODES = {
    "predict": {
        "input": "Input",
        "output": "Output",
        "prefix": "Prediction",
        "endpoint": "/predictions",
        "summary": "Predict",
        "description": "Run a single prediction on the model",
        "operation": "predict_predictions_post",
        "id": "prediction_id",
    },
    "train": {
        "input": "TrainingInput",
        "output": "TrainingOutput",
        "prefix": "Training",
        "endpoint": "/trainings",
        "summary": "Train",
        "description": "Run a single training on the model",
        "operation": "train_trainings_post",
        "id": "training_id",
    },
}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _responses(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "200": {"description": "Successful Response", "content": _json_content(schema)},
        "422": {
            "description": "Validation Error",
            "content": _json_content({"$ref": _REF + "HTTPValidationError"}),
        },
    }


def _envelopes(names: dict[str, str]) -> dict[str, Any]:
    string = {"type": "string"}
    stamp = {"type": "string", "format": "date-time"}
    input_ref, output_ref = {"$ref": _REF + names["input"]}, {"$ref": _REF + names["output"]}
    return {
        f"{names['prefix']}Request": {
            "title": f"{names['prefix']}Request",
            "type": "object",
            "properties": {"id": {"title": "Id", **string}, "input": input_ref},
        },
        f"{names['prefix']}Response": {
            "title": f"{names['prefix']}Response",
            "type": "object",
            "properties": {
                "input": input_ref,
                "output": output_ref,
                "id": {"title": "Id", **string},
                "version": {"title": "Version", **string},
                "created_at": {"title": "Created At", **stamp},
                "started_at": {"title": "Started At", **stamp},
                "completed_at": {"title": "Completed At", **stamp},
                "status": {"title": "Status", **string},
                "error": {"title": "Error", **string},
                "logs": {"title": "Logs", **string},
                "metrics": {"title": "Metrics", "type": "object"},
            },
        },
    }


def _fixed_components() -> dict[str, Any]:
    return {
        "Status": {
            "title": "Status",
            "description": "An enumeration.",
            "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
            "type": "string",
        },
        "HTTPValidationError": {
            "title": "HTTPValidationError",
            "type": "object",
            "properties": {
                "detail": {
                    "title": "Detail",
                    "type": "array",
                    "items": {"$ref": _REF + "ValidationError"},
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


def _paths(mode: str, streaming: bool) -> dict[str, Any]:
    names = _MODES[mode]
    operation: dict[str, Any] = {
        "summary": names["summary"],
        "description": names["description"],
        "operationId": names["operation"],
        "requestBody": {"content": _json_content({"$ref": _REF + names["prefix"] + "Request"})},
        "responses": _responses({"$ref": _REF + names["prefix"] + "Response"}),
    }
    if mode == "predict" and streaming:
        operation["x-cog-streaming"] = True
    plural = names["endpoint"].strip("/")
    cancel = {
        "summary": "Cancel",
        "operationId": f"cancel_{plural}__{names['id']}__cancel_post",
        "parameters": [
            {
                "required": True,
                "schema": {"title": title(names["id"]), "type": "string"},
                "name": names["id"],
                "in": "path",
            }
        ],
        "responses": _responses({}),
    }
    return {
        names["endpoint"]: {"post": operation},
        f"{names['endpoint']}/{{{names['id']}}}/cancel": {"post": cancel},
    }


def _service_paths() -> dict[str, Any]:
    ok = {"200": {"description": "Successful Response", "content": _json_content({})}}
    return {
        "/": {"get": {"summary": "Root", "operationId": "root__get", "responses": ok}},
        "/health-check": {
            "get": {
                "summary": "Healthcheck",
                "operationId": "healthcheck_health_check_get",
                "responses": ok,
            }
        },
    }


def build_openapi(
    predict: dict[str, Any] | None, train: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The OpenAPI document for a version with these signatures (probe output).

    With both, it is the prediction document with the training paths and components added,
    as `cog build` merges them.
    """
    schemas: dict[str, Any] = {}
    paths = _service_paths()
    for mode, signature in (("predict", predict), ("train", train)):
        if signature is None:
            continue
        names = _MODES[mode]
        known = dict(schemas)  # enum names must not clash with the other mode's components
        schemas[names["input"]] = input_object(signature, names["input"], known)
        schemas[names["output"]] = output_object(signature)
        schemas.update({k: v for k, v in known.items() if k not in schemas})
        schemas.update(_envelopes(names))
        for name, body in _fixed_components().items():
            schemas.setdefault(name, body)
        paths.update(_paths(mode, bool(signature.get("streaming"))))
    version = next(
        (s["cog_version"] for s in (predict, train) if s and s.get("cog_version")),
        UNKNOWN_VERSION,
    )
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": version},
        "paths": paths,
        "components": {"schemas": schemas},
    }


# ---------------------------------------------------------------- I/O


def describe_signatures(
    cog_dir: str | os.PathLike[str],
    refs: dict[str, str],
    python: str | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Run the probe in the model's interpreter; {"predict": sig, "train": sig}."""
    python = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="cog-schema-") as tmp:
        # A script's directory comes first on sys.path: run a copy from an empty directory,
        # or this package's platform.py would stand in for the stdlib `platform` module.
        probe = Path(tmp) / PROBE.name
        shutil.copyfile(PROBE, probe)
        out = Path(tmp) / "signature.json"
        args = [python, str(probe), str(out)] + [f"{k}={v}" for k, v in refs.items()]
        try:
            # No bytecode: the probe imports the predictor where it lies (a pushed snapshot,
            # or the user's directory), and must leave no __pycache__ behind in either.
            env = {**model_env(python), "PYTHONDONTWRITEBYTECODE": "1"}
            proc = supervise.run(args, python=python, cwd=cog_dir, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise UsageError(
                f"reading the predictor signature in {cog_dir} took over {timeout:.0f}s"
            ) from None
        except OSError as exc:
            raise UsageError(f"cannot run model interpreter {python!r}: {exc}") from None
        if not out.is_file():
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            raise UsageError(
                f"could not read the predictor signature in {cog_dir}: " + " | ".join(tail)
            )
        result = json.loads(out.read_text(encoding="utf-8"))
    if "error" in result:
        if result.get("kind") == "cog_too_old":
            raise UsageError(result["error"])
        raise UsageError(f"invalid predictor in {cog_dir}: {result['error']}")
    return result


def model_env(python: str | None) -> dict[str, str]:
    """Environment for model processes: an allowlist (tasks.core.environment), never our
    credentials, with the model's interpreter first on PATH.

    coglet spawns its worker as `python` from PATH, so the interpreter's directory must
    come first or the worker would run in whatever Python happens to be found.
    """
    python = python or sys.executable
    env = allowlisted()
    env["PATH"] = str(Path(python).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def generate_schema(
    cog_dir: str | os.PathLike[str], python: str | None = None, timeout: float = 300.0
) -> dict[str, Any]:
    """The OpenAPI document for the Cog directory, as cog.yaml declares it."""
    refs = read_cog_yaml(cog_dir).refs()
    if not refs:
        raise UsageError(f"cog.yaml in {cog_dir} declares neither predict nor train")
    signatures = describe_signatures(cog_dir, refs, python, timeout)
    return build_openapi(signatures.get("predict"), signatures.get("train"))


def write_schema(cog_dir: str | os.PathLike[str], document: dict[str, Any]) -> Path:
    """Write the document where coglet looks for it (`.cog/openapi_schema.json`)."""
    path = Path(cog_dir) / SCHEMA_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    """`python -m tasks.platforms.local.cog_schema DIR [--python PATH]`: print DIR's OpenAPI document."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tasks.platforms.local.cog_schema")
    parser.add_argument("cog_dir")
    parser.add_argument("--python", default=None)
    args = parser.parse_args(argv)
    try:
        document = generate_schema(args.cog_dir, args.python)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(document, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
