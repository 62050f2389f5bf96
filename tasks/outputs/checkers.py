"""Test-case output checkers: exact_string, match_url, match_prompt, jq_query, error_contains.

A test case (from the config file) names at most one checker; with none, the prediction
only has to succeed. Pure logic: takes the case and a finished `RunResult`, returns a
`CheckResult` whose message says why it failed (the AI's reason for match_prompt, the data
a jq query rejected, the error a prediction raised).

Checkers see the whole output; what their messages show of it is a preview of _SHOWN
characters, taken without writing out the whole output (tasks.core.bounded.preview).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.ai.client import DATA_NOTE, fenced
from tasks.core.bounded import bound_text, fits, preview
from tasks.core.errors import SafePushError, UsageError
from tasks.core.platform_data import RunResult
from tasks.core.usage_checks import checker_of, compile_jq
from tasks.outputs.compare import compare_files
from tasks.outputs.files import file_format, is_file_output, kind_of_extension, resolve

if TYPE_CHECKING:
    from tasks.ai.client import AI

_SHOWN = 1500  # characters of data shown in a failure message


@dataclass
class CheckResult:
    passed: bool
    message: str
    unverified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def needs_ai(case: Mapping[str, Any]) -> bool:
    """True when checking this case requires the AI (so preflight can demand a key)."""
    return checker_of(case) == "match_prompt"


def check_output(case: Mapping[str, Any], result: RunResult, *, ai: AI | None) -> CheckResult:
    """Apply the case's checker to a finished prediction."""
    checker = checker_of(case)
    if checker == "error_contains":
        return _error_contains(str(case[checker]), result)
    if not result.ok:
        detail = f": {bound_text(result.error)}" if result.error else ""
        return CheckResult(False, f"prediction {result.status}{detail}")
    if checker is None:
        return CheckResult(True, "prediction succeeded")
    expected = case[checker]
    if checker == "exact_string":
        return _exact_string(str(expected), result.output)
    if checker == "match_url":
        return _match_url(str(expected), result.output)
    if checker == "jq_query":
        return _jq_query(str(expected), result.output)
    return _match_prompt(str(expected), result.output, ai)


def _error_contains(expected: str, result: RunResult) -> CheckResult:
    if result.ok:
        return CheckResult(
            False,
            f"expected the prediction to fail with an error containing {_show(expected)}, "
            f"but it succeeded with output {_show(result.output)}",
        )
    error = result.error or ""
    if expected in error:
        return CheckResult(
            True, f"prediction failed as expected with {_show(expected)} in its error"
        )
    return CheckResult(
        False,
        f"prediction {result.status}, but its error does not contain {_show(expected)}: "
        f"{error[:_SHOWN] or '(no error message)'}",
    )


def _exact_string(expected: str, output: Any) -> CheckResult:
    # A streamed text output arrives as a list of string chunks: compare the whole text.
    streamed = isinstance(output, list) and all(isinstance(chunk, str) for chunk in output)
    if not streamed and not isinstance(output, str):
        return CheckResult(False, f"expected the string {_show(expected)}, got {_show(output)}")
    if _chunks_equal(output if streamed else [output], expected):
        return CheckResult(True, "output equals the expected string")
    shown = _joined_head(output, _SHOWN + 1) if streamed else output
    return CheckResult(False, f"expected {_show(expected)}, got {_show(shown)}")


def _joined_head(chunks: list[str], chars: int) -> str:
    """The first `chars` characters of the chunks joined (all that a message shows)."""
    kept: list[str] = []
    count = 0
    for chunk in chunks:
        if count >= chars:
            break
        kept.append(chunk[: chars - count])
        count += len(kept[-1])
    return "".join(kept)


def _chunks_equal(chunks: list[str], expected: str) -> bool:
    """Whether the chunks, joined, are `expected`, without joining them: a streamed output
    of many megabytes is not copied to be compared with a short expected string."""
    position = 0
    for chunk in chunks:
        if expected[position : position + len(chunk)] != chunk:
            return False
        position += len(chunk)
    return position == len(expected)


def _match_url(expected_url: str, output: Any) -> CheckResult:
    if isinstance(output, list) and len(output) == 1:
        output = output[0]
    if not is_file_output(output):
        return CheckResult(False, f"expected a file matching {expected_url}, got {_show(output)}")
    try:
        resolve(expected_url, trusted=True)
    except SafePushError as exc:
        raise UsageError(f"match_url: cannot download the expected file: {exc}") from None
    comparison = compare_files(expected_url, output, deterministic=True, where="output")
    if comparison.verdict == "mismatch":
        return CheckResult(
            False, f"output does not match {expected_url}: " + "; ".join(comparison.messages)
        )
    if comparison.verdict == "unverified":
        return CheckResult(
            True, "could not fully verify: " + "; ".join(comparison.messages), unverified=True
        )
    return CheckResult(True, f"output matches {expected_url}")


