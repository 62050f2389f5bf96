"""A training judged by the version it produced: finding that version, and the verdict its
predictions give the training. Pure logic.

A training passes its own checker on its output, but nobody uses a training's output: they use
the version it wrote into the destination model. So a train test case may name predictions
to run on that version; this module finds the version in what the platform returned (the
local platform's `metrics["destination_version"]`, Replicate's `output["version"]`), names
those predictions, and folds their verdicts into the training's record: one failed
prediction fails the training, and the message says which prediction, on which version, why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tasks.core.config import TestCase
from tasks.core.platform_data import RunResult
from tasks.core.results import PredictionRecord
from tasks.outputs.bounded import stored_record

_VERSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ARROW = " → "  # between a training's name and a prediction on its version, in labels


def version_ref(value: Any, destination: str) -> str | None:
    """The ref owner/name:id when `value` names a version of `destination`: as that ref
    (with or without "r8.im/"), or as a bare version id; None for anything else, including
    a version of another model (a training writes into its destination, nowhere else)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().removeprefix("r8.im/")
    model, colon, version_id = text.rpartition(":")
    if not colon:
        model, version_id = destination, text
    if not _VERSION_ID.match(version_id) or model.lower() != destination.lower():
        return None
    return f"{model}:{version_id}"


def trained_version(result: RunResult, destination: str) -> str | None:
    """The version a finished training produced in `destination`, as "owner/name:id", or
    None (a failed training, or a platform that did not say). Looks where each platform
    says it: the run's metrics ("destination_version", the local platform), then the
    output's "version" (Replicate), in the platform's own output before the local copy."""
    if not result.ok:
        return None
    candidates = [result.metrics.get("destination_version")]
    for output in (result.remote_output, result.output):
        if isinstance(output, dict):
            candidates.append(output.get("version"))
    for candidate in candidates:
        ref = version_ref(candidate, destination)
        if ref is not None:
            return ref
    return None


def split_version(ref: str) -> tuple[str, str]:
    """("owner/name", "id") of "owner/name:id"."""
    model, _, version_id = ref.rpartition(":")
    return model, version_id


def short_version(ref: str) -> str:
    """owner/name:id with the id cut to 12 characters, as reports show versions (the
    record's `trained_version` keeps it whole)."""
    model, version_id = split_version(ref)
    return f"{model}:{version_id[:12]}"


def trained_label(prefix: str, case_number: int, number: int, case: TestCase) -> str:
    """A prediction on a training's version, named after both: "train test case 1 →
    prediction 2 (exact_string)" (numbers are 1-based, as the config reads)."""
    return f"{prefix}test case {case_number}{ARROW}prediction {number} ({case.describe()})"


def short_label(label: str) -> str:
    """A prediction's label without its training's name: "prediction 2 (exact_string)"."""
    return label.split(ARROW, 1)[-1]


def why_not_run(training: PredictionRecord) -> str | None:
    """Why predictions on this training's version cannot run, or None when they can."""
    if training.verdict == "skipped":
        return f"not run: the training did not run ({training.message or training.status})"
    if training.verdict == "failed" or training.status != "succeeded":
        return "not run: the training failed"
    if training.trained_version is None:
        return "not run: no trained version was found"
    return None


def not_run(stage: str, label: str, inputs: dict[str, Any], why: str) -> PredictionRecord:
    """A prediction on a trained version that never started, and why."""
    return PredictionRecord(stage, label, inputs, "skipped", "canceled", message=why)


def refused_inputs(
    stage: str, label: str, inputs: dict[str, Any], known: Sequence[str], version: str
) -> PredictionRecord | None:
    """A failed record when the prediction sends inputs the trained version does not take
    (sent anyway, they would be ignored or refused, and test something else); else None."""
    extra = sorted(set(inputs) - set(known))
    if not extra:
        return None
    message = (
        f"sends {', '.join(extra)}, which the trained version does not take; "
        f"its inputs are: {', '.join(known) or '(none)'}"
    )
    return _not_started(stage, label, inputs, version, message)


def unreachable(
    stage: str, label: str, inputs: dict[str, Any], version: str, why: str
) -> PredictionRecord:
    """A failed record for a prediction whose trained version cannot be looked up."""
    return _not_started(stage, label, inputs, version, f"the version cannot be looked up: {why}")


def _not_started(
    stage: str, label: str, inputs: dict[str, Any], version: str, message: str
) -> PredictionRecord:
    return PredictionRecord(
        stage,
        label,
        inputs,
        "failed",
        "not run",
        version=split_version(version)[1],
        message=message,
    )


def judged_training(
    training: PredictionRecord, predictions: Sequence[PredictionRecord]
) -> PredictionRecord:
    """The training's record with the predictions on its version attached (as stored:
    bounded, since no comparison needs their whole outputs), and its verdict decided by them
    too: any failed prediction, or a version that cannot be found, fails the training."""
    record = replace(training, trained_predictions=tuple(stored_record(p) for p in predictions))
    if not predictions or training.verdict in ("failed", "skipped"):
        return record
    if training.status != "succeeded":  # it was expected to fail: it made no version
        return record
    version = training.trained_version
    count = len(predictions)
    if version is None:
        return record.with_verdict(
            "failed",
            f"the training succeeded, but neither its metrics nor its output name the version "
            f"it produced, so its {count} prediction(s) on that version could not run",
        )
    shown = short_version(version)
    failed = [p for p in predictions if p.verdict == "failed"]
    if failed:
        first, *rest = failed
        return record.with_verdict(
            "failed",
            f"{short_label(first.label)} on the trained version {shown} failed: "
            f"{first.message or first.status}"
            + "".join(
                f"; {short_label(p.label)} failed too: {p.message or p.status}" for p in rest
            ),
        )
    skipped = [p for p in predictions if p.verdict == "skipped"]
    if skipped:
        return record.with_verdict(
            "skipped",
            f"{len(skipped)} of {count} predictions on the trained version {shown} did not "
            f"run: {skipped[0].message or skipped[0].status}",
        )
    doubtful = [p for p in predictions if p.verdict in ("unverified", "warning")]
    if doubtful:
        reasons = "; ".join(f"{short_label(p.label)}: {p.message}" for p in doubtful)
        return record.with_verdict("unverified", f"on the trained version {shown}: {reasons}")
    passed = f"{count} prediction(s) on the trained version {shown} passed"
    return record.with_verdict(
        training.verdict, f"{training.message}; {passed}" if training.message else passed
    )
