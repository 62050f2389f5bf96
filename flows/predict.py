"""The predict flow: every check of a new version's predictions, each stage a Prefect task."""

from __future__ import annotations

from prefect import flow

from flows.checks import CheckOutcome, run_checks
from tasks.job import Job


@flow(name="predict", log_prints=True)
def predict_flow(job: Job, test_version: str | None = None) -> CheckOutcome:
    """Code lint, push to the test model (unless `test_version` is given), schema lint,
    compatibility, output comparison, test cases and fuzzing."""
    return run_checks(job, "predict", test_version)
