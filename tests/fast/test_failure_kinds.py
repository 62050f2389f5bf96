"""Telling a failed prediction's deliberate rejection of its input from a crash."""

from __future__ import annotations

import pytest

from tasks.outputs.failures import (
    CRASH_TYPES,
    FailureClass,
    classify_failure,
    last_traceback,
    split_exception,
)

NAMES = ["text", "prompt", "negative_prompt", "seed", "image"]


def classify(error: str | None, logs: str = "", status: str = "failed", names=NAMES):
    return classify_failure(status, error, logs, names)


def traceback(last_line: str) -> str:
    """Logs as Cog prints them: a line of output, then a traceback ending in `last_line`."""
    return (
        "Running prediction...\n"
        "Traceback (most recent call last):\n"
        '  File "/src/predict.py", line 12, in predict\n'
        "    return text[0]\n"
        "           ~~~~^^^\n"
        f"{last_line}\n"
    )


# --- the strings coglet 0.23 really writes ------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "exception", "reason"),
    [
        (
            "IndexError: string index out of range",
            "crash",
            "IndexError",
            "IndexError is a crash",
        ),
        ("ValueError: text: must not be v", "rejection", "ValueError", None),
        (
            "UnicodeEncodeError: 'ascii' codec can't encode character '\\xe9' in position 1: "
            "ordinal not in range(128)",
            "crash",
            "UnicodeEncodeError",
            "UnicodeEncodeError is a crash",
        ),
        (
            "Exception: text is too short, please give at least 3 characters",
            "rejection",
            "Exception",
            "Exception naming the input 'text': a deliberate rejection",
        ),
        (
            "Failed to serialize output: TypeError: Object of type builtin_function_or_method "
            "is not JSON serializable",
            "crash",
            "TypeError",
            "the output cannot be serialised",
        ),
        ("Worker crashed", "crash", None, "the worker died"),
    ],
)
def test_coglet_errors(error, kind, exception, reason):
    result = classify(error)
    assert result.kind == kind
    assert result.exception == exception
    if reason:
        assert result.reason == reason
    assert result.reason and "\n" not in result.reason


def test_a_value_error_reads_as_a_rejection():
    assert classify("ValueError: text: must not be v") == FailureClass(
        "rejection", "ValueError", "ValueError: a deliberate rejection"
    )


def test_the_prediction_failed_prefix_is_ignored():
    assert classify("Prediction failed: IndexError: list index out of range").exception == (
        "IndexError"
    )
    assert classify("Prediction failed: Worker crashed").reason == "the worker died"


# --- Replicate (older Cog): str(exc) in error, the type only in the logs -------------------


def test_the_type_is_read_from_the_logs_traceback():
    result = classify(
        "string index out of range", traceback("IndexError: string index out of range")
    )
    assert result == FailureClass("crash", "IndexError", "IndexError is a crash")


def test_a_rejection_whose_type_is_only_in_the_logs():
    logs = traceback("ValueError: prompt must not be empty")
    assert classify("prompt must not be empty", logs) == FailureClass(
        "rejection", "ValueError", "ValueError: a deliberate rejection"
    )


def test_the_last_of_several_tracebacks_counts():
    logs = traceback("ValueError: bad cache, retrying") + traceback("KeyError: 'prompt'")
    assert classify("'prompt'", logs).exception == "KeyError"
    chained = (
        traceback("KeyError: 'x'")
        + "\nDuring handling of the above exception, another exception occurred:\n\n"
        + traceback("ValueError: text must be shorter")
    )
    assert classify("text must be shorter", chained).kind == "rejection"


def test_a_typed_error_wins_over_the_logs():
    assert classify("ValueError: seed too large", traceback("IndexError: x")).kind == "rejection"


def test_the_fake_servers_logs_have_only_the_message():
    """tests/fakes/replicate_server.py logs `str(exc)` as the traceback's last line."""
    logs = "running predict abc\nTraceback (most recent call last):\n  ...\n"
    crash = classify("string index out of range", logs + "string index out of range\n")
    assert crash.kind == "crash" and crash.exception is None
    assert "index out of range" in crash.reason
    refusal = classify("text must not be empty", logs + "text must not be empty\n")
    assert refusal.kind == "rejection" and refusal.exception is None


def test_an_exception_line_without_a_traceback_header():
    logs = "loading weights\nstep 1/4\nZeroDivisionError: division by zero\n"
    assert classify(None, logs) == FailureClass(
        "crash", "ZeroDivisionError", "ZeroDivisionError is a crash"
    )


def test_a_warning_in_the_logs_is_not_the_exception():
    logs = "UserWarning: TypedStorage is deprecated\n"
    assert classify("something odd happened", logs).exception is None


