"""A Cog model's OpenAPI document, generated from its predictor's signature.

Replicate shows every version's schema as an OpenAPI 3.0.2 document; the local platform
builds the same shape so that schema lint, compatibility checks and input generation see
exactly what they would see on Replicate. The signature is read by `_schema_probe.py` in
the model's own interpreter (`describe_signatures`); everything else here is pure.
"""

from __future__ import annotations

import json
import os
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
    "WebhookEvent",
    "ValidationError",
    "HTTPValidationError",
}


# ---------------------------------------------------------------- pure schema building


def title(name: str) -> str:
    """Input titles as Replicate shows them: `num_steps` -> `Num Steps`."""
    return name.replace("_", " ").title()


def _bound(value: float | None, json_type: str) -> int | float | None:
    """Bounds are floats in cog's introspection; show them as the input's own type."""
    if value is None:
        return None
    if json_type == "integer" and float(value).is_integer():
        return int(value)
    return float(value)


def _enum_component(name: str, field: dict[str, Any]) -> dict[str, Any]:
    element = field.get("element_json_type") or {}
    enum_type = element.get("type") or (
        "integer" if all(isinstance(c, int) for c in field["choices"]) else "string"
    )
    return {
        "title": name,
        "description": "An enumeration.",
        "enum": list(field["choices"]),
        "type": enum_type,
    }


def _unique_component_name(name: str, body: dict[str, Any], schemas: dict[str, Any]) -> str:
    """Enum schemas are named after their input; avoid clobbering a different one."""
    candidate = name
    suffix = 2
    while candidate in _FIXED_COMPONENTS or (
        candidate in schemas and schemas[candidate] != {**body, "title": candidate}
    ):
        candidate = f"{name}{suffix}"
        suffix += 1
    return candidate


