"""The predict flow: every check of a new version's predictions, each stage a Prefect task."""

from __future__ import annotations

from prefect.states import Completed, Failed, State

from flows.json_flow import flow
from flows.pipeline import CheckOutcome, run_checks
from tasks.core.job import Job


def final_state(outcome: CheckOutcome) -> State:
    """Failed when any stage failed, so the UI shows the subflow red, with the outcome as data."""
    if outcome.failed:
        return Failed(message=outcome.summary(), data=outcome)
    return Completed(message=outcome.summary(), data=outcome)


@flow(name="predict", flow_run_name="predict {job.config.model}", log_prints=True)
def predict_flow(job: Job, test_version: str | None = None) -> CheckOutcome:
    """Code lint, push to the test model (unless `test_version` is given), schema lint,
    compatibility, output comparison, test cases and fuzzing."""
    return final_state(run_checks(job, "predict", test_version))  # type: ignore[return-value]
