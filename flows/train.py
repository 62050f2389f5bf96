"""The train flow: a trainable version's TrainingInput/Output and trainings checked like predictions."""

from __future__ import annotations

from flows.json_flow import flow
from flows.pipeline import CheckOutcome, run_checks
from flows.predict import final_state
from tasks.core.job import Job


@flow(name="train", flow_run_name="train {job.config.model}", log_prints=True)
def train_flow(job: Job, test_version: str | None = None) -> CheckOutcome:
    """Code lint of the train file, push to the test model (unless given), schema lint and
    compatibility of TrainingInput/TrainingOutput, then test cases and fuzzing as trainings
    of the test version into the destination model."""
    return final_state(run_checks(job, "train", test_version))  # type: ignore[return-value]
