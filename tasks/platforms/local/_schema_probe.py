"""Describe a Cog predictor's signature as plain JSON, from inside the model's interpreter.

Run as a script (never imported by the tool): the model may need packages that only its
own interpreter has, so the signature is read there and handed back as data. Usage:

    python _schema_probe.py OUT.json predict=predict.py:Predictor [train=train.py:train]

with the model directory as the working directory. OUT.json receives
{"cog_version": "...", "predict": {...}, "train": {...}} or {"error": "...", "kind": "..."};
`tasks.platforms.local.cog_schema` turns the signatures into an OpenAPI document.

Cog 0.23 builds a version's schema with a static generator (`cog build` parses the source);
its runtime no longer looks at signatures. This probe follows that generator's rules, reading
the same facts from the imported objects instead of a syntax tree, and the source only where
the objects cannot tell: whether `Input(...)` was given a `default=`, whether a model field's
default is a literal, and whether the function is decorated with `@cog.streaming`.

It depends on the standard library and cog only, and is one file on purpose: it runs by path
in an interpreter that does not have this project installed.
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import enum
import importlib.util
import inspect
import json
import os
import pathlib
import re
import sys
import textwrap
import traceback
import types
import typing
from typing import Any


class ProbeError(Exception):
    """A predictor that Cog's schema generator would refuse to build."""


# ---------------------------------------------------------------- loading the target


