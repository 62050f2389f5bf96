"""The checks of one mode (predict or train), in order: the stages the predict and train flows
run. Each stage lives in its own module under tasks/; this file only says which runs when.

Every stage runs and reports (as the seed tool does) unless --fail-fast is given, in which
case the first failure stops new work and cancels what is in flight. Compare, test-case and
fuzz predictions are all submitted before any is collected, so they share the `parallel`
workers instead of waiting for each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prefect import get_run_logger

from tasks.cases import submit_test_cases
from tasks.code_lint import code_lint
from tasks.compare_outputs import submit_comparison
from tasks.compatibility import compatibility
from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.config import ModeName
from tasks.core.job import Job
from tasks.core.results import StageResult
from tasks.core.run_scope import current
from tasks.fuzzing import plan_fuzz, submit_fuzz
from tasks.live_side import LiveSide
from tasks.predictions import Predictions, SharedRuns
from tasks.schema.inputs import unknown_inputs
from tasks.schema_lint import schema_lint
from tasks.stage_runner import StageRunner
from tasks.staging import ensure_model, push_test_model
from tasks.versions import latest_version, version_schema


@dataclass
class CheckOutcome:
    """What one mode's checks found, and what the final push needs to know."""

    test_version: str | None
    stages: list[StageResult] = field(default_factory=list)
    tested_digest: str | None = None  # content digest of the Cog directory that was tested
    baseline: str | None = None  # the live version the checks compared against

    @property
    def failed(self) -> bool:
        return any(s.failed for s in self.stages)

    def summary(self) -> str:
        failed = [s.name for s in self.stages if s.failed]
        return f"{len(failed)} stage(s) failed: {', '.join(failed)}" if failed else "passed"


def run_checks(job: Job, mode: ModeName, test_version: str | None) -> CheckOutcome:
    """Lint, push the test model (unless given a version), then every check on it."""
    # Each (sub)flow run installs Prefect's SIGTERM handler; chain ours on top of it again.
    scope = current()
    with scope.cancel_on_signals():
        runner = StageRunner(scope, job.options.fail_fast)
        outcome = CheckOutcome(test_version)
        _checks(job, mode, runner, outcome)
        outcome.stages = runner.stages
        return outcome


def _checks(job: Job, mode: ModeName, runner: StageRunner, outcome: CheckOutcome) -> None:
    view = job.mode(mode)
    refresh = job.options.refresh

    # 1. code lint
    name = view.stage("code lint")
    predictor = str(read_cog_yaml(job.cog_dir).file_of(mode))
    lint = code_lint.with_options(refresh_cache=True) if refresh else code_lint
    runner.run(name, lambda: lint(predictor, job.cog_dir, stage_name=name, return_state=True))
    if runner.stopped:
        return

    # 2. push the test model (the train flow may already have)
    if outcome.test_version is None:
        runner.begin("push test model")
        staged = push_test_model(job)
        outcome.tested_digest = staged.content_digest
        runner.finish(staged.stage)
        if runner.stopped or staged.version is None:
            return
        outcome.test_version = staged.version
    test_version = outcome.test_version
    schema = version_schema.with_options(refresh_cache=True) if refresh else version_schema
    new_doc = schema(job.spec, job.test_model, test_version)

    # 3. inputs the config sends that the model does not take (a usage error)
    wrong = unknown_inputs(view, new_doc)
    if wrong is not None:
        runner.finish(wrong)
        return

    # 4. schema lint
    name = view.stage("schema lint")
    runner.run(name, lambda: schema_lint(new_doc, view.train, name, return_state=True))
    if runner.stopped:
        return

    # 5. schema compatibility with the live version, when there is one
    live = latest_version(job.spec, job.model)
    outcome.baseline = live.id if live else None
    if live is None:
        get_run_logger().info(
            "%s has no version yet: compatibility and output comparison skipped", job.model
        )
    else:
        name = view.stage("schema compatibility")
        ignore = job.config.ignore_schema_compatibility
        runner.run(
            name,
            lambda: compatibility(
                live.openapi_schema, new_doc, view.train, ignore, name, return_state=True
            ),
        )
        if runner.stopped:
            return

    # 6. predictions: compare outputs (and latency), test cases, fuzz, sharing the workers
    predictions = Predictions(job, view)
    shared = SharedRuns()
    if view.destination and (view.test_cases or view.fuzz.iterations > 0):
        ensure_model(job.spec, view.destination, view.destination_hardware)
    live_side = (
        LiveSide(predictions, job.model, live.id, live.openapi_schema)
        if live is not None and view.differential
        else None
    )
    plan = plan_fuzz(predictions, new_doc) if view.fuzz.iterations > 0 else None
    cases = (
        submit_test_cases(runner, predictions, test_version, shared) if view.test_cases else None
    )
    fuzz = submit_fuzz(runner, predictions, test_version, plan, live_side, shared) if plan else None
    comparison = None
    if live_side is not None and view.compare_outputs:
        comparison = submit_comparison(
            runner, predictions, live_side, test_version, new_doc, plan, shared
        )
    runner.collect([stage for stage in (comparison, cases, fuzz) if stage is not None])