def input_property(field: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """One property of the Input object; may add an enum schema to `schemas`."""
    json_type = dict(field.get("json_type") or {})
    element_type = (field.get("element_json_type") or {}).get("type", json_type.get("type"))
    prop: dict[str, Any] = {}
    if field.get("choices"):
        body = _enum_component(field["name"], field)
        comp = _unique_component_name(field["name"], body, schemas)
        schemas[comp] = {**body, "title": comp}
        ref = {"$ref": _REF + comp}
        if field.get("is_array"):
            prop.update({"title": title(field["name"]), "type": "array", "items": ref})
        else:
            prop["allOf"] = [ref]
    else:
        prop["title"] = title(field["name"])
        prop.update(json_type)
    if is_nullable(field):
        prop["nullable"] = True
    if field.get("default") is not None:
        prop["default"] = field["default"]
    if field.get("description"):
        prop["description"] = field["description"]
    minimum = _bound(field.get("ge"), element_type)
    maximum = _bound(field.get("le"), element_type)
    if minimum is not None:
        prop["minimum"] = minimum
    if maximum is not None:
        prop["maximum"] = maximum
    if field.get("min_length") is not None:
        prop["minLength"] = field["min_length"]
    if field.get("max_length") is not None:
        prop["maxLength"] = field["max_length"]
    if field.get("regex") is not None:
        prop["pattern"] = field["regex"]
    prop["x-order"] = field.get("order", 0)
    if field.get("deprecated"):
        prop["deprecated"] = True
    if field.get("accept"):
        prop["x-cog-accept"] = field["accept"]
    return prop


def is_nullable(field: dict[str, Any]) -> bool:
    """Optional inputs, and (as cog does) a bare `Secret = Input(default=None)`."""
    if field.get("optional"):
        return True
    secret = bool((field.get("element_json_type") or {}).get("x-cog-secret"))
    return secret and not field.get("is_array") and field.get("default") is None


def is_required(field: dict[str, Any]) -> bool:
    """Cog requires an input without a default unless it is nullable.

    `seed: int = Input(default=None)` is required: cog treats a None default on a
    non-Optional type as "no default" (both its runtime and static generators).
    """
    return field.get("default") is None and not is_nullable(field)


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


def output_object(signature: dict[str, Any], title_text: str) -> dict[str, Any]:
    out = dict(signature.get("output") or {})
    out["title"] = title_text
    return out


def _json_response(ref: str) -> dict[str, Any]:
    return {
        "200": {
            "description": "Successful Response",
            "content": {"application/json": {"schema": {"$ref": _REF + ref}}},
        },
        "422": {
            "description": "Validation Error",
            "content": {"application/json": {"schema": {"$ref": _REF + "HTTPValidationError"}}},
        },
    }


def _run_paths(kind: str, request: str, response: str) -> dict[str, Any]:
    plural = f"{kind}s"
    op = "predict" if kind == "prediction" else "train"
    body = {
        "content": {"application/json": {"schema": {"$ref": _REF + request}}},
    }
    prefer = {"in": "header", "name": "prefer", "required": False, "schema": {"type": "string"}}
    id_param = {
        "in": "path",
        "name": f"{kind}_id",
        "required": True,
        "schema": {"type": "string", "title": f"{kind.title()} ID"},
    }
    return {
        f"/{plural}": {
            "post": {
                "summary": op.title(),
                "operationId": f"{op}_{plural}_post",
                "parameters": [prefer],
                "requestBody": body,
                "responses": _json_response(response),
            }
        },
        f"/{plural}/{{{kind}_id}}": {
            "put": {
                "summary": f"{op.title()} Idempotent",
                "operationId": f"{op}_idempotent_{plural}__{kind}_id__put",
                "parameters": [id_param, prefer],
                "requestBody": {**body, "required": True},
                "responses": _json_response(response),
            }
        },
        f"/{plural}/{{{kind}_id}}/cancel": {
            "post": {
                "summary": f"Cancel {kind.title()}",
                "operationId": f"cancel_{plural}__{kind}_id__cancel_post",
                "parameters": [id_param],
                "responses": {"200": {"description": "Successful Response"}},
            }
        },
    }


def _envelopes(input_name: str, output_name: str, prefix: str) -> dict[str, Any]:
    request = {
        "title": f"{prefix}Request",
        "type": "object",
        "properties": {
            "id": {"title": "Id", "type": "string"},
            "created_at": {"title": "Created At", "type": "string", "format": "date-time"},
            "input": {"$ref": _REF + input_name},
            "webhook": {"title": "Webhook", "type": "string", "format": "uri"},
            "webhook_events_filter": {
                "type": "array",
                "items": {"$ref": _REF + "WebhookEvent"},
                "default": ["start", "output", "logs", "completed"],
            },
            "output_file_prefix": {"title": "Output File Prefix", "type": "string"},
        },
    }
    response = {
        "title": f"{prefix}Response",
        "type": "object",
        "properties": {
            "id": {"title": "Id", "type": "string"},
            "version": {"title": "Version", "type": "string"},
            "created_at": {"title": "Created At", "type": "string", "format": "date-time"},
            "started_at": {"title": "Started At", "type": "string", "format": "date-time"},
            "completed_at": {"title": "Completed At", "type": "string", "format": "date-time"},
            "input": {"$ref": _REF + input_name},
            "output": {"$ref": _REF + output_name},
            "logs": {"title": "Logs", "type": "string", "default": ""},
            "error": {"title": "Error", "type": "string"},
            "status": {"$ref": _REF + "Status"},
            "metrics": {"title": "Metrics", "type": "object"},
        },
    }
    return {f"{prefix}Request": request, f"{prefix}Response": response}


def build_openapi(
    predict: dict[str, Any] | None, train: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The OpenAPI document for a version with these signatures (probe output)."""
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "summary": "Root",
                "operationId": "root__get",
                "responses": {"200": {"description": "Successful Response"}},
            }
        },
        "/health-check": {
            "get": {
                "summary": "Healthcheck",
                "operationId": "healthcheck_health_check_get",
                "responses": {"200": {"description": "Successful Response"}},
            }
        },
        "/shutdown": {
            "post": {
                "summary": "Start Shutdown",
                "operationId": "start_shutdown_shutdown_post",
                "responses": {"200": {"description": "Successful Response"}},
            }
        },
    }
    if predict is not None:
        schemas["Input"] = input_object(predict, "Input", schemas)
        schemas["Output"] = output_object(predict, "Output")
        schemas.update(_envelopes("Input", "Output", "Prediction"))
        paths.update(_run_paths("prediction", "PredictionRequest", "PredictionResponse"))
    if train is not None:
        schemas["TrainingInput"] = input_object(train, "TrainingInput", schemas)
        schemas["TrainingOutput"] = output_object(train, "TrainingOutput")
        schemas.update(_envelopes("TrainingInput", "TrainingOutput", "Training"))
        paths.update(_run_paths("training", "TrainingRequest", "TrainingResponse"))
    schemas["Status"] = {
        "title": "Status",
        "description": "An enumeration.",
        "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
        "type": "string",
    }
    schemas["WebhookEvent"] = {
        "title": "WebhookEvent",
        "description": "An enumeration.",
        "enum": ["start", "output", "logs", "completed"],
        "type": "string",
    }
    schemas["ValidationError"] = {
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
    }
    schemas["HTTPValidationError"] = {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {
                "title": "Detail",
                "type": "array",
                "items": {"$ref": _REF + "ValidationError"},
            }
        },
    }
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
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
        out = Path(tmp) / "signature.json"
        args = [python, str(PROBE), str(out)] + [f"{k}={v}" for k, v in refs.items()]
        try:
            proc = supervise.run(
                args, python=python, cwd=cog_dir, timeout=timeout, env=model_env(python)
            )
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


def generate_schema(cog_dir: str | os.PathLike[str], python: str | None = None) -> dict[str, Any]:
    """The OpenAPI document for the Cog directory, as cog.yaml declares it."""
    refs = read_cog_yaml(cog_dir).refs()
    if not refs:
        raise UsageError(f"cog.yaml in {cog_dir} declares neither predict nor train")
    signatures = describe_signatures(cog_dir, refs, python)
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
    import json
    import sys

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
    import sys

    sys.exit(main(sys.argv[1:]))
