"""Fuzz stage: edge cases of the schema and generated inputs, run on the test version, each a
task run ("edge 2 (text='')", "fuzz 7"), followed live by a progress artifact.

How `fuzz.iterations` is spent: up to half on edge cases (tasks.fuzz.edge_cases: one input
at a time set to '', non-ASCII text, a bound, 0, a choice...), the rest on generated inputs
(tasks.fuzz_inputs, by the AI or offline). A generated input must succeed with an output; an
edge input must not crash, and may be refused on purpose (a warning).

With a live version (predictions only), whatever fails on the test version is run on live
too: if live fails as well, the failure is pre-existing (a warning, unless
`fail_on_preexisting`); if live succeeds, it is a regression and stays a failure, showing
both outcomes. Under --fail-fast the first failure on the test version stops the run at once,
before live is asked: a user in a hurry gets the answer "something failed" soonest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from prefect import get_run_logger
from prefect.futures import as_completed

from tasks.ai.client import ai_available
from tasks.artifacts import ProgressArtifact
from tasks.core.openapi import input_schema
from tasks.core.results import PredictionRecord, StageResult, stage_from_records
from tasks.fuzz.edge_cases import edge_cases, pick_edge_cases
from tasks.fuzz.request import FuzzRequest
from tasks.fuzz.validate import validate_payload
from tasks.fuzz_inputs import fuzz_task
from tasks.live_side import LiveSide
from tasks.outputs.verdict import Judge, differential_verdict
from tasks.predictions import Predictions, SharedRuns, record_from_future
from tasks.stage_runner import Pending, StageRunner


@dataclass(frozen=True)
class FuzzInput:
    label: str
    inputs: dict[str, Any]
    judge: Judge


@dataclass(frozen=True)
class FuzzPlan:
    """What the fuzz stage will run, or why it cannot."""

    inputs: tuple[FuzzInput, ...] = ()
    generator: str = "schema"
    error: str | None = None

    @property
    def generated(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, inputs) of the generated (not edge) inputs, for the comparison."""
        return [(item.label, item.inputs) for item in self.inputs if item.judge.kind == "fuzz"]

    @property
    def edges(self) -> list[FuzzInput]:
        return [item for item in self.inputs if item.judge.kind == "edge"]


def edge_budget(iterations: int) -> int:
    """Edge cases take up to half of the iterations; generated inputs keep the rest (and the
    first one, the everyday input)."""
    return iterations // 2


def plan_fuzz(predictions: Predictions, doc: dict[str, Any]) -> FuzzPlan:
    """The inputs of the fuzz stage for the schema `doc`: edge cases first, then generated
    inputs."""
    view = predictions.view
    schema = input_schema(doc, train=view.train)
    edges = _edge_inputs(predictions, schema)
    generated, generator, error = _generate(
        predictions, schema, view.fuzz.iterations - len(edges), offset=0
    )
    if error is not None:
        return FuzzPlan(generator=generator, error=error)
    return _logged(predictions, FuzzPlan(tuple(generated + edges), generator))


def refit_plan(predictions: Predictions, plan: FuzzPlan, doc: dict[str, Any]) -> FuzzPlan:
    """`plan` was made from a predicted schema; make it fit the real one, `doc`. Edge cases
    are recomputed (they cost nothing); generated inputs the real schema accepts are kept,
    and only the rest are generated again."""
    view = predictions.view
    schema = input_schema(doc, train=view.train)
    edges = _edge_inputs(predictions, schema)
    wanted = view.fuzz.iterations - len(edges)
    kept = [
        item
        for item in plan.inputs
        if item.judge.kind == "fuzz" and not validate_payload(item.inputs, schema)
    ][:wanted]
    same_edges = [e.inputs for e in edges] == [e.inputs for e in plan.edges]
    if plan.error is None and len(kept) == wanted and same_edges:
        return plan
    more, generator, error = _generate(predictions, schema, wanted - len(kept), len(kept))
    if error is not None:
        return FuzzPlan(generator=generator, error=error)
    kept = [  # numbered again: a dropped input leaves no gap, and no label is used twice
        replace(item, label=f"{view.prefix}fuzz {index}")
        for index, item in enumerate(kept, start=1)
    ]
    get_run_logger().info(
        "%s: the pushed schema differs from the predicted one: kept %d generated input(s), "
        "generated %d again",
        view.stage("fuzz"),
        len(kept),
        len(more),
    )
    return _logged(predictions, FuzzPlan(tuple(kept + more + edges), generator))


