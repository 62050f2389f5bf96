"""Compare our hand-written `edge_cases()` with hypothesis-jsonschema on real Cog input schemas.

Run: `python benchmarks/edge_inputs.py`. The question (should tasks/fuzz use
`hypothesis_jsonschema.from_schema` instead of its own generators?) is answered with plain
figures, per schema and in total, for each generator drawing the same number of payloads:

- ms: wall time to produce the set (for Hypothesis: building the strategy and drawing);
- valid: how many pass our `validate_payload` (Cog's quirks: `format: uri`, `x-order`,
  `nullable`, enums behind `allOf`);
- extra: payloads carrying keys the model does not declare (Cog's Input schemas do not say
  `additionalProperties: false`, so JSON Schema allows them);
- fake url: payloads with a file input set to something other than a data: URI, which a
  model would have to download (Hypothesis writes `https://<random domain>`);
- edges: edge classes hit / edge classes the schema has: `''` and non-ASCII text per free-
  text input, each bound (min, max), 0 and a negative number where a side is open, each
  enum choice, `[]` per list. A value left out counts as its default being in play;
- stable: whether a second run gives the identical set.

Hypothesis draws with `@given` under `settings(derandomize=True, database=None)`, generate
phase only, so its set is repeatable too. It is shown twice: on the Input schema as Cog
writes it ("hj raw") and on the same schema turned into Draft 7 by `to_json_schema` ("hj
draft7"), which is how our validator reads it. Nothing here asserts; it only prints.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.fuzz.edge_cases import edge_cases  # noqa: E402
from tasks.fuzz.schema_view import (  # noqa: E402
    as_input_schema,
    flatten,
    is_file_input,
    number_range,
    properties,
)
from tasks.fuzz.validate import to_json_schema, validate_payload  # noqa: E402

Payloads = list[dict[str, Any]]
# hypothesis-jsonschema 0.23.1 reaches into a Hypothesis internal (`many.more()`) that later
# Hypothesis releases dropped (6.170.0 still has it, 6.170.27 does not).
INSTALL = f"{ROOT / '.venv/bin/pip'} install hypothesis-jsonschema 'hypothesis<=6.170.0'"
NAME_CHARS = 24
MIN_INPUTS = 3  # expected-schema cases with fewer inputs say little about edges
_MISSING = object()


# --- the schemas ----------------------------------------------------------------------------


def _hello() -> dict[str, Any] | None:
    """The hello example's document, written by the local platform's schema generator."""
    try:
        from tasks.platforms.local.cog_schema import generate_schema

        return generate_schema(ROOT / "examples" / "hello")
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
        print(f"(examples/hello skipped: {exc})")
        return None


def _expected_documents() -> dict[str, dict[str, Any]]:
    """Cog 0.23's own Input schemas, as embedded in tests/e2e/test_cog_expected_schemas.py."""
    from tests.e2e.test_cog_expected_schemas import CASES

    documents = {}
    for case in CASES:
        found = case.expected.get("Input")
        if found and len(found.get("properties") or {}) >= MIN_INPUTS:
            name = case.id.split(":")[0].split(",")[0]
            documents[name] = {"components": {"schemas": case.expected}}
    return documents


def schemas() -> dict[str, dict[str, Any]]:
    hello = _hello()
    return ({"examples/hello": hello} if hello else {}) | _expected_documents()


# --- edge classes: what a good set of boundary inputs hits ---------------------------------


def _allowed(value: Any, prop: dict[str, Any]) -> bool:
    return validate_payload(value, prop) == []


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def edge_classes(schema: dict[str, Any]) -> list[tuple[str, str, Callable[[Any], bool], Any]]:
    """(input, class, hit test, the value when the class is one exact value) per edge class.

    Worked out from the schema alone, so neither generator sets its own exam. Secrets and
    single files have none.
    """
    classes: list[tuple[str, str, Callable[[Any], bool], Any]] = []
    for name, prop in properties(schema).items():
        flat = flatten(prop)
        kind = flat.get("type")
        if flat.get("format") == "password":
            continue
        if flat.get("enum"):
            for choice in flat["enum"]:
                classes.append((name, f"={choice!r}", lambda v, c=choice: _same(v, c), choice))
        elif kind == "array":
            if _allowed([], prop):
                classes.append((name, "[]", lambda v: v == [], []))
        elif is_file_input(prop):
            continue
        elif kind == "string":
            if _allowed("", prop):
                classes.append((name, "''", lambda v: v == "", ""))
            if any(_allowed(t * max(1, flat.get("minLength") or 1), prop) for t in ("é", "é你🌍")):
                classes.append(
                    (name, "non-ASCII", lambda v: isinstance(v, str) and not v.isascii(), None)
                )
        elif kind in ("integer", "number"):
            lo, hi = number_range(flat, kind == "integer")
            if lo is not None:
                classes.append((name, "min", lambda v, lo=lo: _number(v) and v <= lo, lo))
            if hi is not None:
                classes.append((name, "max", lambda v, hi=hi: _number(v) and v >= hi, hi))
            if lo is None or hi is None:
                if (lo is None or lo <= 0) and (hi is None or hi >= 0):
                    classes.append((name, "0", lambda v: _number(v) and v == 0, 0))
                if lo is None or lo < 0:
                    classes.append((name, "negative", lambda v: _number(v) and v < 0, None))
    return classes


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coverage(schema: dict[str, Any], payloads: Payloads) -> tuple[int, int]:
    """(edge classes hit, edge classes the schema has); an omitted input sends its default."""
    classes = edge_classes(schema)
    props = properties(schema)
    hit = 0
    for name, _, test, exact in classes:
        default = flatten(props[name]).get("default", _MISSING)
        for payload in payloads:
            value = payload.get(name, _MISSING)
            if value is _MISSING and default is not _MISSING and exact is not None:
                value = default
            if value is not _MISSING and test(value):
                hit += 1
                break
    return hit, len(classes)