def test_reading_tracebacks_and_names():
    assert last_traceback(traceback("KeyError: 'prompt'")) == ("KeyError", "'prompt'")
    assert last_traceback("") == (None, "")
    assert last_traceback("Traceback (most recent call last):\n  File x\n") == (None, "")
    assert split_exception("torch.OutOfMemoryError: CUDA out of memory") == (
        "OutOfMemoryError",
        "CUDA out of memory",
    )
    assert split_exception("text: must not be v") == (None, "text: must not be v")
    assert split_exception("KeyError") == ("KeyError", "")
    assert split_exception("StopIteration: done") == ("StopIteration", "done")


# --- timeouts, dead workers, unserialisable outputs -------------------------------------


@pytest.mark.parametrize("status", ["timeout", "TIMEOUT", "timed_out"])
def test_a_timeout_is_a_crash(status):
    # Even with a message that would otherwise read as a rejection.
    assert classify("ValueError: text must be short", status=status) == FailureClass(
        "crash", None, "timed out"
    )


def test_a_canceled_run_is_a_crash():
    result = classify(None, status="canceled")
    assert result.kind == "crash" and "cancel" in result.reason


@pytest.mark.parametrize(
    "error",
    [
        "Worker crashed",
        "worker died unexpectedly",
        "The worker exited with code 139",
        "prediction worker was killed",
        "Process killed by signal 9",
        "worker terminated: SIGKILL",
        "Segmentation fault (core dumped)",
    ],
)
def test_a_dead_worker_is_a_crash(error):
    assert classify(error) == FailureClass("crash", None, "the worker died")


def test_a_dead_worker_in_the_logs_when_there_is_no_error():
    assert classify(None, "setup done\nWorker exited with signal 9\n").reason == "the worker died"


def test_a_typed_error_mentioning_a_signal_is_not_a_dead_worker():
    result = classify("ValueError: signal 5 is not supported for this input")
    assert result.kind == "rejection" and result.reason != "the worker died"


@pytest.mark.parametrize(
    "error",
    [
        "Failed to serialize output: TypeError: Object of type set is not JSON serializable",
        "failed to serialise output",
        "Object of type ndarray is not JSON serializable",
    ],
)
def test_an_unserialisable_output_is_a_crash(error):
    result = classify(error)
    assert result.kind == "crash"
    assert result.reason == "the output cannot be serialised"


# --- crash types, whatever the message ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(CRASH_TYPES))
def test_every_crash_type_is_a_crash_even_when_it_names_an_input(name):
    result = classify(f"{name}: text must not be empty, please")
    assert result == FailureClass("crash", name, f"{name} is a crash")


def test_the_crash_types_are_the_ones_asked_for():
    assert {
        "IndexError", "KeyError", "TypeError", "AttributeError", "NameError",
        "UnboundLocalError", "ZeroDivisionError", "UnicodeError", "UnicodeEncodeError",
        "UnicodeDecodeError", "UnicodeTranslateError", "RecursionError", "MemoryError",
        "OverflowError", "AssertionError", "NotImplementedError", "ImportError",
        "ModuleNotFoundError", "SystemError", "FileNotFoundError", "OSError",
    } <= CRASH_TYPES  # fmt: skip


def test_a_key_error_naming_an_input_is_still_a_crash():
    assert classify("KeyError: 'prompt'").kind == "crash"


@pytest.mark.parametrize("name", ["PermissionError", "IsADirectoryError", "ConnectionError"])
def test_builtin_subclasses_of_crash_types_are_crashes(name):
    assert classify(f"{name}: image could not be read").kind == "crash"


def test_a_dotted_crash_type():
    assert classify("builtins.IndexError: list index out of range").exception == "IndexError"


# --- rejections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        "ValueError: nothing to do",  # a ValueError is a rejection whatever it says
        "ValueError",
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for Input",
        "cog.InputValidationError: seed is out of bounds",
        "1 validation error for Input\ntext\n  String should have at least 1 character",
    ],
)
def test_value_and_validation_errors_are_rejections(error):
    assert classify(error).kind == "rejection"


def test_python_runtime_errors_are_crashes_even_when_they_name_an_input():
    """A RuntimeError is how Python (and frameworks) report a failure, not a refusal."""
    assert classify("RuntimeError: diverged at ten steps", ["steps"]).kind == "crash"
    assert classify("StopIteration", ["text"]).kind == "crash"
    assert classify("LookupError: no text", ["text"]).kind == "crash"


