"""Describe a Cog predictor's signature as plain JSON, from inside the model's interpreter.

Run as a script (never imported by the tool): the model may need packages that only its
own interpreter has, so the signature is read there and handed back as data. Usage:

    python _schema_probe.py OUT.json predict=predict.py:Predictor [train=train.py:train]

with the model directory as the working directory. OUT.json receives
{"predict": {...}, "train": {...}} or {"error": "..."}; `tasks.platforms.local.cog_schema`
turns it into an OpenAPI document. This file only depends on the standard library and cog.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib.util
import json
import os
import pathlib
import sys
import traceback
from typing import Any


def _plain(value: Any) -> Any:
    """A JSON-able rendering of a default value (Path, Enum, factory, tuples...)."""
    if isinstance(value, dataclasses.Field):
        if value.default_factory is not dataclasses.MISSING:
            return _plain(value.default_factory())
        if value.default is not dataclasses.MISSING:
            return _plain(value.default)
        return None
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _load(ref: str) -> tuple[str, str]:
    """Import the file named by `path.py:Name` and return (module name, attribute)."""
    path_text, _, attr = ref.partition(":")
    if not attr:
        raise ValueError(f"{ref!r} is not of the form file.py:Name")
    path = pathlib.Path(path_text)
    if not path.is_file():
        raise FileNotFoundError(f"{path_text} does not exist in {os.getcwd()}")
    module_name = path.with_suffix("").as_posix().replace("/", ".")
    spec = importlib.util.spec_from_file_location(module_name, path.resolve())
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path_text}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module_name, attr


def _describe(ref: str) -> dict[str, Any]:
    from cog import _adt as adt
    from cog._inspector import create_predictor

    module_name, attr = _load(ref)
    info = create_predictor(module_name, attr)
    optional = {adt.Repetition.OPTIONAL, adt.Repetition.OPTIONAL_REPEATED}
    inputs = []
    for field in sorted(info.inputs.values(), key=lambda f: f.order):
        ftype = field.type
        inputs.append(
            {
                "name": field.name,
                "order": field.order,
                "json_type": ftype.json_type(),
                "element_json_type": ftype.primitive.json_type(),
                "is_array": ftype.repetition
                in {adt.Repetition.REPEATED, adt.Repetition.OPTIONAL_REPEATED},
                "optional": ftype.repetition in optional,
                "default": _plain(field.default),
                "description": field.description,
                "ge": field.ge,
                "le": field.le,
                "min_length": field.min_length,
                "max_length": field.max_length,
                "regex": field.regex,
                "choices": _plain(field.choices),
                "deprecated": field.deprecated,
            }
        )
    accepts = _accepts(sys.modules[module_name], module_name, attr)
    for item in inputs:
        if accepts.get(item["name"]):
            item["accept"] = accepts[item["name"]]
    return {"ref": ref, "inputs": inputs, "output": info.output.json_type()}


def _accepts(module: Any, module_name: str, attr: str) -> dict[str, str]:
    """`Input(accept=...)` per input: cog's introspection drops it, the signature keeps it."""
    import inspect

    target = getattr(module, attr)
    functions = [target] if inspect.isfunction(target) else []
    for name in ("run", "predict"):
        method = getattr(target, name, None) if inspect.isclass(target) else None
        if method is not None and getattr(method, "__module__", None) == module_name:
            functions.append(method)
    found: dict[str, str] = {}
    for function in functions:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            continue
        for parameter in parameters:
            accept = getattr(parameter.default, "accept", None)
            if isinstance(accept, str) and accept:
                found[parameter.name] = accept
    return found


def main(argv: list[str]) -> int:
    out_path = argv[0]
    sys.path.insert(0, os.getcwd())
    result: dict[str, Any] = {}
    try:
        for arg in argv[1:]:
            kind, _, ref = arg.partition("=")
            result[kind] = _describe(ref)
    except BaseException as exc:  # report anything the model's import raises
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result = {"error": last, "traceback": traceback.format_exc()}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