# --- the generators ----------------------------------------------------------------------------


def ours(document: dict[str, Any], count: int) -> Payloads:
    return [case.payload for case in edge_cases(document)][:count]


def hypothesis_draw(schema: dict[str, Any], count: int) -> Payloads:
    """`count` payloads from hypothesis-jsonschema, repeatably (derandomize=True)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis_jsonschema import from_schema

    drawn: Payloads = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(schema))
    def collect(payload: dict[str, Any]) -> None:
        if len(drawn) < count:
            drawn.append(payload)

    collect()
    return drawn


# --- the table -------------------------------------------------------------------------------


def _fake_urls(schema: dict[str, Any], payload: dict[str, Any]) -> bool:
    for name, prop in properties(schema).items():
        if is_file_input(prop) and name in payload:
            values = payload[name] if isinstance(payload[name], list) else [payload[name]]
            if any(not (isinstance(v, str) and v.startswith("data:")) for v in values):
                return True
    return False


def measure(
    make: Callable[[], Payloads], document: dict[str, Any], schema: dict[str, Any]
) -> dict[str, Any]:
    """One generator on one schema: the figures of one table row."""
    start = time.perf_counter()
    try:
        payloads = make()
    except Exception as exc:  # noqa: BLE001 - a generator that cannot read the schema is a figure
        message = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:60]}"
        if "'many' object has no attribute 'more'" in message:
            message += f" (Hypothesis too new: {INSTALL})"
        return {"error": message}
    seconds = time.perf_counter() - start
    again = make()
    declared = set(properties(schema))
    hit, classes = coverage(schema, payloads)
    return {
        "n": len(payloads),
        "ms": seconds * 1000,
        "valid": sum(not validate_payload(p, document) for p in payloads),
        "extra": sum(bool(set(p) - declared) for p in payloads),
        "fake": sum(_fake_urls(schema, p) for p in payloads),
        "hit": hit,
        "classes": classes,
        "stable": json.dumps(payloads, sort_keys=True, default=str)
        == json.dumps(again, sort_keys=True, default=str),
    }


def _row(schema_name: str, generator: str, row: dict[str, Any]) -> str:
    if len(schema_name) > NAME_CHARS:
        schema_name = schema_name[: NAME_CHARS - 1] + "…"
    if "error" in row:
        return f"{schema_name:<24} {generator:<10} {row['error']}"
    return (
        f"{schema_name:<24} {generator:<10} {row['n']:>3} {row['ms']:>8.1f} "
        f"{row['valid']:>3}/{row['n']:<3} {row['extra']:>5} {row['fake']:>8} "
        f"{row['hit']:>4}/{row['classes']:<4} {'yes' if row['stable'] else 'NO':>6}"
    )


def main() -> None:
    try:
        import hypothesis_jsonschema  # noqa: F401

        have_hypothesis = True
    except ImportError:
        have_hypothesis = False
        print("hypothesis-jsonschema is not installed; only edge_cases() is measured.")
        print(f"Install it (not a project dependency) with: {INSTALL}\n")
    header = (
        f"{'schema':<24} {'generator':<10} {'n':>3} {'ms':>8} {'valid':>7} {'extra':>5} "
        f"{'fake url':>8} {'edges':>9} {'stable':>6}"
    )
    print(
        "n payloads each (as many as edge_cases() gives); valid under validate_payload; extra:"
        " undeclared keys;\nfake url: a file input not given a data: URI; edges: edge classes"
        " hit / present; stable: same set twice\n"
    )
    print(header)
    print("-" * len(header))
    totals: dict[str, dict[str, float]] = {}
    for schema_name, document in schemas().items():
        schema = as_input_schema(document)
        count = len(edge_cases(document))
        generators: dict[str, Callable[[], Payloads]] = {
            "edge_cases": lambda d=document, n=count: ours(d, n)
        }
        if have_hypothesis:
            generators["hj raw"] = lambda s=schema, n=count: hypothesis_draw(s, n)
            draft7 = to_json_schema(schema)
            generators["hj draft7"] = lambda s=draft7, n=count: hypothesis_draw(s, n)
        for generator, make in generators.items():
            row = measure(make, document, schema)
            print(_row(schema_name, generator, row))
            total = totals.setdefault(generator, {"errors": 0})
            if "error" in row:
                total["errors"] += 1
                continue
            for key in ("n", "ms", "valid", "extra", "fake", "hit", "classes"):
                total[key] = total.get(key, 0) + row[key]
            total["unstable"] = total.get("unstable", 0) + (not row["stable"])
    print("-" * len(header))
    for generator, total in totals.items():
        if "n" not in total:
            print(f"{'total':<24} {generator:<10} every schema failed")
            continue
        print(
            f"{'total':<24} {generator:<10} {int(total['n']):>3} {total['ms']:>8.1f} "
            f"{int(total['valid']):>3}/{int(total['n']):<3} {int(total['extra']):>5} "
            f"{int(total['fake']):>8} {int(total['hit']):>4}/{int(total['classes']):<4} "
            f"{int(total['unstable']):>3} unstable, {int(total['errors'])} schema errors"
        )


if __name__ == "__main__":
    main()
