"""Backwards compatibility of two Cog OpenAPI schemas.

The one question behind every verdict: would a caller that worked against OLD break against
NEW? For inputs that means NEW must accept every request OLD accepted; for outputs it means
everything NEW can return must be something OLD could return, in the same shape.

Every change is classified once, by what it does to the set of values a schema allows:
- "narrow": NEW allows fewer values (a bound tightened, an enum value removed, ...);
- "widen":  NEW allows more values (a bound relaxed, an enum value added, ...);
- "shape":  the value is read differently (a file becomes a list, a stream appears, ...);
- "info":   worth telling, never breaking (a default changed, an input deprecated, ...).
A narrowing breaks inputs, a widening breaks outputs, a shape change breaks both. That one
table is why input integer -> number is fine while output integer -> number is not.

Pure functions over plain dicts; no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any, Literal

from tasks.core.openapi import INPUT, OUTPUT, TRAINING_INPUT, TRAINING_OUTPUT, component

Sense = Literal["narrow", "widen", "shape", "info"]
Direction = Literal["input", "output"]

# Deeper than any real schema; stops pathological (or self-referencing) documents.
_MAX_DEPTH = 48
_NUMERIC = frozenset({"integer", "number"})
_UNION_KEYS = ("anyOf", "oneOf")


@dataclass(frozen=True)
class Finding:
    """One difference between OLD and NEW: which rule, where, what, and whether it breaks."""

    rule: str
    path: str
    message: str
    breaking: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _breaks(sense: Sense, direction: Direction) -> bool:
    if sense == "shape":
        return True
    if sense == "narrow":
        return direction == "input"
    if sense == "widen":
        return direction == "output"
    return False


class _Collector:
    """Accumulates findings while walking both schemas side by side."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, rule: str, path: str, message: str, sense: Sense, direction: Direction) -> None:
        self.findings.append(Finding(rule, path, message, _breaks(sense, direction)))


# --------------------------------------------------------------------------------------------
# Normalising the many ways one schema can be written
# --------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A compact JSON rendering for messages (keeps unicode readable)."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _flatten(schema: Any) -> dict[str, Any]:
    """Merge allOf into its parent: Cog writes choices as allOf[{$ref: enum}] beside the title.

    The parent's own keys win (title, description, default); constraints from the parts are
    added, and two enums intersect (allOf means every part must hold).
    """
    if not isinstance(schema, dict):
        return {}
    parts = schema.get("allOf")
    if not isinstance(parts, list) or not parts:
        return schema
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        if isinstance(part, dict) and "$ref" in part:
            continue  # a self-reference dereference() left in place: nothing more to learn
        for key, value in _flatten(part).items():
            if key not in merged:
                merged[key] = value
            elif key == "enum" and isinstance(value, list) and isinstance(merged[key], list):
                keys = {_enum_key(v) for v in value}
                merged[key] = [v for v in merged[key] if _enum_key(v) in keys]
            elif key == "required" and isinstance(value, list) and isinstance(merged[key], list):
                merged[key] = list(dict.fromkeys([*merged[key], *value]))
            elif key == "properties" and isinstance(value, dict) and isinstance(merged[key], dict):
                merged[key] = {**value, **merged[key]}
    return merged


def _enum_key(value: Any) -> tuple[str, Any]:
    """Compare enum values the way JSON Schema does: 1 == 1.0, but True != 1 and 1 != "1"."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return ("number", int(value))
        return ("number", value)
    if value is None:
        return ("null", None)
    if isinstance(value, str):
        return ("string", value)
    return ("json", _show(value))


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return "object"


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if isinstance(schema.get("enum"), list):
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _declared_types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema allows, null excluded; None when it allows any type.

    A missing `type` is read from what the schema does declare (enum values, properties,
    items), so hand-written schemas without `type` are still compared sensibly. With an enum
    the values decide: `number` with choices [1, 2] only ever carries integers.
    """
    values = _enum(schema)
    if values and any(v is not None for v in values):
        types = {_value_type(v) for v in values if v is not None}
        if "integer" in types and "number" in types:
            types.discard("integer")
        return types
    raw = schema.get("type")
    if isinstance(raw, str):
        types = {raw}
    elif isinstance(raw, list):
        types = {t for t in raw if isinstance(t, str)}
    elif isinstance(schema.get("properties"), dict):
        types = {"object"}
    elif "items" in schema:
        types = {"array"}
    else:
        return None
    types.discard("null")
    return types


