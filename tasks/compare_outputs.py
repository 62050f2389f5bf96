"""Compare-outputs stage: the same inputs on the live and the test version, judged against how
the live version itself behaves (tasks.outputs.compare.compare_with_live), then a latency
stage over the same pairs.

Which inputs: `compare_inputs` of them (tasks.fuzz.compare_inputs). The test side of a test
case or fuzz input is the run that stage already makes; only what no stage runs (required
inputs only) is run on the test version here. Where the two outputs differ, live runs the
input a second time, all such repeats at once: if live repeats itself exactly, the test
version must match it exactly; if live varies, its own variation is the yardstick.

Failures: a test failure that live shares is pre-existing (a warning, unless
`fail_on_preexisting`); one live does not have is a regression. The report says what each
comparison cost and which evidence decided it.

Whole outputs: the comparison works on the records in memory, which keep every output whole
(only stored copies are bounded, tasks.core.bounded). The `compare` task neither caches
nor stores its inputs: hashing or pickling two 50 MB outputs to key a cache nobody reads
would cost more than the comparison, so its records are passed `quote`d (not traversed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import State
from prefect.utilities.annotations import quote
from prefect.utilities.urls import url_for

from tasks.ai.client import AIError, make_ai
from tasks.artifacts import publish_comparison_picture, publish_timings
from tasks.core.ai_provider import Provider
from tasks.core.results import (
    PredictionFailed,
    PredictionRecord,
    StageResult,
    first_line,
    stage_from_records,
)
from tasks.fuzz.compare_inputs import CompareInput, compare_inputs
from tasks.fuzzing import FuzzPlan
from tasks.live_side import LiveSide
from tasks.outputs.compare import MISSING, compare_with_live, identical
from tasks.outputs.latency import latency_stage
from tasks.outputs.verdict import Judge, differential_verdict
from tasks.predictions import Predictions, SharedRuns, record_from_future
from tasks.stage_runner import Pending, StageRunner

log = logging.getLogger(__name__)  # debug lines: which evidence decided each comparison (-vvv)


@task(name="compare outputs", task_run_name="{label}", cache_policy=NO_CACHE, persist_result=False)
def compare(
    live: PredictionRecord,
    test: PredictionRecord,
    live_again: PredictionRecord | None,
    ai_model: str | None,
    stage_name: str,
    label: str,
    model: str,
    ai_provider: Provider | None = None,
) -> PredictionRecord:
    """Judge two successful runs of one input (and live's second run, when there is one).
    Differing images or audio are also drawn, for the person reading the run (an artifact
    of this task run)."""
    record = _pair_record(stage_name, label, test, ())
    again = (
        live_again.output
        if live_again is not None and live_again.status == "succeeded"
        else MISSING
    )
    try:
        ai = make_ai(ai_model, ai_provider)
        comparison = compare_with_live(live.output, test.output, again, ai=ai)
    except AIError as exc:
        return record.with_verdict("unverified", f"the AI could not judge: {exc}")
    # what differs first, then the evidence that made it a difference: a cut line keeps the news
    message = "; ".join(part for part in [*comparison.messages, comparison.evidence] if part)
    if comparison.verdict == "mismatch":
        _picture(model, label, live.output, test.output)
        raise PredictionFailed(
            record.with_verdict("failed", f"outputs differ from the live version: {message}")
        )
    verdict = "unverified" if comparison.verdict == "unverified" else "passed"
    return record.with_verdict(verdict, message)


def _picture(model: str, label: str, live_output: Any, test_output: Any) -> None:
    """Best effort: a picture that cannot be drawn or stored never changes a verdict."""
    try:
        publish_comparison_picture(model, label, live_output, test_output)
    except Exception as exc:  # noqa: BLE001 - the verdict stands without its picture
        log.debug("no picture for %s: %s", label, exc)


def _pair_record(
    stage: str, label: str, test: PredictionRecord, related: tuple[dict[str, Any], ...]
) -> PredictionRecord:
    """A comparison's record: the test side's run (its inputs, output and link), with the
    runs it compared in `related`."""
    return PredictionRecord(
        stage=stage,
        label=label,
        inputs=test.inputs,
        verdict="passed",
        status=test.status,
        seconds=test.seconds,
        id=test.id,
        url=test.url,
        version=test.version,
        output=test.output,
        remote_output=test.remote_output,
        predict_seconds=test.predict_seconds,
        related=related,
    )


def _related(
    pair: _Pair,
    on_live: PredictionRecord,
    on_test: PredictionRecord,
    again: PredictionRecord | None,
) -> tuple[dict[str, Any], ...]:
    """The runs a comparison rests on, by name and link: the test run (a test case's or a
    fuzz input's, when it was shared), live's run, and live's second run if there was one."""
    runs = [
        (pair.test_owner or f"{pair.label}: test", on_test),
        (f"{pair.label}: live", on_live),
        (f"{pair.label}: live again", again),
    ]
    return tuple(
        {"name": name, "url": run.url, "id": run.id}
        for name, run in runs
        if run is not None and (run.url or run.id)
    )


def _judged_here(record: PredictionRecord, state: State) -> PredictionRecord:
    """A failed comparison links to the comparison's own task run (the Failed one, named
    for the comparison), not to the test run it compared (which may well have passed)."""
    task_run_id = state.state_details.task_run_id
    url = url_for("task-run", obj_id=task_run_id) if task_run_id is not None else None
    return replace(record, id=str(task_run_id), url=url) if url else record


@dataclass
class _Pair:
    item: CompareInput
    label: str
    live: PrefectFuture
    test: PrefectFuture
    test_owner: str | None  # the stage's run this reuses ("test case 1"), or None: our own


def submit_comparison(
    runner: StageRunner,
    predictions: Predictions,
    live: LiveSide,
    test_version: str,
    new_doc: dict,
    plan: FuzzPlan | None,
    shared: SharedRuns,
) -> Pending:
    """Run the comparison inputs on live now (and on the test version where no other stage
    does); judge them, and the latency, when collected."""
    view, job = predictions.view, predictions.job
    name = view.stage("compare outputs")
    chosen = compare_inputs(
        view, live.doc, new_doc, job.options.seed, plan.generated if plan else ()
    )
    runner.begin(name, len(chosen))
    pairs = []
    for index, item in enumerate(chosen, start=1):
        label = f"compare {index} ({item.source})"
        live_future = live.run(item.inputs, f"{label}: live")
        found = shared.get(item.on_test)
        if found is not None:
            test_future, owner = found
        else:
            test_future, owner = (
                predictions.submit(
                    job.test_model,
                    test_version,
                    item.on_test,
                    Judge("run"),
                    f"{name}: test runs",  # counted as comparisons, not as predictions
                    f"{label}: test",
                ),
                None,
            )
        pairs.append(_Pair(item, label, live_future, test_future, owner))

    def collect() -> list[StageResult]:
        return _collect(runner, name, view.stage("latency"), pairs, predictions, live)

    return Pending(name, collect)


def _collect(
    runner: StageRunner,
    name: str,
    latency_name: str,
    pairs: list[_Pair],
    predictions: Predictions,
    live: LiveSide,
) -> list[StageResult]:
    view, job = predictions.view, predictions.job
    sides = [
        (
            record_from_future(p.live, name, f"{p.label}: live", p.item.inputs),
            record_from_future(p.test, name, p.test_owner or f"{p.label}: test", p.item.on_test),
        )
        for p in pairs
    ]
    # Every pair whose outputs differ asks live once more, all at once: one more round.
    repeats: dict[int, PrefectFuture] = {}
    for index, (pair, (on_live, on_test)) in enumerate(zip(pairs, sides, strict=True)):
        if _both_succeeded(on_live, on_test) and not identical(on_live.output, on_test.output):
            repeats[index] = live.again(pair.item.inputs, f"{pair.label}: live again")
    records: list[PredictionRecord] = []
    timings: list[tuple[float, float]] = []
    chart: list[tuple[str, float | None, float | None]] = []
    for index, (pair, (on_live, on_test)) in enumerate(zip(pairs, sides, strict=True)):
        chart.append((pair.label, _seconds(on_live), _seconds(on_test)))
        if _both_succeeded(on_live, on_test):
            timings.append(
                (
                    on_live.predict_seconds or on_live.seconds,
                    on_test.predict_seconds or on_test.seconds,
                )
            )
        again = None
        if index in repeats:
            again = record_from_future(
                repeats[index], name, f"{pair.label}: live again", pair.item.inputs
            )
            if again.status == "succeeded" and identical(on_live.output, again.output):
                live.repeated(pair.item.inputs)
        records.append(
            _judge_pair(
                pair,
                on_live,
                on_test,
                again,
                name,
                job.options.ai_model,
                view.fail_on_preexisting,
                job.model,
                job.ai_provider,
            )
        )
        _log_decision(records[-1], again is not None)
        runner.judged(records[-1])  # one comparison, one item on the live display
    stage = stage_from_records(name, records, 0.0)
    own = sum(1 for p in pairs if p.test_owner is None)
    cost = (
        f"{len(pairs)} input(s) compared at a cost of {len(pairs) + len(repeats)} live "
        f"prediction(s) ({len(repeats)} second run(s) of live) and {own} test prediction(s) "
        f"of its own; {len(pairs) - own} test run(s) shared with test cases and fuzz"
    )
    compared = replace(stage, detail=cost)
    latency = latency_stage(latency_name, timings, view.max_slowdown, view.fail_on_slowdown)
    try:  # the times of both versions on the same inputs, drawn: a slowdown seen at once
        publish_timings(job.model, chart)
    except Exception as exc:  # noqa: BLE001 - a chart never changes a verdict
        log.debug("no timing chart: %s", exc)
    return [compared, latency]


def _seconds(record: PredictionRecord) -> float | None:
    """The model's own time for a run that ran, else None (the chart says "no run")."""
    if record.status != "succeeded":
        return None
    return record.predict_seconds or record.seconds


def _log_decision(record: PredictionRecord, live_ran_twice: bool) -> None:
    """One debug line per comparison, for a person asking why it passed or failed: its label,
    verdict, and the record's message, which names the evidence that decided it (identical
    outputs; live repeated itself, so exactness was required; within live's own variation,
    spot by spot; the AI's judgement; heuristics; a side that failed) and what it found."""
    runs = "live ran twice" if live_ran_twice else "live ran once"
    log.debug(
        "%s: %s: %s (%s): %s", record.stage, record.label, record.verdict, runs, record.message
    )


def _both_succeeded(on_live: PredictionRecord, on_test: PredictionRecord) -> bool:
    return on_live.status == "succeeded" and on_test.status == "succeeded"


def _judge_pair(
    pair: _Pair,
    on_live: PredictionRecord,
    on_test: PredictionRecord,
    again: PredictionRecord | None,
    name: str,
    ai_model: str | None,
    blocking: bool,
    model: str,
    ai_provider: Provider | None = None,
) -> PredictionRecord:
    record = _pair_record(name, pair.label, on_test, _related(pair, on_live, on_test, again))
    if "skipped" in (on_live.verdict, on_test.verdict):
        return record.with_verdict("skipped", on_test.message or on_live.message or "stopped")
    if on_test.status != "succeeded":
        if pair.test_owner is not None:
            return record.with_verdict(
                "skipped", f"not compared: the test version failed here (see {pair.test_owner})"
            )
        judged = differential_verdict(on_test, on_live, blocking)
        return record.with_verdict(
            judged.verdict, judged.message, error=on_test.error, logs=on_test.logs
        )
    if on_live.status != "succeeded":
        live_error = first_line(on_live.error or on_live.message or on_live.status, 200)
        return record.with_verdict(
            "passed",
            f"the live version fails on this input ({live_error}); the test version does not",
        )
    if again is None:
        return record.with_verdict("passed", "identical to the live version's output")
    state = compare(
        quote(on_live),
        quote(on_test),
        quote(again),
        ai_model,
        name,
        pair.label,
        model,
        ai_provider,
        return_state=True,
    )
    result = state.result(raise_on_failure=False)
    if isinstance(result, PredictionFailed):
        return _judged_here(replace(result.record, related=record.related), state)
    if isinstance(result, PredictionRecord):
        return replace(result, related=record.related)
    return _judged_here(record.with_verdict("failed", f"comparison error: {state.message}"), state)
