"""`schema-diff OLD NEW [--train] [--json] [--platform {replicate,local}]`.

Tells whether NEW is backwards compatible with OLD, using the same engine as the
compatibility stage of the push flows. Exit codes follow the tool's contract: 0 compatible,
1 breaking findings, 2 unreadable or non-schema input (one line on stderr, no traceback).

OLD and NEW are each one of:
- a JSON file holding an OpenAPI document (what `cog` writes / serves at /openapi.json);
- a JSON file holding a Replicate version object (`{"id": ..., "openapi_schema": {...}}`) or a
  model object whose `latest_version` holds one;
- a model reference on the chosen platform: `owner/name` (latest version) or
  `owner/name:version`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from flows.usage_parser import UsageParser
from tasks.core.errors import SafePushError, UsageError
from tasks.core.openapi import looks_like_openapi
from tasks.core.run_scope import run_scope
from tasks.platforms.base import Platform
from tasks.schema.diff import Finding, breaking, diff_schemas, format_findings, has_component

PROG = "schema-diff"

# owner/name[:version], optionally written as an image name (r8.im/owner/name).
_MODEL_REF = re.compile(
    r"^(?:r8\.im/)?(?P<ref>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?::(?P<version>[\w.-]+))?$"
)


class _InputError(Exception):
    """OLD or NEW cannot be turned into an OpenAPI document; the message is one line."""


def build_parser() -> UsageParser:
    parser = UsageParser(
        prog=PROG,
        description="Check that NEW is backwards compatible with OLD (exit 0), or list "
        "what breaks callers (exit 1).",
    )
    parser.add_argument(
        "old", metavar="OLD", help="schema file, version JSON file or owner/name[:version]"
    )
    parser.add_argument(
        "new", metavar="NEW", help="schema file, version JSON file or owner/name[:version]"
    )
    parser.add_argument(
        "--train",
        action="store_true",
        help="compare TrainingInput/TrainingOutput instead of Input/Output",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON array of {rule, path, message, breaking}"
    )
    parser.add_argument(
        "--platform",
        choices=["replicate", "local"],
        default=None,
        help="where model references live (default: replicate when REPLICATE_API_TOKEN is set, "
        "else local)",
    )
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def document_from_json(value: Any, label: str) -> dict[str, Any]:
    """Find the OpenAPI document in parsed JSON: the document itself or a version/model object."""
    if looks_like_openapi(value):
        return value
    if isinstance(value, dict):
        schema = value.get("openapi_schema")
        if looks_like_openapi(schema):
            return schema
        latest = value.get("latest_version")
        if isinstance(latest, dict) and looks_like_openapi(latest.get("openapi_schema")):
            return latest["openapi_schema"]
        if "openapi_schema" in value:
            raise _InputError(f"{label}: its openapi_schema is not an OpenAPI document")
    raise _InputError(
        f"{label}: not an OpenAPI schema (no components.schemas) nor a Replicate version "
        "with an openapi_schema"
    )


def read_file(path: Path, label: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except IsADirectoryError as exc:
        raise _InputError(f"{label}: is a directory, expected a JSON file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _InputError(f"{label}: cannot read file ({_one_line(exc)})") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _InputError(
            f"{label}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from exc
    return document_from_json(value, label)


def read_model(ref: str, version: str | None, label: str, platform: Platform) -> dict[str, Any]:
    try:
        found = platform.get_version(ref, version) if version else platform.latest_version(ref)
    except SafePushError as exc:
        raise _InputError(f"{label}: {_one_line(exc)}") from exc
    if found is None:
        raise _InputError(f"{label}: model {ref} has no versions")
    return document_from_json(found.openapi_schema, label)


def load_document(
    source: str,
    label: str,
    platform_for_refs: Any,
) -> dict[str, Any]:
    """OLD or NEW as an OpenAPI document. `platform_for_refs()` is only called for model refs."""
    path = Path(source)
    if path.exists():
        return read_file(path, f"{label} {source!r}")
    match = _MODEL_REF.match(source)
    if match is None:
        raise _InputError(
            f"{label} {source!r}: no such file, and not a model reference (owner/name[:version])"
        )
    return read_model(match["ref"], match["version"], f"{label} {source!r}", platform_for_refs())


def render(findings: list[Finding], as_json: bool) -> str:
    if as_json:
        return json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2)
    return format_findings(findings)


def main(argv: list[str], *, platform: Platform | None = None) -> int:
    """Run the command; `platform` replaces the configured one (tests pass a fake here)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

    opened: list[Platform] = []

    def platform_for_refs() -> Platform:
        if platform is not None:
            return platform
        if not opened:
            from tasks.platforms import get_platform, resolve_spec

            try:
                opened.append(get_platform(resolve_spec(args.platform)))
            except ImportError as exc:
                raise _InputError(
                    f"the {args.platform or 'default'} platform is not available ({exc})"
                ) from exc
        return opened[0]

    try:
        with run_scope():  # a platform opened for OLD or NEW closes when the command ends
            old = load_document(args.old, "OLD", platform_for_refs)
            new = load_document(args.new, "NEW", platform_for_refs)
        if not has_component(old, train=args.train) and not has_component(new, train=args.train):
            wanted = "TrainingInput/TrainingOutput" if args.train else "Input/Output"
            raise _InputError(f"neither OLD nor NEW defines {wanted}; nothing to compare")
        findings = diff_schemas(old, new, train=args.train)
    except (_InputError, UsageError) as exc:
        print(f"{PROG}: {_one_line(exc)}", file=sys.stderr)
        return 2

    text = render(findings, args.json)
    if text:
        try:
            print(text, flush=True)
        except BrokenPipeError:  # `schema-diff ... | head`: the reader left, the verdict stands
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    broken = breaking(findings)
    if not args.json:
        if broken:
            print(
                f"{len(broken)} breaking change(s): NEW is not backwards compatible with OLD",
                file=sys.stderr,
            )
        else:
            print("NEW is backwards compatible with OLD", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
