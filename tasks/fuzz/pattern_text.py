"""Writing a string that matches a regular expression (Cog's `Input(regex=...)`).

Why: a text input with a `pattern` that none of the realistic text pools fit (a size like
`^\\d+x\\d+$`, a colour like `^#[0-9a-f]{6}$`) would otherwise get no value at all, or one
the schema rejects. This walks the parsed expression and emits one matching example; the
caller still checks the result with `re.search`, so an unusual construct costs a fallback,
never an invalid payload.
"""

from __future__ import annotations

import random
import re
import string
from re import _parser  # the stdlib's own regex parser; public `sre_parse` is deprecated
from typing import Any

_MAX_EXTRA_REPEATS = 3  # `+` and `*` repeat a few times, not thousands
_MAX_LENGTH = 400
_CANDIDATES = string.ascii_lowercase + string.digits + string.ascii_uppercase + " -_.,"
_CATEGORY_CHARS = (
    ("CATEGORY_DIGIT", string.digits),
    ("CATEGORY_NOT_DIGIT", string.ascii_lowercase),
    ("CATEGORY_WORD", string.ascii_lowercase + string.digits),
    ("CATEGORY_NOT_WORD", " -.,"),
    ("CATEGORY_SPACE", " "),
    ("CATEGORY_NOT_SPACE", string.ascii_lowercase),
)


class _Unsupported(Exception):
    """A construct (a back-reference, say) this small writer does not attempt."""


def _in_class(char: str, items: list[tuple[Any, Any]]) -> bool:
    for op, arg in items:
        kind = str(op)
        if kind == "LITERAL" and char == chr(arg):
            return True
        if kind == "RANGE" and arg[0] <= ord(char) <= arg[1]:
            return True
        if kind == "CATEGORY" and char in dict(_CATEGORY_CHARS).get(str(arg), ""):
            return True
    return False


def _class_char(items: list[tuple[Any, Any]], rng: random.Random) -> str:
    """One character from a character class like [a-f0-9] or [^,]."""
    negated = bool(items) and str(items[0][0]) == "NEGATE"
    rest = items[1:] if negated else items
    if negated:
        allowed = [c for c in _CANDIDATES if not _in_class(c, rest)]
    else:
        allowed = [c for c in _CANDIDATES if _in_class(c, rest)]
        if not allowed:  # a class of only unusual characters: take its first member
            op, arg = rest[0]
            if str(op) == "LITERAL":
                return chr(arg)
            if str(op) == "RANGE":
                return chr(arg[0])
    if not allowed:
        raise _Unsupported("empty character class")
    return rng.choice(allowed)


def _emit(items: Any, rng: random.Random, out: list[str]) -> None:
    for op, arg in items:
        kind = str(op)
        if len(out) > _MAX_LENGTH:
            raise _Unsupported("too long")
        if kind == "LITERAL":
            out.append(chr(arg))
        elif kind == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif kind == "ANY":
            out.append(rng.choice(string.ascii_lowercase))
        elif kind == "IN":
            out.append(_class_char(arg, rng))
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            top = min(high, low + _MAX_EXTRA_REPEATS)
            for _ in range(rng.randint(max(low, min(1, top)), top)):
                _emit(sub, rng, out)
        elif kind in ("SUBPATTERN", "ATOMIC_GROUP"):
            _emit(arg[-1], rng, out)
        elif kind == "BRANCH":
            _emit(rng.choice(arg[1]), rng, out)
        elif kind in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # anchors and lookarounds emit nothing; the final check judges them
        else:
            raise _Unsupported(kind)


def pattern_example(pattern: str, rng: random.Random) -> str | None:
    """A string `re.search(pattern, ...)` accepts, or None when none could be written."""
    try:
        parsed = _parser.parse(pattern)
        out: list[str] = []
        _emit(parsed, rng, out)
    except (_Unsupported, re.error, RecursionError, ValueError, IndexError, TypeError):
        return None
    return "".join(out)
