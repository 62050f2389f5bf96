"""Telling a failed prediction's deliberate rejection of its input from a crash.

Why: an edge input such as `''` may be refused on purpose (`raise ValueError("text must not
be empty")`): the model is behaving. An IndexError on the same input, a dead worker, a
timeout or an output that cannot be serialised is a bug. The exception's type is read from
the error's `Name: ` prefix (coglet) or else from the last traceback in the logs (older Cog
on Replicate reports only `str(exc)`); the message is then read for an input's name or a
refusal addressed to the caller. Anything that cannot be told apart counts as a crash.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

FailureKind = Literal["crash", "rejection"]

# Python's and the runtime's own failures: a bug whatever the message says.
CRASH_TYPES = frozenset({
    "IndexError", "KeyError", "TypeError", "AttributeError", "NameError", "UnboundLocalError",
    "ZeroDivisionError", "UnicodeError", "UnicodeEncodeError", "UnicodeDecodeError",
    "UnicodeTranslateError", "RecursionError", "MemoryError", "OverflowError", "AssertionError",
    "NotImplementedError", "ImportError", "ModuleNotFoundError", "SystemError",
    "FileNotFoundError", "OSError",
})  # fmt: skip

_PREFIX = re.compile(r"^\s*(?:prediction failed:\s*)+", re.IGNORECASE)
_NAME = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?::\s*(.*))?$", re.DOTALL)
_EXCEPTION_SUFFIX = re.compile(r"(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault)$")
_TRACEBACK = "Traceback (most recent call last):"
_DEAD_WORKER = re.compile(
    r"\bworker\b[^.\n]{0,40}?\b(?:crash(?:ed)?|died|dead|exited|killed|terminated)\b"
    r"|\bkilled by signal\b|\bsignal \d+\b|\bSIG(?:KILL|SEGV|ABRT|BUS|ILL|FPE|TERM)\b"
    r"|\bsegmentation fault\b|\bcore dumped\b",
    re.IGNORECASE,
)
_UNSERIALISABLE = re.compile(
    r"failed to seriali[sz]e output|not JSON serializable|cannot be serialized", re.IGNORECASE
)
_VALIDATION_TEXT = re.compile(r"\bvalidation errors? for\b|\binput validation failed\b", re.I)
# Messages Python itself writes, which read like refusals ("index out of range", "not
# supported between instances") but are bugs, even when there is no type to go by.
_PYTHON_MESSAGE = re.compile(
    r"index out of range|division (?:or modulo )?by zero|has no attribute"
    r"|is not (?:subscriptable|callable|iterable)|unsupported operand type"
    r"|codec can't (?:en|de)code|referenced before assignment|not associated with a value"
    r"|\bname '\w+' is not defined|maximum recursion depth"
    r"|positional arguments? but \d+|missing \d+ required (?:positional|keyword)"
    r"|unexpected keyword argument|(?:too many|not enough) values to unpack"
    r"|cannot unpack non-iterable|math domain error|not supported between instances of"
    r"|can only concatenate|unhashable type|invalid literal for int\(\)"
    r"|could not convert string to float|\bnot '?NoneType'?|no such file or directory",
    re.IGNORECASE,
)
# Deep-learning frameworks' own failures: "Expected all tensors to be on the same device"
# reads like a refusal but is a bug in the model.
_FRAMEWORK = re.compile(
    r"\b(?:cuda|cudnn|cublas|nccl|tensors?|dtype|scalar type|mat1|mat2|device-side)\b"
    r"|out of memory",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(?:must|should|cannot be|can't be|can not be|invalid|not supported|unsupported"
    r"|not allowed|not valid|too (?:long|short|large|small|big|many|few)|out of range"
    r"|expected|required|please|exceeds?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FailureClass:
    """What a failed run was: a crash or a rejection, its exception and why it was so classed."""

    kind: FailureKind
    exception: str | None
    reason: str


def is_crash_type(name: str) -> bool:
    """One of CRASH_TYPES, or any other of Python's own exceptions but ValueError and the
    bare Exception (a RuntimeError, a LookupError, StopIteration...): Python raises those
    for bugs; a model that refuses its input on purpose raises ValueError or its own type."""
    if name in CRASH_TYPES:
        return True
    known = getattr(builtins, name, None)
    if not (isinstance(known, type) and issubclass(known, BaseException)):
        return False
    refusal = known is Exception or (
        issubclass(known, ValueError) and not issubclass(known, UnicodeError)
    )
    return not refusal


def _is_exception_name(name: str) -> bool:
    """A builtin exception's name, or a name shaped like one (FooError, cog.BarException)."""
    short = name.rsplit(".", 1)[-1]
    known = getattr(builtins, short, None)
    if isinstance(known, type) and issubclass(known, BaseException):
        return True
    return bool(_EXCEPTION_SUFFIX.search(short))