def _edge_inputs(predictions: Predictions, schema: dict[str, Any]) -> list[FuzzInput]:
    view = predictions.view
    fuzz = view.fuzz
    edges = pick_edge_cases(
        edge_cases(schema, fixed=fuzz.fixed_inputs, disabled=fuzz.disabled_inputs),
        edge_budget(fuzz.iterations),
    )
    return [
        FuzzInput(
            f"{view.prefix}edge {index} ({case.label})",
            case.payload,
            Judge("edge", input_name=case.input_name),
        )
        for index, case in enumerate(edges, start=1)
    ]


def _generate(
    predictions: Predictions, schema: dict[str, Any], count: int, offset: int
) -> tuple[list[FuzzInput], str, str | None]:
    """`count` generated inputs, labelled from `offset + 1`: (inputs, generator, error)."""
    view, options = predictions.view, predictions.job.options
    fuzz = view.fuzz
    provider = predictions.job.ai_provider
    generator = options.fuzz_generator or ("ai" if ai_available(provider) else "schema")
    if count <= 0:
        return [], generator, None
    try:
        request = FuzzRequest(
            input_schema=schema,
            iterations=count,
            generator=generator,
            fixed=dict(fuzz.fixed_inputs),
            disabled=list(fuzz.disabled_inputs),
            prompt=fuzz.prompt,
            seed=options.seed,
            batch_size=options.fuzz_batch_size,
            ai_model=options.ai_model,
            ai_provider=provider,
        )
        payloads = fuzz_task(options.refresh_fuzz or options.refresh)(
            request, stage_name=view.stage("fuzz")
        )
    except Exception as exc:  # noqa: BLE001 - generation trouble fails the stage, clearly
        return [], generator, f"could not generate fuzz inputs: {exc}"
    labelled = [
        FuzzInput(f"{view.prefix}fuzz {index}", payload, Judge("fuzz"))
        for index, payload in enumerate(payloads, start=offset + 1)
    ]
    return labelled, generator, None


def _logged(predictions: Predictions, plan: FuzzPlan) -> FuzzPlan:
    get_run_logger().info(
        "%s: %d edge cases and %d inputs from the %s generator",
        predictions.view.stage("fuzz"),
        len(plan.edges),
        len(plan.generated),
        plan.generator,
    )
    return plan


def submit_fuzz(
    runner: StageRunner,
    predictions: Predictions,
    test_version: str,
    plan: FuzzPlan,
    live: LiveSide | None = None,
    shared: SharedRuns | None = None,
) -> Pending:
    """Submit every planned input now; judge them (and ask live about failures) when
    collected."""
    view, job = predictions.view, predictions.job
    name = view.stage("fuzz")
    runner.begin(name, len(plan.inputs) or view.fuzz.iterations)
    if plan.error is not None:
        failed = StageResult(name, "failed", plan.error)
        return Pending(name, lambda: failed)
    items = list(plan.inputs)
    differential = live is not None and view.differential
    futures = predictions.map(
        job.test_model,
        test_version,
        [item.inputs for item in items],
        [item.judge for item in items],
        name,
        [item.label for item in items],
    )
    if shared is not None:
        for item, future in zip(items, futures, strict=True):
            if item.judge.kind == "fuzz":
                shared.add(item.inputs, future, item.label)

    def collect() -> StageResult:
        index_of = {id(f): i for i, f in enumerate(futures)}
        records: list[PredictionRecord | None] = [None] * len(futures)
        progress = ProgressArtifact(job.model, len(futures), name.replace(" ", "-"))
        for future in as_completed(futures):
            i = index_of[id(future)]
            records[i] = record_from_future(future, name, items[i].label, items[i].inputs)
            progress.advance()
        done = [r for r in records if r is not None]
        if differential and live is not None:
            done = ask_live(done, live, name, view.fail_on_preexisting)
        return stage_from_records(name, done, 0.0)

    return Pending(name, collect)


def ask_live(
    records: list[PredictionRecord], live: LiveSide, stage: str, blocking: bool
) -> list[PredictionRecord]:
    """Run on live what did not pass cleanly on the test version, and judge by both."""
    doubtful = [r for r in records if r.verdict in ("failed", "warning") and r.status != "canceled"]
    asked = {
        id(r): live.run(r.inputs, f"{r.label} on live") for r in doubtful if live.accepts(r.inputs)
    }
    judged = []
    for record in records:
        future = asked.get(id(record))
        if future is None:
            judged.append(record)
            continue
        on_live = record_from_future(future, stage, f"{record.label} on live", record.inputs)
        judged.append(differential_verdict(record, on_live, blocking))
    return judged
