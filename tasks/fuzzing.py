"""Fuzz stage: generated inputs (tasks.fuzz_inputs) run on the test version, each one a task
run ("fuzz 7") that must succeed with a non-empty output, followed live by a progress
artifact.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger
from prefect.futures import as_completed

from tasks.ai.client import ai_available
from tasks.artifacts import ProgressArtifact
from tasks.core.openapi import input_schema
from tasks.core.results import PredictionRecord, StageResult, stage_from_records
from tasks.fuzz.request import FuzzRequest
from tasks.fuzz_inputs import fuzz_task
from tasks.outputs.verdict import Judge
from tasks.predictions import Predictions, record_from_future
from tasks.stage_runner import Pending, StageRunner


def submit_fuzz(
    runner: StageRunner, predictions: Predictions, test_version: str, new_doc: dict[str, Any]
) -> Pending:
    view, job = predictions.view, predictions.job
    options, fuzz = job.options, view.fuzz
    name = view.stage("fuzz")
    runner.begin(name, fuzz.iterations)
    generator = options.fuzz_generator or ("ai" if ai_available() else "schema")
    try:
        request = FuzzRequest(
            input_schema=input_schema(new_doc, train=view.train),
            iterations=fuzz.iterations,
            generator=generator,
            fixed=dict(fuzz.fixed_inputs),
            disabled=list(fuzz.disabled_inputs),
            prompt=fuzz.prompt,
            seed=options.seed,
            batch_size=options.fuzz_batch_size,
            ai_model=options.ai_model,
        )
        payloads = fuzz_task(options.refresh_fuzz or options.refresh)(request, stage_name=name)
    except Exception as exc:  # noqa: BLE001 - generation trouble fails the stage, clearly
        failed = StageResult(name, "failed", f"could not generate fuzz inputs: {exc}")
        return Pending(name, lambda: failed)
    get_run_logger().info("%s: %d inputs from the %s generator", name, len(payloads), generator)
    labels = [f"{view.prefix}fuzz {i}" for i in range(1, len(payloads) + 1)]
    futures = predictions.map(job.test_model, test_version, payloads, Judge("fuzz"), name, labels)

    def collect() -> StageResult:
        index_of = {id(f): i for i, f in enumerate(futures)}
        records: list[PredictionRecord | None] = [None] * len(futures)
        progress = ProgressArtifact(job.model, len(futures), name.replace(" ", "-"))
        for future in as_completed(futures):
            i = index_of[id(future)]
            records[i] = record_from_future(future, name, labels[i], payloads[i])
            progress.advance()
        return stage_from_records(name, [r for r in records if r is not None], 0.0)

    return Pending(name, collect)
