"""Test-cases stage: each configured case runs on the test version and meets its checker.

One task run per case, named for its checker ("test case 2 (exact_string)"), submitted at
once to the shared pool of prediction workers and judged as it finishes. A train test case
is judged by the predictions on the version its training produced too
(tasks.trained_predictions).
"""

from __future__ import annotations

from tasks.core.results import StageResult, stage_from_records
from tasks.outputs.verdict import Judge
from tasks.predictions import Predictions, SharedRuns, record_from_future
from tasks.stage_runner import Pending, StageRunner
from tasks.trained_predictions import collect_trainings


def submit_test_cases(
    runner: StageRunner,
    predictions: Predictions,
    test_version: str,
    shared: SharedRuns | None = None,
) -> Pending:
    """Submit every case now (each also offered to `shared`); judge them when collected."""
    view, job = predictions.view, predictions.job
    name = view.stage("test cases")
    cases = view.test_cases
    runner.begin(name, len(cases))
    labels = [
        f"{view.prefix}test case {index} ({case.describe()})"
        for index, case in enumerate(cases, start=1)
    ]
    futures = [
        predictions.submit(
            job.test_model,
            test_version,
            dict(case.inputs),
            Judge("case", case.checker_dict(), job.options.ai_model),
            name,
            label,
        )
        for case, label in zip(cases, labels, strict=True)
    ]
    if shared is not None:
        for case, future, label in zip(cases, futures, labels, strict=True):
            if case.error_contains is None:
                shared.add(dict(case.inputs), future, label)

    def collect() -> StageResult:
        if any(view.trained_predictions):  # a training is only good if its result predicts
            records = collect_trainings(predictions, name, futures, labels, cases)
            return stage_from_records(name, records, 0.0)
        records = [
            record_from_future(future, name, label, dict(case.inputs))
            for future, label, case in zip(futures, labels, cases, strict=True)
        ]
        return stage_from_records(name, records, 0.0)

    return Pending(name, collect)
