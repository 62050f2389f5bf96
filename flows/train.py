"""The train flow: a trainable version's TrainingInput/Output and trainings checked like predictions."""

from __future__ import annotations

from prefect import flow

from flows.checks import CheckOutcome, run_checks
from tasks.job import Job


@flow(name="train", log_prints=True)
def train_flow(job: Job, test_version: str | None = None) -> CheckOutcome:
    """Code lint of the train file, push to the test model (unless given), schema lint and
    compatibility of TrainingInput/TrainingOutput, then test cases and fuzzing as trainings
    of the test version into the destination model."""
    return run_checks(job, "train", test_version)
