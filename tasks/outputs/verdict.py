"""The verdict on one finished run: passed, failed, warning or unverified, and why. Pure logic.

A run is judged by what it is for (`Judge`): one side of a comparison must just succeed, a
fuzz run must succeed with a non-empty output, an edge case must not crash (a deliberate
rejection of the edge value is a warning, tasks.outputs.failures), and a test case must
satisfy its checker (tasks.outputs.checkers). The prediction stage applies it; nothing here
runs anything. A verdict is reached on the whole output; a message quotes at most
OUTPUT_LIMIT bytes of a run's error (tasks.core.bounded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tasks.ai.client import AIError, make_ai
from tasks.core.ai_provider import Provider
from tasks.core.bounded import bound_text
from tasks.core.platform_data import RunResult
from tasks.core.results import PredictionRecord, first_line
from tasks.outputs.checkers import check_output
from tasks.outputs.failures import classify_failure

JudgeKind = Literal["run", "fuzz", "edge", "case"]
Verdict = Literal["passed", "failed", "unverified", "warning"]


@dataclass(frozen=True)
class Judge:
    """How a prediction is judged: "run" (must succeed: one side of a comparison), "fuzz"
    (must succeed with a non-empty output), "edge" (must not crash on the edge value of
    `input_name`) or "case" (the test case's checker)."""

    kind: JudgeKind
    case: dict[str, Any] = field(default_factory=dict)
    ai_model: str | None = None
    input_name: str | None = None  # "edge": the input set to an edge value
    ai_provider: Provider | None = None  # where the AI runs (tasks.core.ai_provider)

    @property
    def expects_error(self) -> bool:
        return self.kind == "case" and self.case.get("error_contains") is not None


def is_empty(output: Any) -> bool:
    return output is None or output == "" or output == [] or output == {}


def empty_input(inputs: dict[str, Any] | None) -> bool:
    """Every text, list and object input is empty: then an empty output may be right."""
    sized = [v for v in (inputs or {}).values() if isinstance(v, str | list | dict)]
    return bool(sized) and all(is_empty(v) for v in sized)


def run_verdict(result: RunResult, timeout: float) -> tuple[bool, str]:
    """The seed tool's fuzz verdict: an error, a timeout or an empty output fails."""
    if result.status == "timeout":
        return False, f"timed out after {timeout:g}s"
    if result.status == "canceled":
        return False, result.error or "canceled"
    if result.status != "succeeded":
        return False, f"error: {bound_text(result.error) or 'no error message'}"
    if is_empty(result.output):
        return False, "empty output"
    return True, ""


def judge_result(
    judge: Judge, result: RunResult, timeout: float, inputs: dict[str, Any] | None = None
) -> tuple[Verdict, str]:
    """(verdict, message) for a finished run."""
    if judge.kind == "edge":
        return edge_verdict(result, timeout, inputs, judge.input_name)
    if judge.kind == "fuzz":
        ok, why = run_verdict(result, timeout)
        if not ok and why == "empty output" and empty_input(inputs):
            return "unverified", "empty output for an empty input (may be right)"
        return ("passed", "") if ok else ("failed", why)
    if judge.kind == "run":
        ok, why = run_verdict(result, timeout)
        if ok or (result.status == "succeeded" and why == "empty output"):
            return "passed", ""
        return "failed", why
    try:
        verdict = check_output(judge.case, result, ai=make_ai(judge.ai_model, judge.ai_provider))
    except AIError as exc:  # the AI could not decide after its own retries: not a pass
        return "failed", f"checker error: {exc}"
    if verdict.unverified:
        return "unverified", verdict.message
    return ("passed" if verdict.passed else "failed"), verdict.message


def edge_verdict(
    result: RunResult, timeout: float, inputs: dict[str, Any] | None, input_name: str | None
) -> tuple[Verdict, str]:
    """An edge input may be refused, and may give an empty answer; it may not crash."""
    if result.status == "succeeded":
        return "passed", "" if not is_empty(result.output) else "empty output for an edge input"
    if result.status == "canceled":
        return "failed", result.error or "canceled"
    names = [input_name] if input_name else list(inputs or {})
    found = classify_failure(result.status, result.error, result.logs, names)
    error = bound_text(result.error) or (
        f"timed out after {timeout:g}s" if result.status == "timeout" else ""
    )
    if found.kind == "rejection":
        return "warning", f"refused on purpose ({found.reason}): {error}"
    return "failed", f"crash ({found.reason}): {error}"


def differential_verdict(
    test: PredictionRecord, live: PredictionRecord, blocking: bool
) -> PredictionRecord:
    """A test failure (or refusal) judged against the live version's run of the same input."""
    if live.verdict == "skipped":
        return test
    live_failed = live.status != "succeeded" or (
        test.status == "succeeded" and is_empty(live.output)  # both answer nothing
    )
    if live_failed:
        live_error = first_line(live.error or live.message or live.status, 200)
        verdict = "failed" if blocking and test.verdict == "failed" else "warning"
        return test.with_verdict(
            verdict,
            f"pre-existing: the live version fails on this input too ({live_error}); "
            f"test version: {test.message}",
        )
    if test.verdict == "warning":  # a refusal of an input live takes: callers would notice
        return test.with_verdict(
            "failed",
            f"regression: the live version accepts this input, the test version now refuses "
            f"it: {test.message}",
        )
    return test.with_verdict(
        "failed",
        f"regression: the live version succeeds on this input; test version: {test.message}",
    )