def _load(ref: str) -> tuple[types.ModuleType, str]:
    """Import the file named by `path.py:Name`; return the module and the attribute name."""
    path_text, _, attr = ref.partition(":")
    if not attr:
        raise ProbeError(f"{ref!r} is not of the form file.py:Name")
    path = pathlib.Path(path_text)
    if not path.is_file():
        raise ProbeError(f"{path_text} does not exist in {os.getcwd()}")
    module_name = path.with_suffix("").as_posix().replace("/", ".")
    spec = importlib.util.spec_from_file_location(module_name, path.resolve())
    if spec is None or spec.loader is None:
        raise ProbeError(f"cannot load {path_text}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module, attr


def _framework_classes() -> tuple[type, ...]:
    import cog

    return tuple(c for c in (getattr(cog, "BaseRunner", None), cog.BasePredictor, object) if c)


def _target(module: types.ModuleType, attr: str, kind: str) -> tuple[Any, str]:
    """The callable whose signature is the schema, and its name.

    Classes: train() in train mode; otherwise run(), falling back to the legacy predict(),
    looked up through the user's own base classes but never Cog's.
    """
    found = getattr(module, attr, None)
    if found is None:
        raise ProbeError(f"predictor not found: {attr}")
    if inspect.isclass(found):
        names = ["train"] if kind == "train" else ["run", "predict"]
        framework = _framework_classes()
        owners = [c for c in found.__mro__ if c not in framework]
        for name in names:
            for owner in owners:
                if callable(owner.__dict__.get(name)):
                    return inspect.unwrap(getattr(found, name)), name
        wanted = " or ".join(f"{n}()" for n in names)
        raise ProbeError(f"{attr} must define {wanted}")
    if inspect.isfunction(found):
        return inspect.unwrap(found), attr
    raise ProbeError(f"invalid predictor {attr}: not a class or a function")


# ---------------------------------------------------------------- reading the source


def _function_node(function: Any) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def _input_calls(node: ast.FunctionDef | ast.AsyncFunctionDef | None) -> dict[str, bool]:
    """{parameter: whether its `Input(...)` has `default=`}, for parameters written that way.

    `Input(description="key")` and `Input(default=None)` are the same object at run time,
    but not to Cog: only the second has a default (a None one).
    """
    if node is None:
        return {}
    args = node.args
    positional = args.posonlyargs + args.args
    with_defaults = positional[len(positional) - len(args.defaults) :]
    pairs = list(zip(with_defaults, args.defaults, strict=True))
    pairs += [
        (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
    ]
    found = {}
    for arg, default in pairs:
        if _call_name(default) == "Input":
            assert isinstance(default, ast.Call)
            found[arg.arg] = any(kw.arg == "default" for kw in default.keywords)
    return found


def _is_literal(node: ast.AST) -> bool:
    """Whether Cog's generator reads this expression as a literal default value."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, int, float, bool, type(None)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant) and isinstance(
            node.operand.value, (int, float)
        )
    if isinstance(node, (ast.List, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    return isinstance(node, (ast.Dict, ast.Tuple))


def _literal_defaults(cls: type) -> dict[str, bool] | None:
    """{field: has a literal default} for the annotated assignments in a class body."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return None
    body = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    if body is None:
        return None
    found = {}
    for statement in body.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            found[statement.target.id] = statement.value is not None and _is_literal(
                statement.value
            )
    return found


def _is_streaming(function: Any, node: ast.AST | None) -> bool:
    """`@cog.streaming` (or `@streaming` imported from cog), with or without parentheses."""
    import cog

    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    namespace = getattr(function, "__globals__", {})
    for decorator in node.decorator_list:
        expr = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(expr, ast.Name) and namespace.get(expr.id) is cog.streaming:
            return True
        if (
            isinstance(expr, ast.Attribute)
            and expr.attr == "streaming"
            and isinstance(expr.value, ast.Name)
            and namespace.get(expr.value.id) is cog
        ):
            return True
    return False


# ---------------------------------------------------------------- types


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _union_parts(tp: Any) -> tuple[list[Any], bool]:
    args = typing.get_args(tp)
    return [a for a in args if a is not type(None)], type(None) in args


def _is_typeddict(tp: Any) -> bool:
    if typing.is_typeddict(tp):
        return True
    extensions = sys.modules.get("typing_extensions")
    return bool(extensions and extensions.is_typeddict(tp))


def _opaque_inner(tp: Any) -> tuple[Any, bool]:
    """(T, True) for `Annotated[T, cog.Opaque]`."""
    from cog._opaque import _OpaqueMarker

    if typing.get_origin(tp) is typing.Annotated:
        inner, *metadata = typing.get_args(tp)
        if any(isinstance(m, _OpaqueMarker) for m in metadata):
            return inner, True
    return tp, False


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated and not _opaque_inner(tp)[1]:
        tp = typing.get_args(tp)[0]
    return tp


def _is_list(tp: Any) -> bool:
    return tp in (list, typing.List) or typing.get_origin(tp) is list  # noqa: UP006


def _is_dict(tp: Any) -> bool:
    return tp in (dict, typing.Dict) or typing.get_origin(tp) is dict  # noqa: UP006


def _primitive(tp: Any) -> str | None:
    """Cog's scalar types by the name its generator gives them."""
    from cog import File, Path, Secret

    fixed = {str: "str", int: "int", float: "float", bool: "bool", Secret: "Secret", File: "File"}
    for known, name in fixed.items():
        if tp is known:
            return name
    if tp is Path or (inspect.isclass(tp) and issubclass(tp, os.PathLike)):
        return "Path"
    return None


def _model_kind(tp: Any) -> str | None:
    """ "cog" for cog.BaseModel, "pydantic" for a pydantic model, "typeddict", or None."""
    import cog

    if not inspect.isclass(tp):
        return "typeddict" if _is_typeddict(tp) else None
    if issubclass(tp, cog.BaseModel):
        return "cog"
    if any(
        base.__name__ == "BaseModel" and base.__module__.split(".")[0] == "pydantic"
        for base in tp.__mro__
    ):
        return "pydantic"
    if _is_typeddict(tp):
        return "typeddict"
    return None


ANY: dict[str, Any] = {"kind": "any"}


def _opaque_type(inner: Any) -> dict[str, Any]:
    """`Annotated[T, cog.Opaque]`: an object, or an array of them when T is a list."""
    if _is_list(inner):
        return {"kind": "array", "items": ANY}
    if _is_union(inner):
        rest, nullable = _union_parts(inner)
        if nullable and len(rest) == 1:
            return {**_opaque_type(rest[0]), "nullable": True}
    return dict(ANY)


# ---------------------------------------------------------------- input types


def input_type(tp: Any) -> dict[str, Any]:
    """An input annotation as a type tree: primitive, any, array or union (+ nullable)."""
    inner, opaque = _opaque_inner(tp)
    if opaque:
        return _opaque_type(inner)
    tp = _strip_annotated(tp)
    if tp is Any or _is_dict(tp) or _is_typeddict(tp):
        return dict(ANY)
    if _is_union(tp):
        return _input_union(tp)
    if _is_list(tp):
        args = typing.get_args(tp)
        if len(args) != 1:
            raise ProbeError(f"unsupported type: {_type_name(tp)} needs one type argument")
        items = input_type(args[0])
        if items.get("nullable") or items["kind"] in ("array", "union"):
            raise ProbeError("unsupported type: nested generics like List[Optional[X]]")
        return {"kind": "array", "items": items}
    name = _primitive(tp)
    if name is None:
        raise ProbeError(f"unsupported type: {_type_name(tp)} is not a supported input type")
    return {"kind": "primitive", "primitive": name}


def _input_union(tp: Any) -> dict[str, Any]:
    members, nullable = _union_parts(tp)
    variants = []
    for member in members:
        if _is_union(member):
            raise ProbeError("unsupported type: nested union inputs are not supported")
        variants.append(input_type(member))
    if not variants:
        raise ProbeError("unsupported type: union inputs must include a non-None type")
    if len(variants) == 1:
        only = variants[0]
        return {**only, "nullable": bool(only.get("nullable")) or nullable}
    for variant in variants:
        _check_union_variant(variant)
    return {"kind": "union", "variants": variants, "nullable": nullable}


def _check_union_variant(variant: dict[str, Any]) -> None:
    if variant.get("nullable"):
        raise ProbeError("unsupported type: nested nullable variants in a union input")
    if variant["kind"] == "primitive" and variant["primitive"] in ("Path", "File", "Secret"):
        raise ProbeError(f"unsupported type: {variant['primitive']} is not supported in unions")
    if variant["kind"] == "array":
        _check_union_variant(variant["items"])


# ---------------------------------------------------------------- output types


def output_type(tp: Any, seen: frozenset[Any] = frozenset()) -> dict[str, Any]:
    """A return annotation as a type tree (recursive: lists, dicts, models, iterators)."""
    from cog import AsyncConcatenateIterator, ConcatenateIterator

    inner, opaque = _opaque_inner(tp)
    if opaque:
        if _is_union(inner):
            raise ProbeError("unsupported output type: Optional is not allowed as a return type")
        return _opaque_type(inner)
    tp = _strip_annotated(tp)
    if tp is Any or tp in (dict, typing.Dict):  # noqa: UP006
        return dict(ANY)
    if tp in (list, typing.List):  # noqa: UP006
        return {"kind": "array", "items": dict(ANY)}
    if _is_union(tp):
        members, nullable = _union_parts(tp)
        if nullable and len(members) == 1:
            raise ProbeError("unsupported output type: Optional is not allowed as a return type")
        raise ProbeError("unsupported type: union types are not supported as output")
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is not None and not args:
        raise ProbeError(f"unsupported type: {_type_name(tp)} needs a type argument")
    if origin is dict:
        return {"kind": "dict", "values": output_type(args[1], seen)}
    if origin is list:
        return {"kind": "array", "items": output_type(args[0], seen)}
    if origin in (collections.abc.Iterator, collections.abc.AsyncIterator):
        return {"kind": "iterator", "items": output_type(args[0], seen)}
    if origin in (ConcatenateIterator, AsyncConcatenateIterator) or tp in (
        ConcatenateIterator,
        AsyncConcatenateIterator,
    ):
        if len(args) != 1:
            raise ProbeError("unsupported type: ConcatenateIterator expects one type argument")
        if args[0] is not str:
            raise ProbeError(
                f"ConcatenateIterator element type must be str, got {_type_name(args[0])}"
            )
        return {"kind": "concatenate"}
    if _model_kind(tp):
        if tp in seen:  # a recursive model: Cog describes the inner occurrence as an object
            return dict(ANY)
        return {"kind": "object", "fields": _model_fields(tp, seen | {tp})}
    name = _primitive(tp)
    if name is None:
        raise ProbeError(
            f"cannot resolve output type '{_type_name(tp)}': define it as a BaseModel "
            "subclass or mark JSON-shaped values with Annotated[..., cog.Opaque]"
        )
    return {"kind": "primitive", "primitive": name}


def _field_type(tp: Any, seen: frozenset[Any]) -> tuple[dict[str, Any], bool]:
    """(type, required) for one field of an output model: Optional is allowed here."""
    inner, opaque = _opaque_inner(tp)
    if opaque:
        shape = _opaque_type(inner)
        return shape, not shape.get("nullable")
    tp = _strip_annotated(tp)
    if _is_union(tp):
        members, nullable = _union_parts(tp)
        if nullable and len(members) == 1:
            return {**output_type(members[0], seen), "nullable": True}, False
    return output_type(tp, seen), True


def _hints(cls: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to what is written
        return dict(getattr(cls, "__annotations__", {}))


def _key_qualifier(tp: Any) -> tuple[Any, bool | None]:
    """TypedDict `Required[T]` / `NotRequired[T]` -> (T, True/False)."""
    origin = typing.get_origin(tp)
    if origin is not None:
        modules = [typing, sys.modules.get("typing_extensions")]
        for name, value in (("Required", True), ("NotRequired", False)):
            if any(origin is getattr(m, name, None) for m in modules if m is not None):
                return typing.get_args(tp)[0], value
    return tp, None


def _declared_in(cls: type, name: str) -> type:
    for owner in cls.__mro__:
        if name in owner.__dict__.get("__annotations__", {}):
            return owner
    return cls


def _model_fields(cls: Any, seen: frozenset[Any]) -> list[dict[str, Any]]:
    """The fields of a cog.BaseModel, pydantic model or TypedDict, in declaration order."""
    kind = _model_kind(cls)
    hints = _hints(cls)
    if kind == "pydantic":
        declared = getattr(cls, "model_fields", None) or getattr(cls, "__fields__", None) or {}
        names = list(declared) or list(hints)
    elif kind == "cog" and dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls)]
    else:
        names = list(hints)
    literal_cache: dict[type, dict[str, bool] | None] = {}
    fields = []
    for name in names:
        annotation = hints.get(name, Any)
        if typing.get_origin(annotation) is typing.ClassVar:
            continue
        annotation, key_required = _key_qualifier(annotation)
        try:
            shape, required = _field_type(annotation, seen)
        except ProbeError as exc:
            raise ProbeError(f"field {name!r} of {_type_name(cls)}: {exc}") from None
        if kind == "typeddict":  # the key decides, not Optional: `x: int | None` is required
            keys = getattr(cls, "__required_keys__", None)
            required = name in keys if keys is not None else key_required is not False
        else:
            owner = _declared_in(cls, name)
            if owner not in literal_cache:
                literal_cache[owner] = _literal_defaults(owner)
            literals = literal_cache[owner]
            has_default = (
                literals.get(name, False)
                if literals is not None
                else _runtime_default(cls, name, kind)
            )
            required = required and not has_default
        fields.append({"name": name, "type": shape, "required": required})
    return fields


def _runtime_default(cls: Any, name: str, kind: str | None) -> bool:
    """Without source to read: whether the field has a plain default value."""
    if kind == "pydantic":
        field = (getattr(cls, "model_fields", None) or {}).get(name)
        return field is not None and not field.is_required()
    for field in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ():
        if field.name == name:
            return field.default is not dataclasses.MISSING
    return False


# ---------------------------------------------------------------- signatures


def _plain(value: Any) -> Any:
    """A JSON-able rendering of a default value (Path, Enum, tuples, sets...)."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _input_field(
    order: int, parameter: inspect.Parameter, annotation: Any, input_call: bool | None
) -> dict[str, Any]:
    from cog import FieldInfo

    try:
        shape = input_type(annotation)
    except ProbeError as exc:
        raise ProbeError(f"invalid input field {parameter.name}: {exc}") from None
    field: dict[str, Any] = {"name": parameter.name, "order": order, "type": shape}
    default = parameter.default
    if isinstance(default, FieldInfo):
        # Written as Input(...): it has a default only if `default=` was given. Without
        # the source (an Input kept in a variable) a None default is taken as none given.
        has_default = input_call if input_call is not None else default.default is not None
        for key in ("description", "ge", "le", "min_length", "max_length", "regex"):
            if getattr(default, key) is not None:
                field[key] = getattr(default, key)
        if default.choices is not None:
            field["choices"] = _plain(list(default.choices))
        if default.deprecated is not None:
            field["deprecated"] = bool(default.deprecated)
        if default.accept is not None:
            field["accept"] = default.accept
        value = default.default
    else:
        has_default = default is not inspect.Parameter.empty
        value = default if has_default else None
    if has_default:
        field["default"] = _plain(value)
    _check_field(field)
    return field


def _element(shape: dict[str, Any]) -> dict[str, Any]:
    return shape["items"] if shape["kind"] == "array" else shape


def _check_field(field: dict[str, Any]) -> None:
    """What Cog's generator refuses about Input(...) beyond the type itself."""
    shape = field["type"]
    if "accept" in field:
        element = _element(shape)
        if element["kind"] != "primitive" or element["primitive"] not in ("Path", "File"):
            raise ProbeError(
                f"accept is only valid on Path or File inputs (parameter '{field['name']}')"
            )
    constrained = ("ge", "le", "min_length", "max_length", "regex", "choices")
    if shape["kind"] == "union" and any(key in field for key in constrained):
        raise ProbeError(
            f"invalid input field {field['name']}: constraints and choices are not "
            "supported on union inputs"
        )


def describe(ref: str, kind: str) -> dict[str, Any]:
    """The signature of `ref` in `kind` ("predict" or "train") mode, as plain data."""
    module, attr = _load(ref)
    function, method = _target(module, attr, kind)
    node = _function_node(function)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:
        hints = dict(getattr(function, "__annotations__", {}))
    parameters = list(inspect.signature(function, follow_wrapped=True).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    input_calls = _input_calls(node)
    inputs = []
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name not in hints:
            raise ProbeError(
                f"missing type annotation for parameter '{parameter.name}' on {method}"
            )
        inputs.append(
            _input_field(
                len(inputs), parameter, hints[parameter.name], input_calls.get(parameter.name)
            )
        )
    returns = hints.get("return")
    if returns is None or returns is type(None):
        raise ProbeError(f"missing return type annotation on {method}")
    output = output_type(returns)
    streaming = _is_streaming(function, node)
    if streaming and output["kind"] not in ("iterator", "concatenate"):
        raise ProbeError(
            "@streaming requires Iterator[...], AsyncIterator[...], ConcatenateIterator[...] "
            "or AsyncConcatenateIterator[...] return type"
        )
    return {
        "ref": ref,
        "method": method,
        "is_async": inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function),
        "streaming": streaming,
        "inputs": inputs,
        "output": output,
    }


# ---------------------------------------------------------------- errors


_MISSING_NAME = re.compile(r"cannot import name '([^']+)' from '([^']+)'")
_MISSING_ATTRIBUTE = re.compile(r"module '([^']+)' has no attribute '([^']+)'")


def _in_model(filename: str) -> bool:
    here = os.path.realpath(os.getcwd())
    path = os.path.realpath(filename)
    return path.startswith(here + os.sep) and "site-packages" not in path


def too_old_for(exc: BaseException) -> str | None:
    """One line when the model uses something the installed cog does not have, else None.

    A model written for a newer Cog (`from cog.types import Weights`) fails on import with
    an ImportError or AttributeError about `cog`: say that, not the traceback.
    """
    missing: str | None = None
    if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] == "cog":
        found = _MISSING_NAME.search(str(exc))
        if found:
            missing = f"{found.group(2)}.{found.group(1)}"
        elif isinstance(exc, ModuleNotFoundError) and exc.name != "cog":
            missing = exc.name
    elif isinstance(exc, AttributeError):
        found = _MISSING_ATTRIBUTE.search(str(exc))
        if found and found.group(1).split(".")[0] == "cog":
            missing = f"{found.group(1)}.{found.group(2)}"
    if missing is None:
        return None
    import cog

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _in_model(f.filename)]
    where = ""
    if frames:
        frame = frames[-1]
        where = f"{os.path.relpath(frame.filename)}:{frame.lineno}: "
        if frame.line:
            where += f"`{frame.line.strip()}`: "
    return (
        f"{where}{missing} needs a newer Cog than the installed cog {cog.__version__}: "
        "pass --python with an interpreter whose cog and coglet have it"
    )


def main(argv: list[str]) -> int:
    out_path = argv[0]
    sys.path.insert(0, os.getcwd())
    result: dict[str, Any] = {}
    try:
        import cog

        version = getattr(cog, "__version__", None)
        result["cog_version"] = version
        for arg in argv[1:]:
            kind, _, ref = arg.partition("=")
            result[kind] = {**describe(ref, kind), "cog_version": version}
    except ProbeError as exc:
        result = {"error": str(exc), "kind": "invalid"}
    except BaseException as exc:  # report anything the model's import raises
        too_old = too_old_for(exc)
        if too_old:
            result = {"error": too_old, "kind": "cog_too_old"}
        else:
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            result = {"error": last, "kind": "import", "traceback": traceback.format_exc()}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
