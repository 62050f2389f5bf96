"""Reading a run's output with its Output schema: file URLs found (streamed text is joined by
tasks.core.openapi.join_stream, which both platforms use).

A model's output is data. The schema says which strings are files (`format: uri`) and which
arrays are a stream of text to concatenate; a string the schema types as plain text is never
treated as a file, even when it looks like a URL. Everything here is pure.
"""

from __future__ import annotations

import mimetypes
import os
import re
import urllib.parse
from typing import Any

Schema = dict[str, Any]
FILE_PREFIXES = ("http://", "https://", "data:")


def _variants(schema: Schema) -> list[Schema]:
    subs = [schema]
    for key in ("anyOf", "allOf", "oneOf"):
        subs += [s for s in schema.get(key) or [] if isinstance(s, dict)]
    return subs


def _file_slot(schema: Schema | None) -> bool | None:
    """True: the schema says file (format uri); False: it says something else; None: unknown."""
    if not schema:
        return None
    variants = _variants(schema)
    if any(v.get("format") == "uri" for v in variants):
        return True
    if any("type" in v or "format" in v or "enum" in v for v in variants):
        return False
    return None


def _child_schema(schema: Schema | None, key: str | int) -> Schema | None:
    if not schema:
        return None
    for variant in _variants(schema):
        if isinstance(key, int) and isinstance(variant.get("items"), dict):
            return variant["items"]
        if isinstance(key, str):
            props = variant.get("properties") or {}
            if isinstance(props.get(key), dict):
                return props[key]
            extra = variant.get("additionalProperties")
            if isinstance(extra, dict):
                return extra
    return None


def collect_file_urls(output: Any, schema: Schema | None) -> list[str]:
    """Candidate file URLs (http(s) and data:) in an output, guided by the schema where it
    speaks; each once, in order. Whether one may be fetched is decided elsewhere."""
    found: list[str] = []

    def walk(value: Any, sub: Schema | None) -> None:
        if isinstance(value, str):
            looks = value[:8].lower().startswith(FILE_PREFIXES)
            if looks and _file_slot(sub) is not False and value not in found:
                found.append(value)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, _child_schema(sub, i))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, _child_schema(sub, key))

    walk(output, schema)
    return found


def replace_urls(output: Any, mapping: dict[str, str]) -> Any:
    """The output with each string in `mapping` replaced (URLs by local file URLs)."""
    if isinstance(output, str):
        return mapping.get(output, output)
    if isinstance(output, list):
        return [replace_urls(v, mapping) for v in output]
    if isinstance(output, dict):
        return {k: replace_urls(v, mapping) for k, v in output.items()}
    return output


def file_name_for(url: str, index: int) -> str:
    """A safe local file name for an output URL (keeps the extension: it tells the media)."""
    if url[:5].lower() == "data:":
        mime = url[5:].split(";", 1)[0].split(",", 1)[0]
        ext = mimetypes.guess_extension(mime or "") or ".bin"
        return f"output-{index}{ext}"
    path = urllib.parse.unquote(urllib.parse.urlparse(url).path)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(path)).strip("._")
    return name[:120] or f"output-{index}"
