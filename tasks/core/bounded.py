"""Bounded copies of model outputs: the one size limit for every stored copy, and the one cut.

Why: a model may return 50 MB of text; the report, the JUnit XML, the Prefect artifacts and
Prefect's stored task results must not each keep it whole. The live comparison and the
checkers still see the whole output (they work on the value in memory); only what is
*stored* goes through `bound`.

The limit: OUTPUT_LIMIT bytes per output (64 KB), measured on the output's canonical text:
a string's UTF-8 bytes; anything else as compact JSON (`json.dumps(value,
ensure_ascii=False, separators=(",", ":"), sort_keys=True)`, UTF-8). Files are references
(URLs, paths), so a file output is small and kept as it is.

The cut (one shape, made by `bound`): an output over the limit is stored as

    {"truncated": true, "type": "string" | "list" | "object" | ...,
     "size": <bytes of the whole canonical text>, "sha256": "<hex of those bytes>",
     "head": "<its first HEAD_CHARS characters>"}

so a reader sees that it was cut, how big it was, what it began with, and can check a copy
of the whole output against the digest (`sha256sum` of a text output's UTF-8 bytes).
Diagnostic text that is not an output (a run's error, logs, a verdict's message) keeps its
type: `bound_text` keeps its head and tail around a one-line "… [cut: N bytes, sha256 …] …".

Everything here streams: sizes and digests are computed on bounded chunks, never on a full
copy of the value (no `json.dumps` of a 50 MB output just to measure it). Pure logic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

OUTPUT_LIMIT = 64 * 1024  # bytes of one stored output, in its canonical text
HEAD_CHARS = 2048  # characters of the whole kept in a cut (and, for text, of its tail)
CUT_KEYS = frozenset({"truncated", "type", "size", "sha256", "head"})
_CHUNK = 1 << 16  # characters encoded at a time: what memory a measurement costs
_COMPACT = (",", ":")


# --- the canonical text, in pieces ----------------------------------------------------


def _string_pieces(text: str) -> Iterator[str]:
    for start in range(0, len(text), _CHUNK):
        yield text[start : start + _CHUNK]


def _json_string(text: str) -> Iterator[str]:
    """A JSON string literal, escaped chunk by chunk (JSON escapes each character alone)."""
    yield '"'
    for piece in _string_pieces(text):
        yield json.dumps(piece, ensure_ascii=False)[1:-1]
    yield '"'


def _key(key: Any) -> str:
    """A dict key as json.dumps writes it (strings as they are; numbers, booleans, null as
    their JSON text)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    return str(key)


def json_pieces(
    value: Any, separators: tuple[str, str] = _COMPACT, sort_keys: bool = True
) -> Iterator[str]:
    """The JSON text of `value` in pieces of bounded size, as `json.dumps(value,
    ensure_ascii=False, separators=..., sort_keys=..., default=str)` would write it."""
    item_sep, key_sep = separators
    if isinstance(value, str):
        yield from _json_string(value)
    elif value is None or isinstance(value, bool | int | float):
        yield json.dumps(value)
    elif isinstance(value, dict):
        yield "{"
        items = [(_key(k), v) for k, v in value.items()]
        if sort_keys:
            items.sort(key=lambda item: item[0])
        for index, (key, item) in enumerate(items):
            if index:
                yield item_sep
            yield from _json_string(key)
            yield key_sep
            yield from json_pieces(item, separators, sort_keys)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield item_sep
            yield from json_pieces(item, separators, sort_keys)
        yield "]"
    else:  # not JSON: written as its str(), as the report writer does (default=str)
        yield from _json_string(str(value))


def text_pieces(value: Any) -> Iterator[str]:
    """The canonical text of an output: a string itself, anything else as compact JSON."""
    if isinstance(value, str):
        return _string_pieces(value)
    return json_pieces(value)


def _utf8(piece: str) -> bytes:
    return piece.encode("utf-8", "surrogatepass")  # a lone surrogate still has a size


def _size(piece: str) -> int:
    return len(piece) if piece.isascii() else len(_utf8(piece))


# --- measuring --------------------------------------------------------------------------


def fits(value: Any, limit: int = OUTPUT_LIMIT) -> bool:
    """Whether `value` is at most `limit` bytes in its canonical text. Stops reading as soon
    as it is over: a 50 MB output costs next to nothing to refuse."""
    if isinstance(value, str):
        if len(value) > limit:
            return False  # at least one byte per character
        if len(value) * 4 <= limit:
            return True  # at most four bytes per character
    total = 0
    for piece in text_pieces(value):
        total += _size(piece)
        if total > limit:
            return False
    return True


def measure(value: Any) -> tuple[int, str]:
    """(bytes, sha256 hex) of the canonical text of `value`, streamed."""
    digest = hashlib.sha256()
    total = 0
    for piece in text_pieces(value):
        data = _utf8(piece)
        total += len(data)
        digest.update(data)
    return total, digest.hexdigest()


def preview(
    value: Any, chars: int, separators: tuple[str, str] = (", ", ": "), sort_keys: bool = False
) -> str:
    """The first `chars` characters of `value` as text (a string itself, else its JSON as
    `json.dumps(value, ensure_ascii=False)` writes it), without writing out the rest."""
    if isinstance(value, str):
        return value[:chars]
    kept: list[str] = []
    count = 0
    for piece in json_pieces(value, separators, sort_keys):
        kept.append(piece[: chars - count])
        count += len(kept[-1])
        if count >= chars:
            break
    return "".join(kept)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


# --- the cut ----------------------------------------------------------------------------


def cut(value: Any) -> dict[str, Any]:
    """The marker that stands for `value` when it is over the limit (see the module doc)."""
    size, sha256 = measure(value)
    head = (
        value[:HEAD_CHARS]
        if isinstance(value, str)
        else preview(value, HEAD_CHARS, _COMPACT, sort_keys=True)
    )
    return {"truncated": True, "type": _kind(value), "size": size, "sha256": sha256, "head": head}


def bound(value: Any, limit: int = OUTPUT_LIMIT) -> Any:
    """`value` itself when it fits in `limit` bytes, else its cut marker. The one function
    every stored copy of an output goes through."""
    if is_cut(value) or fits(value, limit):
        return value
    return cut(value)


def is_cut(value: Any) -> bool:
    """Whether `value` is a cut marker made by `bound`."""
    return (
        isinstance(value, dict)
        and value.keys() == CUT_KEYS
        and value["truncated"] is True
        and isinstance(value["sha256"], str)
    )


def cut_note(marker: dict[str, Any]) -> str:
    """The one line that says what was cut: "[cut: 52,428,800 bytes, sha256 <hex>]"."""
    return f"[cut: {marker['size']:,} bytes, sha256 {marker['sha256']}]"


def cut_line(marker: dict[str, Any], chars: int) -> str:
    """A cut marker as one line of at most `chars` characters: as much of its head as fits,
    then the cut note (always whole: the size and digest are what a reader needs)."""
    note = "… " + cut_note(marker)
    room = max(0, chars - len(note))
    return " ".join(str(marker["head"])[:room].split()) + note


def bound_text(text: str | None, limit: int = OUTPUT_LIMIT) -> str | None:
    """A diagnostic text (error, logs, message) over `limit` bytes as a short string: its
    first and last HEAD_CHARS characters (a traceback is at the end) around the cut note."""
    if text is None or fits(text, limit):
        return text
    size, sha256 = measure(text)
    note = cut_note({"size": size, "sha256": sha256})
    return f"{text[:HEAD_CHARS]}\n… {note} …\n{text[-HEAD_CHARS:]}"