@pytest.mark.parametrize(
    ("error", "named"),
    [
        ("Exception: text is empty", "text"),
        ("Exception: the PROMPT contains nothing I can draw", "prompt"),
        ("Exception: negative_prompt holds a banned word", "negative_prompt"),
        ("MyModelError: bad image", "image"),
    ],
)
def test_an_exception_naming_an_input_is_a_rejection(error, named):
    result = classify(error)
    assert result.kind == "rejection"
    assert f"naming the input {named!r}" in result.reason


@pytest.mark.parametrize(
    "phrase",
    [
        "must be a multiple of 8",
        "must not contain newlines",
        "should be shorter",
        "cannot be blank",
        "can't be blank",
        "invalid language code",
        "language 'xx' not supported",
        "not allowed here",
        "is too long",
        "is too short",
        "is too large",
        "is too small",
        "too many faces",
        "too few frames",
        "width out of range",
        "expected a WAV file",
        "a face is required",
        "please upload a clearer photo",
    ],
)
def test_an_exception_that_refuses_is_a_rejection(phrase):
    result = classify(f"Exception: {phrase}")
    assert result.kind == "rejection", result
    assert "deliberate rejection" in result.reason


def test_an_exception_saying_please_is_a_rejection():
    assert classify("Exception: please give a longer description").kind == "rejection"


# --- not fooled ----------------------------------------------------------------------------


def test_a_word_containing_an_input_name_does_not_name_it():
    assert classify("Exception: textual inversion weights missing").kind == "crash"
    assert classify("Exception: context window full", names=["text"]).kind == "crash"
    assert classify("Exception: prompting failed", names=["prompt"]).kind == "crash"


def test_a_one_letter_input_name_is_not_looked_for():
    assert classify("Exception: a bad thing happened", names=["a"]).kind == "crash"
    assert classify("Exception: ab is empty", names=["ab"]).kind == "rejection"


def test_a_refusal_word_inside_another_word_does_not_count():
    for message in ("mustard overflowed", "invalidated cache lost", "unexpectedly ended"):
        assert classify(f"Exception: {message}").kind == "crash", message


@pytest.mark.parametrize(
    "error",
    [
        "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
        "torch.OutOfMemoryError: CUDA out of memory.",
        "RuntimeError: Expected all tensors to be on the same device, but found cuda:0 and cpu",
        "RuntimeError: expected scalar type Half but found Float",
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x77 and 768x320)",
        "RuntimeError: something went wrong",
        "Exception",
        "Exception: ",
        "SomeLibraryError: connection reset by peer",
    ],
)
def test_crashes_that_do_not_refuse(error):
    assert classify(error).kind == "crash"


@pytest.mark.parametrize(
    "error",
    [
        "string index out of range",
        "division by zero",
        "'NoneType' object has no attribute 'shape'",
        "'NoneType' object is not subscriptable",
        "unsupported operand type(s) for +: 'int' and 'str'",
        "'<' not supported between instances of 'str' and 'int'",
        "expected str, bytes or os.PathLike object, not NoneType",
        "predict() missing 1 required positional argument: 'text'",
        "local variable 'out' referenced before assignment",
        "cannot access local variable 'out' where it is not associated with a value",
    ],
)
def test_pythons_own_messages_are_crashes_even_without_a_type(error):
    """Replicate-style errors with nothing in the logs: the message alone must not fool us."""
    assert classify(error).kind == "crash"


@pytest.mark.parametrize(
    "error",
    [
        "ValueError: too many values to unpack (expected 2)",
        "ValueError: not enough values to unpack (expected 3, got 2)",
        "ValueError: invalid literal for int() with base 10: ''",
        "ValueError: math domain error",
    ],
)
def test_a_value_error_python_raised_for_a_bug_is_a_crash(error):
    result = classify(error)
    assert result.kind == "crash" and result.exception == "ValueError"
    assert "Python's own message" in result.reason


def test_no_error_at_all_is_a_crash():
    assert classify(None) == FailureClass("crash", None, "no error message: a crash")
    assert classify("", "").kind == "crash"


def test_an_unknown_message_is_a_crash_and_says_why():
    result = classify("Exception: the moon is in the wrong phase")
    assert result == FailureClass(
        "crash", "Exception", "Exception that neither names an input nor refuses: a crash"
    )


def test_input_names_are_optional_and_may_be_any_iterable():
    assert classify_failure("failed", "Exception: text is empty", "").kind == "crash"
    assert classify_failure("failed", "Exception: text is empty", "", ("text",)).kind == (
        "rejection"
    )
    assert classify_failure("failed", "Exception: text is empty", "", iter(["text"])).kind == (
        "rejection"
    )
    assert classify_failure("failed", "Exception: a+b is empty", "", ["a+b", ""]).kind == (
        "rejection"
    )
