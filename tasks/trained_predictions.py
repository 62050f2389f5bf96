"""Predictions on the versions the train test cases produced: a training is only good if its
result predicts.

As each training ends, the predictions its test case names (or the train section's) are
submitted at once on the version it wrote into the destination, to the same pool of
`parallel` workers: one task run each, named after both ("train test case 1 → prediction 1
(exact_string)"), with the predict timeout, never cached (every training makes a new
version). Their verdicts are folded into the training's record (tasks.outputs.trained), so a
failed one fails the train test case, and with it the stage: nothing is pushed. A training
that failed runs none of them; they are reported as not run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from prefect.futures import PrefectFuture, as_completed

from tasks.core.config import TestCase
from tasks.core.openapi import input_properties
from tasks.core.results import PredictionRecord
from tasks.outputs.trained import (
    judged_training,
    not_run,
    refused_inputs,
    split_version,
    trained_label,
    unreachable,
    why_not_run,
)
from tasks.outputs.verdict import Judge
from tasks.predictions import Predictions, record_from_future
from tasks.versions import version_schema

Collect = Callable[[], PredictionRecord]


def _decided(record: PredictionRecord) -> PredictionRecord:
    return record


def _collected(
    future: PrefectFuture, stage: str, label: str, inputs: dict[str, Any]
) -> PredictionRecord:
    # Submitted under a stage name of its own, so that the live display counts the stage's
    # trainings only (its totals are trainings); the record belongs to the stage itself.
    return replace(record_from_future(future, stage, label, inputs), stage=stage)


def _progress_name(stage: str) -> str:
    return f"{stage}: trained versions"


def submit_on_trained_version(
    predictions: Predictions,
    stage: str,
    case_number: int,
    training: PredictionRecord,
    cases: Sequence[TestCase],
) -> list[Collect]:
    """Submit the predictions `cases` on the version `training` produced; one call per
    prediction returns its record. Decided at once (no run) when the training failed, its
    version cannot be looked up, or a prediction sends inputs that version does not take."""
    view, job = predictions.view, predictions.job
    labels = [
        trained_label(view.prefix, case_number, number, case)
        for number, case in enumerate(cases, start=1)
    ]
    why = why_not_run(training)
    if why is not None:
        return [
            partial(_decided, not_run(stage, label, dict(case.inputs), why))
            for label, case in zip(labels, cases, strict=True)
        ]
    version = training.trained_version
    assert version is not None  # why_not_run says so
    model, version_id = split_version(version)
    try:
        known = list(input_properties(version_schema(job.spec, model, version_id)))
    except Exception as exc:  # noqa: BLE001 - a version that cannot be read fails its case
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [
            partial(_decided, unreachable(stage, label, dict(case.inputs), version, reason))
            for label, case in zip(labels, cases, strict=True)
        ]
    on_trained = Predictions(job, view.on_trained_versions())
    collects: list[Collect] = []
    for label, case in zip(labels, cases, strict=True):
        inputs = dict(case.inputs)
        refused = refused_inputs(stage, label, inputs, known, version)
        if refused is not None:
            collects.append(partial(_decided, refused))
            continue
        future = on_trained.submit(
            model,
            version_id,
            inputs,
            Judge("case", case.checker_dict(), job.options.ai_model, ai_provider=job.ai_provider),
            _progress_name(stage),
            label,
            fresh=True,  # a new version each training: nothing to reuse, nothing to keep
        )
        collects.append(partial(_collected, future, stage, label, inputs))
    return collects


def collect_trainings(
    predictions: Predictions,
    stage: str,
    futures: Sequence[PrefectFuture],
    labels: Sequence[str],
    cases: Sequence[TestCase],
) -> list[PredictionRecord]:
    """Every training's record, in the config's order. As each training ends, the
    predictions on its version start; the records come back judged by them too."""
    groups = predictions.view.trained_predictions
    position = {id(future): index for index, future in enumerate(futures)}
    trainings: dict[int, PredictionRecord] = {}
    pending: dict[int, list[Collect]] = {}
    for future in as_completed(list(futures)):
        index = position[id(future)]
        record = record_from_future(future, stage, labels[index], dict(cases[index].inputs))
        trainings[index] = record
        group = groups[index] if index < len(groups) else ()
        if group:
            pending[index] = submit_on_trained_version(predictions, stage, index + 1, record, group)
    records = []
    for index in range(len(futures)):
        training = trainings[index]
        if index in pending:
            training = judged_training(training, [collect() for collect in pending[index]])
        records.append(training)
    return records