def _jq_query(query: str, output: Any) -> CheckResult:
    data = output
    if isinstance(output, str):
        try:
            data = json.loads(output)
        except json.JSONDecodeError:
            data = output  # a plain string stays a jq string
    program = compile_jq(query)
    try:
        results = program.input_value(data).all()
    except ValueError as exc:
        return CheckResult(False, f"jq_query `{query}` raised an error: {exc}; data: {_show(data)}")
    # Falsy (Python sense): no result, null, false, 0, "", [] or {} fails the check.
    if not results or not all(results):
        shown = results[0] if len(results) == 1 else results
        return CheckResult(
            False, f"jq_query `{query}` returned {_show(shown)} for data: {_show(data)}"
        )
    return CheckResult(True, f"jq_query `{query}` is truthy")


def _file_outputs(output: Any) -> list[Any]:
    """Every file reference inside an output, in order."""
    if is_file_output(output):
        return [output]
    if isinstance(output, list):
        return [ref for item in output for ref in _file_outputs(item)]
    if isinstance(output, dict):
        return [ref for item in output.values() for ref in _file_outputs(item)]
    return []


def describe_file(ref: Any) -> tuple[str, Path | None]:
    """One line of metadata for the AI (kind, format, dimensions, duration), and the file
    itself when it is an image to attach."""
    try:
        path = resolve(ref)
    except SafePushError as exc:
        return f"unreadable file ({exc})", None
    fmt = file_format(path)
    kind = kind_of_extension(fmt)
    line = f"{kind} file, format {fmt or 'unknown'}, {path.stat().st_size} bytes"
    if kind == "image":
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                return f"{line}, {img.size[0]}x{img.size[1]} pixels, mode {img.mode}", path
        except (UnidentifiedImageError, OSError):
            return f"{line}, not decodable as an image", None
    if kind in ("audio", "video"):
        from tasks.outputs.media import probe, read_wav

        wav = read_wav(path) if fmt == "wav" else None
        if wav is not None:
            return (
                f"{line}, {wav.duration:.2f} s, {wav.rate} Hz, {wav.channels} channel(s)",
                None,
            )
        info = probe(path)
        if info is not None:
            extra = f", {info.width}x{info.height}" if info.width else ""
            return f"{line}, {info.duration:.2f} s{extra}", None
    return line, None


def _without_files(output: Any, names: dict[int, str]) -> Any:
    """The output with each file replaced by a placeholder naming its attachment."""
    if is_file_output(output):
        return names.get(id(output), "<file>")
    if isinstance(output, list):
        return [_without_files(item, names) for item in output]
    if isinstance(output, dict):
        return {key: _without_files(item, names) for key, item in output.items()}
    return output


def _match_prompt(expectation: str, output: Any, ai: AI | None) -> CheckResult:
    if ai is None:
        raise UsageError(
            "a match_prompt test case needs the AI: set ANTHROPIC_API_KEY, or "
            "REPLICATE_API_TOKEN with --ai-provider replicate"
        )
    files = _file_outputs(output)
    images: list[Path] = []
    names: dict[int, str] = {}
    lines: list[str] = []
    for number, ref in enumerate(files, start=1):
        line, image = describe_file(ref)
        if image is not None:
            images.append(image)
            line += f" (attached as image {len(images)})"
        names[id(ref)] = f"<file {number}>"
        lines.append(f"- file {number}: {line}")
    shown = _without_files(output, names)
    if isinstance(shown, str):
        text = shown
    elif fits(shown):
        text = json.dumps(shown, ensure_ascii=False, indent=1)
    else:  # only the first 8,000 characters are shown: do not write out the rest
        text = preview(shown, 8000)
    prompt = (
        "You are checking the output of a machine-learning model against an expectation. "
        f"{DATA_NOTE}\n\n"
        f"Expectation: {expectation}\n\n"
        f"The model's output:\n{fenced(text[:8000])}\n"
    )
    if lines:
        prompt += "\nFiles in the output:\n" + "\n".join(lines) + "\n"
    prompt += "\nDoes the output meet the expectation?"
    passed, reason = ai.ask_yes_no_majority(prompt, images=images)
    if passed:
        return CheckResult(True, f"the AI found that the output matches: {reason}")
    return CheckResult(
        False, f"the AI found that the output does not match {_show(expectation)}: {reason}"
    )


def _show(value: Any) -> str:
    """`value` as JSON text, cut to _SHOWN characters; only what is shown is written out."""
    text = preview(value, _SHOWN + 1) if not isinstance(value, str) else _quoted(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _quoted(text: str) -> str:
    """A string as a JSON literal, escaping only the part that can be shown."""
    literal = json.dumps(text[: _SHOWN + 1], ensure_ascii=False)
    return literal if len(text) <= _SHOWN + 1 else literal[:-1]