def _nullable(schema: dict[str, Any]) -> bool:
    if schema.get("nullable") is True:
        return True
    raw = schema.get("type")
    if raw == "null" or (isinstance(raw, list) and "null" in raw):
        return True
    values = _enum(schema)
    if values is not None and any(v is None for v in values):
        return True
    return any(_is_null_branch(b) for key in _UNION_KEYS for b in schema.get(key) or [])


def _is_null_branch(branch: Any) -> bool:
    if not isinstance(branch, dict):
        return False
    flat = _flatten(branch)
    raw = flat.get("type")
    return raw == "null" or raw == ["null"] or _enum(flat) == [None]


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a schema: its anyOf/oneOf parts, or the schema itself.

    Keys outside the union (title, description, format, bounds) apply to every branch, so
    they are folded into each one.
    """
    for key in _UNION_KEYS:
        parts = schema.get(key)
        if isinstance(parts, list) and parts:
            shared = {
                k: v for k, v in schema.items() if k not in (*_UNION_KEYS, "nullable", "default")
            }
            result = []
            for part in parts:
                if _is_null_branch(part):
                    continue
                flat = _flatten(part)
                result.append({**shared, **flat} if isinstance(flat, dict) else shared)
            return result
    return [schema]


def _covered(kind: str, types: set[str] | None) -> bool:
    """Does the type set `types` admit every value of JSON type `kind`?"""
    if types is None:
        return True
    return kind in types or (kind == "integer" and "number" in types)


def _type_gap(inner: set[str] | None, outer: set[str] | None) -> bool:
    """True when `inner` allows some value that `outer` does not."""
    if outer is None:
        return False
    if inner is None:
        return True
    return any(not _covered(t, outer) for t in inner)


def _describe_types(types: set[str] | None, schema: dict[str, Any]) -> str:
    if types is None:
        return "any type"
    names = []
    for t in sorted(types):
        if t == "string" and schema.get("format") == "uri":
            names.append("file (string, format uri)")
        elif t == "array":
            items = _flatten(schema.get("items"))
            item_types = _declared_types(items) if items else None
            inner = "/".join(sorted(item_types)) if item_types else "any"
            if items.get("format") == "uri":
                inner = "file"
            names.append(f"array of {inner}")
        else:
            names.append(t)
    return " | ".join(names)


# --------------------------------------------------------------------------------------------
# Comparing two (sub)schemas
# --------------------------------------------------------------------------------------------


class _Walker:
    def __init__(self, direction: Direction, label: str, out: _Collector) -> None:
        self.direction = direction
        self.label = label  # "input", "output", "training input", "training output"
        self.out = out

    def add(self, rule: str, path: str, message: str, sense: Sense) -> None:
        self.out.add(rule, path, message, sense, self.direction)

    # ---- one value schema ----------------------------------------------------------------

    def compare(self, old: Any, new: Any, path: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            return
        old = _flatten(old) if isinstance(old, dict) else {}
        new = _flatten(new) if isinstance(new, dict) else {}
        old_ref, new_ref = old.get("$ref"), new.get("$ref")
        if isinstance(old_ref, str) or isinstance(new_ref, str):
            # Only left by dereference() where a component refers to itself: compare names.
            if isinstance(old_ref, str) and isinstance(new_ref, str) and old_ref != new_ref:
                self.add(
                    "type-changed",
                    path,
                    f"{path}: recursive type changed from {old_ref} to {new_ref}",
                    "shape",
                )
            return

        self._nullability(old, new, path)
        old_branches, new_branches = _branches(old), _branches(new)
        if len(old_branches) == 1 and len(new_branches) == 1:
            self._single(old_branches[0], new_branches[0], path, depth)
        else:
            self._union(old_branches, new_branches, path, depth)
        self._annotations(old, new, path)

    def _nullability(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        was, now = _nullable(old), _nullable(new)
        if was and not now:
            self.add("nullable-removed", path, f"{path}: null is no longer allowed", "narrow")
        elif now and not was:
            self.add("nullable-added", path, f"{path}: null is now allowed", "widen")

    def _union(
        self,
        old_branches: list[dict[str, Any]],
        new_branches: list[dict[str, Any]],
        path: str,
        depth: int,
    ) -> None:
        """Pair branches by type; an unmatched old branch narrows, an unmatched new one widens."""

        def partner(branch: dict[str, Any], pool: list[dict[str, Any]]) -> dict[str, Any] | None:
            for candidate in pool:  # an identical branch, wherever it moved
                if candidate == branch:
                    return candidate
            types = _declared_types(branch)
            for candidate in pool:  # then one with the same types
                if _declared_types(candidate) == types:
                    return candidate
            for candidate in pool:  # then one that admits all of this branch's types
                if not _type_gap(types, _declared_types(candidate)):
                    return candidate
            for candidate in pool:  # then one that is admitted by this branch
                if not _type_gap(_declared_types(candidate), types):
                    return candidate
            return None

        compared: set[tuple[int, int]] = set()
        for ob in old_branches:
            nb = partner(ob, new_branches)
            if nb is None:
                desc = _describe_types(_declared_types(ob), ob)
                self.add(
                    "union-narrowed",
                    path,
                    f"{path}: no longer allows {desc} (a branch of the union was removed)",
                    "narrow",
                )
            elif (id(ob), id(nb)) not in compared:
                compared.add((id(ob), id(nb)))
                self._single(ob, nb, path, depth)
        for nb in new_branches:
            ob = partner(nb, old_branches)
            if ob is None:
                desc = _describe_types(_declared_types(nb), nb)
                self.add(
                    "union-widened",
                    path,
                    f"{path}: now also allows {desc} (a branch was added to the union)",
                    "widen",
                )
            elif (id(ob), id(nb)) not in compared:
                compared.add((id(ob), id(nb)))
                self._single(ob, nb, path, depth)

    def _single(self, old: dict[str, Any], new: dict[str, Any], path: str, depth: int) -> None:
        old_types, new_types = _declared_types(old), _declared_types(new)
        if not self._types(old, new, old_types, new_types, path):
            return  # unrelated types: their constraints cannot be compared meaningfully
        shared = _shared_types(old_types, new_types)
        self._format(old, new, path)
        self._enum(old, new, path)
        if shared & _NUMERIC or not shared:
            self._numeric(old, new, path, shared)
        if "string" in shared or not shared:
            self._strings(old, new, path)
        if "array" in shared or not shared:
            self._arrays(old, new, path, depth)
        if "object" in shared or not shared:
            self._object(old, new, path, depth)

    def _types(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        old_types: set[str] | None,
        new_types: set[str] | None,
        path: str,
    ) -> bool:
        """Report a type change; return False when the types no longer overlap at all."""
        narrowed = _type_gap(old_types, new_types)
        widened = _type_gap(new_types, old_types)
        if not narrowed and not widened:
            return True
        was, now = _describe_types(old_types, old), _describe_types(new_types, new)
        if old_types == {"string"} and new_types == {"array"}:
            self.add("became-list", path, f"{path}: a single {was} became a list ({now})", "shape")
            return False
        if old_types == {"array"} and new_types == {"string"}:
            self.add(
                "became-single", path, f"{path}: a list ({was}) became a single {now}", "shape"
            )
            return False
        if narrowed and widened and _enum(old) is not None and _enum(new) is not None:
            self.add(
                "enum-type-changed",
                path,
                f"{path}: choices changed from {was} {_show(_enum(old))} "
                f"to {now} {_show(_enum(new))}",
                "shape",
            )
        elif narrowed and widened:
            self.add("type-changed", path, f"{path}: type changed from {was} to {now}", "shape")
        elif widened:
            self.add("type-widened", path, f"{path}: type widened from {was} to {now}", "widen")
        else:
            self.add("type-narrowed", path, f"{path}: type narrowed from {was} to {now}", "narrow")
        overlap = _shared_types(old_types, new_types)
        return bool(overlap) or old_types is None or new_types is None

    def _format(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        was, now = old.get("format"), new.get("format")
        if was == now:
            return
        if "uri" in (was, now):
            # A uri is a file to Cog: a caller's plain string becomes a download, or a file
            # the caller sent (or received) becomes a plain string.
            change = "added" if now == "uri" else "removed"
            self.add(
                "format-changed",
                path,
                f"{path}: format uri {change} (files and plain strings are handled differently)",
                "shape",
            )
            return
        self.add(
            "format-changed",
            path,
            f"{path}: format changed from {was or 'none'} to {now or 'none'}",
            "info",
        )

    def _enum(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        was, now = _enum(old), _enum(new)
        if was is None and now is None:
            return
        if was is None:
            self.add(
                "enum-added",
                path,
                f"{path}: now restricted to choices {_show(now)}",
                "narrow",
            )
            return
        if now is None:
            self.add(
                "enum-removed",
                path,
                f"{path}: no longer restricted to choices {_show(was)}",
                "widen",
            )
            return
        old_keys = {_enum_key(v): v for v in was if v is not None}
        new_keys = {_enum_key(v): v for v in now if v is not None}
        old_kinds = {k[0] for k in old_keys}
        new_kinds = {k[0] for k in new_keys}
        if old_keys and new_keys and not (old_kinds & new_kinds):
            self.add(
                "enum-type-changed",
                path,
                f"{path}: choices changed type from {_show(was)} to {_show(now)}",
                "shape",
            )
            return
        removed = [v for k, v in old_keys.items() if k not in new_keys]
        added = [v for k, v in new_keys.items() if k not in old_keys]
        if removed:
            self.add(
                "enum-value-removed",
                path,
                f"{path}: choice(s) {_show(removed)} removed",
                "narrow",
            )
        if added:
            self.add(
                "enum-value-added",
                path,
                f"{path}: choice(s) {_show(added)} added",
                "widen",
            )

    # ---- numbers ------------------------------------------------------------------------

    def _numeric(
        self, old: dict[str, Any], new: dict[str, Any], path: str, shared: set[str]
    ) -> None:
        integral = bool(shared) and shared <= {"integer"}
        for side in ("minimum", "maximum"):
            self._bound(side, _bound(old, side, integral), _bound(new, side, integral), path)
        self._multiple_of(old.get("multipleOf"), new.get("multipleOf"), path)

    def _bound(
        self,
        side: str,
        was: tuple[float, bool] | None,
        now: tuple[float, bool] | None,
        path: str,
    ) -> None:
        if was == now:
            return

        def text(bound: tuple[float, bool] | None) -> str:
            if bound is None:
                return "none"
            return f"{_num(bound[0])}{' (exclusive)' if bound[1] else ''}"

        lower = side == "minimum"
        if now is None:
            tighter = False
        elif was is None:
            tighter = True
        else:
            beyond = now[0] > was[0] if lower else now[0] < was[0]
            tighter = beyond or (now[0] == was[0] and now[1] and not was[1])
        self._limit_changed(
            side, path, text(was) if was else None, text(now) if now else None, tighter
        )

    def _multiple_of(self, was: Any, now: Any, path: str) -> None:
        was_f, now_f = _fraction(was), _fraction(now)
        if was_f == now_f:
            return
        # NEW accepts all OLD values exactly when NEW's step divides OLD's step (64 -> 8).
        narrowed = now_f is not None and (was_f is None or (was_f / now_f).denominator != 1)
        widened = was_f is not None and (now_f is None or (now_f / was_f).denominator != 1)
        if narrowed and widened:
            self.add(
                "multipleOf-changed",
                path,
                f"{path}: multipleOf changed from {_num(was)} to {_num(now)}",
                "shape",
            )
        elif narrowed:
            message = (
                f"{path}: multipleOf {_num(now)} added"
                if was_f is None
                else f"{path}: multipleOf tightened from {_num(was)} to {_num(now)}"
            )
            self.add("multipleOf-tightened", path, message, "narrow")
        elif widened:
            message = (
                f"{path}: multipleOf {_num(was)} removed"
                if now_f is None
                else f"{path}: multipleOf relaxed from {_num(was)} to {_num(now)}"
            )
            self.add("multipleOf-relaxed", path, message, "widen")

    # ---- strings ------------------------------------------------------------------------

    def _strings(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        self._count("minLength", old.get("minLength"), new.get("minLength"), path, lower=True)
        self._count("maxLength", old.get("maxLength"), new.get("maxLength"), path, lower=False)
        was, now = old.get("pattern"), new.get("pattern")
        if was == now:
            return
        if was is None:
            self.add("pattern-added", path, f"{path}: pattern {_show(now)} added", "narrow")
        elif now is None:
            self.add("pattern-removed", path, f"{path}: pattern {_show(was)} removed", "widen")
        else:
            # Whether one regular expression contains another cannot be decided in general.
            self.add(
                "pattern-changed",
                path,
                f"{path}: pattern changed from {_show(was)} to {_show(now)}",
                "shape",
            )

    def _count(self, key: str, was: Any, now: Any, path: str, *, lower: bool) -> None:
        """minLength/maxLength/minItems/maxItems: integer bounds on a size."""
        was = was if isinstance(was, int | float) and not isinstance(was, bool) else None
        now = now if isinstance(now, int | float) and not isinstance(now, bool) else None
        if lower:  # minLength 0 and minItems 0 say nothing
            was = None if was == 0 else was
            now = None if now == 0 else now
        if was == now:
            return
        if now is None:
            tighter = False
        elif was is None:
            tighter = True
        else:
            tighter = now > was if lower else now < was
        self._limit_changed(
            key,
            path,
            None if was is None else _num(was),
            None if now is None else _num(now),
            tighter,
        )

    def _limit_changed(
        self, key: str, path: str, was: str | None, now: str | None, tighter: bool
    ) -> None:
        """Report one limit (a bound, a length, an item count) added, removed or moved."""
        if tighter:
            moved = f"tightened from {was} to {now}"
            message = f"{path}: {key} {now} added" if was is None else f"{path}: {key} {moved}"
            self.add(f"{key}-tightened", path, message, "narrow")
        else:
            moved = f"relaxed from {was} to {now}"
            message = f"{path}: {key} {was} removed" if now is None else f"{path}: {key} {moved}"
            self.add(f"{key}-relaxed", path, message, "widen")

    # ---- arrays -------------------------------------------------------------------------

    def _arrays(self, old: dict[str, Any], new: dict[str, Any], path: str, depth: int) -> None:
        self._count("minItems", old.get("minItems"), new.get("minItems"), path, lower=True)
        self._count("maxItems", old.get("maxItems"), new.get("maxItems"), path, lower=False)
        was_unique, now_unique = bool(old.get("uniqueItems")), bool(new.get("uniqueItems"))
        if now_unique and not was_unique:
            self.add("uniqueItems-added", path, f"{path}: items must now be unique", "narrow")
        elif was_unique and not now_unique:
            self.add("uniqueItems-removed", path, f"{path}: items may now repeat", "widen")
        self._streaming(old, new, path)
        if "items" in old or "items" in new:
            self.compare(old.get("items"), new.get("items"), f"{path}[]", depth + 1)

    def _streaming(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        """x-cog-array-type/x-cog-array-display decide whether clients get a list, a
        generator or one joined string: any change reads the output differently."""
        for key, what in (
            ("x-cog-array-type", "iterator"),
            ("x-cog-array-display", "concatenate"),
        ):
            was, now = old.get(key), new.get(key)
            if was == now:
                continue
            rule = "output-iterator-changed" if what == "iterator" else "output-concatenate-changed"
            change = f"{key} changed from {was or 'none'} to {now or 'none'}"
            if self.direction == "output":
                consequence = {
                    ("iterator", True): "clients now receive a stream instead of a list",
                    ("iterator", False): "clients now receive a list instead of a stream",
                    ("concatenate", True): "clients now receive one joined string",
                    ("concatenate", False): "clients no longer receive one joined string",
                }[(what, now == what)]
                self.add(rule, path, f"{path}: {change}; {consequence}", "shape")
            else:
                self.add(rule, path, f"{path}: {change}", "info")

    # ---- objects ------------------------------------------------------------------------

    def _object(self, old: dict[str, Any], new: dict[str, Any], path: str, depth: int) -> None:
        old_props = old.get("properties") if isinstance(old.get("properties"), dict) else {}
        new_props = new.get("properties") if isinstance(new.get("properties"), dict) else {}
        if not old_props and not new_props:
            return
        old_req = set(old.get("required") or [])
        new_req = set(new.get("required") or [])
        if self.direction == "input":
            self._input_properties(old_props, new_props, old_req, new_req, path, depth)
        else:
            self._output_properties(old_props, new_props, old_req, new_req, path, depth)

    def _input_properties(
        self,
        old_props: dict[str, Any],
        new_props: dict[str, Any],
        old_req: set[str],
        new_req: set[str],
        path: str,
        depth: int,
    ) -> None:
        label = self.label
        added = [n for n in new_props if n not in old_props]
        renamed_to = _guess_renames(old_props, new_props, added)
        for name, old_prop in old_props.items():
            where = _join(path, name)
            if name in new_props:
                continue
            deprecated = isinstance(old_prop, dict) and old_prop.get("deprecated") is True
            if deprecated:
                self.add(
                    "deprecated-input-removed",
                    where,
                    f"{where}: deprecated {label} removed",
                    "info",
                )
            elif name in renamed_to:
                self.add(
                    "input-renamed",
                    where,
                    f"{where}: {label} renamed to {_q(renamed_to[name])}; "
                    f"callers that send {_q(name)} will break or have it ignored",
                    "shape",
                )
            else:
                self.add(
                    "input-removed",
                    where,
                    f"{where}: {label} removed; callers that send it will break or have it ignored",
                    "shape",
                )
        for name, new_prop in new_props.items():
            where = _join(path, name)
            if name not in old_props:
                if name in new_req:
                    self.add(
                        "input-added-required",
                        where,
                        f"{where}: new required {label}; requests without it are rejected",
                        "narrow",
                    )
                else:
                    self.add("input-added", where, f"{where}: new optional {label}", "widen")
                continue
            old_prop = old_props[name]
            if name in new_req and name not in old_req:
                self.add(
                    "input-now-required",
                    where,
                    f"{where}: {label} now required; requests without it are rejected",
                    "narrow",
                )
            elif name in old_req and name not in new_req:
                self.add("input-now-optional", where, f"{where}: {label} now optional", "widen")
            self._default(old_prop, new_prop, where)
            self._deprecation(old_prop, new_prop, where)
            self.compare(old_prop, new_prop, where, depth + 1)

    def _output_properties(
        self,
        old_props: dict[str, Any],
        new_props: dict[str, Any],
        old_req: set[str],
        new_req: set[str],
        path: str,
        depth: int,
    ) -> None:
        for name, old_prop in old_props.items():
            where = _join(path, name)
            if name not in new_props:
                self.add(
                    "output-property-removed",
                    where,
                    f"{where}: {self.label} field removed; clients reading it break",
                    "shape",
                )
                continue
            if name in old_req and name not in new_req:
                self.add(
                    "output-property-now-optional",
                    where,
                    f"{where}: {self.label} field may now be missing",
                    "widen",
                )
            elif name in new_req and name not in old_req:
                self.add(
                    "output-property-now-required",
                    where,
                    f"{where}: {self.label} field now always present",
                    "narrow",
                )
            self.compare(old_prop, new_props[name], where, depth + 1)
        for name in new_props:
            if name not in old_props:
                self.add(
                    "output-property-added",
                    _join(path, name),
                    f"{_join(path, name)}: new {self.label} field",
                    "info",
                )

    def _default(self, old: Any, new: Any, where: str) -> None:
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        if "default" not in old and "default" not in new:
            return
        was, now = old.get("default"), new.get("default")
        if "default" in old and "default" in new and _enum_key(was) == _enum_key(now):
            return
        self.add(
            "default-changed",
            where,
            f"{where}: default changed from "
            f"{_show(was) if 'default' in old else 'none'} to "
            f"{_show(now) if 'default' in new else 'none'}",
            "info",
        )

    def _deprecation(self, old: Any, new: Any, where: str) -> None:
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        was, now = old.get("deprecated") is True, new.get("deprecated") is True
        if now and not was:
            self.add("input-deprecated", where, f"{where}: {self.label} now deprecated", "info")
        elif was and not now:
            self.add(
                "input-undeprecated",
                where,
                f"{where}: {self.label} no longer deprecated",
                "info",
            )

    def _annotations(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        """Secrets are shown masked in UIs; the request a caller sends is unchanged."""
        was, now = old.get("x-cog-secret") is True, new.get("x-cog-secret") is True
        if was != now:
            state = "now" if now else "no longer"
            self.add("secret-changed", path, f"{path}: {state} a secret (x-cog-secret)", "info")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _shared_types(a: set[str] | None, b: set[str] | None) -> set[str]:
    if a is None and b is None:
        return set()
    if a is None:
        return set(b or ())
    if b is None:
        return set(a)
    shared = a & b
    if ("integer" in a and "number" in b) or ("number" in a and "integer" in b):
        shared |= {"number"}
    return shared


def _bound(schema: dict[str, Any], side: str, integral: bool) -> tuple[float, bool] | None:
    """A numeric bound as (value, exclusive), reading both OpenAPI 3.0 and 3.1 spellings.

    For integer-only schemas an exclusive bound is turned into the inclusive one next to it,
    so `exclusiveMinimum: 0` and `minimum: 1` compare equal.
    """
    exclusive_key = "exclusiveMinimum" if side == "minimum" else "exclusiveMaximum"
    candidates: list[tuple[float, bool]] = []
    plain = schema.get(side)
    flag = schema.get(exclusive_key)
    if _is_number(plain):
        candidates.append((plain, flag is True))
    if _is_number(flag):
        candidates.append((flag, True))
    if not candidates:
        return None
    if side == "minimum":
        value, exclusive = max(candidates, key=lambda c: (c[0], c[1]))
    else:
        value, exclusive = min(candidates, key=lambda c: (c[0], not c[1]))
    if integral and exclusive and float(value).is_integer():
        value, exclusive = (value + 1 if side == "minimum" else value - 1), False
    if integral and not exclusive:
        value = math.ceil(value) if side == "minimum" else math.floor(value)
    return (value, exclusive)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fraction(value: Any) -> Fraction | None:
    if not _is_number(value) or value <= 0:
        return None
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _q(name: str) -> str:
    return f"'{name}'"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}"


def _shape_key(schema: Any) -> str:
    """What an input accepts, without its name-specific decoration (for rename detection)."""
    if not isinstance(schema, dict):
        return _show(schema)
    ignore = {"title", "description", "x-order"}
    return _show({k: v for k, v in _flatten(schema).items() if k not in ignore})


def _guess_renames(
    old_props: dict[str, Any], new_props: dict[str, Any], added: list[str]
) -> dict[str, str]:
    """Pair a removed input with an added one that accepts exactly the same values."""
    free = {name: _shape_key(new_props[name]) for name in added}
    renames: dict[str, str] = {}
    for name, schema in old_props.items():
        if name in new_props:
            continue
        key = _shape_key(schema)
        matches = [n for n, k in free.items() if k == key]
        if len(matches) == 1:
            renames[name] = matches[0]
            del free[matches[0]]
    return renames


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def diff_schemas(
    old_doc: dict[str, Any], new_doc: dict[str, Any], *, train: bool = False
) -> list[Finding]:
    """Every difference between two OpenAPI documents, breaking findings first.

    Without `train` only Input and Output are compared, with it only TrainingInput and
    TrainingOutput. Raises UsageError (from tasks.core.openapi) only for a $ref that points nowhere
    inside one of the compared components.
    """
    in_name, out_name = (TRAINING_INPUT, TRAINING_OUTPUT) if train else (INPUT, OUTPUT)
    in_label, out_label = ("training input", "training output") if train else ("input", "output")
    in_path, out_path = ("training_input", "training_output") if train else ("input", "output")
    out = _Collector()

    empty: dict[str, Any] = {"type": "object", "properties": {}}
    old_in = component(old_doc, in_name) or empty
    new_in = component(new_doc, in_name) or empty
    inputs = _Walker("input", in_label, out)
    inputs._object(
        _flatten(old_in) | {"type": "object"},
        _flatten(new_in) | {"type": "object"},
        in_path,
        0,
    )

    old_out = component(old_doc, out_name)
    new_out = component(new_doc, out_name)
    outputs = _Walker("output", out_label, out)
    if old_out is not None and new_out is None:
        outputs.add(
            "output-removed",
            out_path,
            f"{out_path}: NEW declares no {out_name} schema; clients cannot rely on its shape",
            "shape",
        )
    elif old_out is None and new_out is not None:
        outputs.add("output-added", out_path, f"{out_path}: NEW declares {out_name}", "info")
    elif old_out is not None and new_out is not None:
        outputs.compare(old_out, new_out, out_path)

    findings = out.findings
    return [f for f in findings if f.breaking] + [f for f in findings if not f.breaking]


def breaking(findings: Iterable[Finding]) -> list[Finding]:
    """Only the findings that break a caller."""
    return [f for f in findings if f.breaking]


def format_findings(findings: Iterable[Finding]) -> str:
    """One line per finding: a BREAKING/ok mark, the rule, and a message that starts with the path."""
    lines = []
    for f in findings:
        mark = "BREAKING" if f.breaking else "ok"
        lines.append(f"{mark:<8} {f.rule:<28} {f.message}")
    return "\n".join(lines)


def has_component(doc: dict[str, Any], *, train: bool = False) -> bool:
    """Does the document define any of the components that `diff_schemas` compares?"""
    schemas = (doc.get("components") or {}).get("schemas") or {}
    names = (TRAINING_INPUT, TRAINING_OUTPUT) if train else (INPUT, OUTPUT)
    return any(name in schemas for name in names)