def split_exception(text: str) -> tuple[str | None, str]:
    """`IndexError: out of range` -> ("IndexError", "out of range"); no type -> (None, text)."""
    first, _, rest = text.strip().partition("\n")
    match = _NAME.match(first.strip())
    if not match or not _is_exception_name(match.group(1)):
        return None, text.strip()
    message = "\n".join(part for part in (match.group(2) or "", rest) if part).strip()
    return match.group(1).rsplit(".", 1)[-1], message


def last_traceback(logs: str) -> tuple[str | None, str]:
    """The exception line of the last traceback in the logs: (type or None, message).

    Without a "Traceback" header, the last unindented `Name: message` line with a real
    exception name (a warning is not one) is taken, which is what some runtimes log.
    """
    lines = logs.splitlines()
    start = logs.rfind(_TRACEBACK)
    if start >= 0:
        after = logs[start + len(_TRACEBACK) :].splitlines()
        for line in after:
            if line.strip() and not line[:1].isspace():
                return split_exception(line)
        return None, ""
    for line in reversed(lines):
        if not line.strip() or line[:1].isspace():
            continue
        name, message = split_exception(line)
        if name and not name.endswith("Warning"):
            return name, message
    return None, ""


def _names_input(message: str, input_names: Iterable[str]) -> str | None:
    """The first input named as a whole word ("textual" does not name "text").

    One-letter names are skipped: input "a" would find itself in any English sentence.
    """
    for name in input_names:
        if len(name) > 1 and re.search(
            rf"(?<![\w]){re.escape(name)}(?![\w])", message, re.IGNORECASE
        ):
            return name
    return None


def _crash(exception: str | None, reason: str) -> FailureClass:
    return FailureClass("crash", exception, reason)


def _rejection(exception: str | None, reason: str) -> FailureClass:
    return FailureClass("rejection", exception, reason)


def _from_message(exception: str | None, message: str, names: list[str]) -> FailureClass:
    """An exception that is neither a known crash nor a validation error: read its message."""
    what = exception or "an error"
    internal = _PYTHON_MESSAGE.search(message)
    if internal:
        return _crash(exception, f"{what} with Python's own message {internal.group(0)!r}: a crash")
    framework = _FRAMEWORK.search(message)
    if framework:
        return _crash(exception, f"{what} from the framework ({framework.group(0)!r}): a crash")
    named = _names_input(message, names)
    if named:
        return _rejection(exception, f"{what} naming the input {named!r}: a deliberate rejection")
    refusal = _REFUSAL.search(message)
    if refusal:
        phrase = refusal.group(0).lower()
        return _rejection(exception, f"{what} that refuses ({phrase!r}): a deliberate rejection")
    if not message:
        return _crash(exception, f"{what} without a message: a crash")
    return _crash(exception, f"{what} that neither names an input nor refuses: a crash")


def classify_failure(
    status: str, error: str | None, logs: str, input_names: Iterable[str] = ()
) -> FailureClass:
    """Whether a failed run crashed or deliberately rejected its input, and why.

    `status` is the run's ("failed", "timeout", "canceled"), `error` its error message and
    `logs` its logs; `input_names` are the model's inputs, whose mention in a message marks
    a rejection addressed to the caller.
    """
    state = (status or "").strip().lower()
    if state in ("timeout", "timed_out", "timed out"):
        return _crash(None, "timed out")
    if state in ("canceled", "cancelled"):
        return _crash(None, "canceled before it finished (counted as a timeout)")
    text = _PREFIX.sub("", error or "").strip()
    logs = logs or ""
    typed, message = split_exception(text) if text else (None, "")
    exception = typed
    if exception is None:
        exception, log_message = last_traceback(logs)
        message = message or log_message
    # Only an untyped error reads as the runtime's: "ValueError: signal 5 ..." is the model's.
    if (text and not typed and _DEAD_WORKER.search(text)) or (
        not text and _DEAD_WORKER.search(logs)
    ):
        return _crash(exception, "the worker died")
    if _UNSERIALISABLE.search(text) or (not text and _UNSERIALISABLE.search(logs)):
        inner, _ = split_exception(_UNSERIALISABLE.split(text, maxsplit=1)[-1].lstrip(": "))
        return _crash(inner or exception, "the output cannot be serialised")
    if not text and exception is None and not message:
        return _crash(None, "no error message: a crash")
    if exception is not None and is_crash_type(exception):
        return _crash(exception, f"{exception} is a crash")
    if exception == "ValueError":
        internal = _PYTHON_MESSAGE.search(message)
        if internal:
            phrase = internal.group(0)
            return _crash(exception, f"ValueError with Python's own message {phrase!r}: a crash")
        return _rejection(exception, "ValueError: a deliberate rejection")
    if (exception or "").endswith("ValidationError") or _VALIDATION_TEXT.search(message):
        return _rejection(exception, f"{exception or 'a validation error'}: a deliberate rejection")
    return _from_message(exception, message, [n for n in input_names if n])
