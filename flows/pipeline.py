"""The checks of one mode (predict or train), in order: the stages the predict and train flows
run. Each stage lives in its own module under tasks/; this file only says which runs when.

Every stage runs and reports (as the seed tool does) unless --fail-fast is given, in which
case the first failure stops new work and cancels what is in flight. Compare, test-case and
fuzz predictions are all submitted before any is collected, so they share the `parallel`
workers instead of waiting for each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from prefect import get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.urls import url_for

from tasks.cases import submit_test_cases
from tasks.code_lint import code_lint
from tasks.compare_outputs import submit_comparison
from tasks.compatibility import compatibility
from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.config import ModeName, ModeView
from tasks.core.job import Job
from tasks.core.results import StageResult
from tasks.core.run_scope import current
from tasks.fuzzing import submit_fuzz
from tasks.predictions import Predictions, SharedRuns
from tasks.push_window import PushWindow, open_window
from tasks.report.render import NO_LIVE_VERSION
from tasks.schema.inputs import unknown_inputs
from tasks.schema_lint import schema_lint
from tasks.stage_runner import Pending, StageRunner, stage_from_state
from tasks.staging import STAGE as PUSH_STAGE
from tasks.staging import build_key, content_digest, push_test_model
from tasks.verdicts import recall, remember, verdict_key, verdict_material
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
    schema = version_schema.with_options(refresh_cache=True) if refresh else version_schema
    pushing = outcome.test_version is None

    # 1. code lint, while the test model is pushed; under --fail-fast before the push, so
    #    that a lint failure costs no push
    lint = _submit_lint(job, mode, runner)
    if not pushing or job.options.fail_fast:
        lint()
        if runner.stopped:
            return

    # 2. an unchanged rerun reuses the verdict it had (tasks.verdicts)
    content, build = content_digest(job), build_key(job)
    live = latest_version(job.spec, job.model)
    outcome.baseline = live.id if live else None
    material = verdict_material(job, mode, content, outcome.baseline, build)
    key = verdict_key(material) if material is not None else None
    reused = recall(key) if key and job.reuse_verdicts and not refresh else None

    def push() -> bool:
        return _push(job, runner, outcome, lint, content, build)

    if reused is not None:
        if pushing and not push():
            return
        get_run_logger().info("%s: %s", job.model, reused.line())
        runner.scope.observer.note(reused.line())
        for stage in reused.stages:
            runner.finish(replace(stage, detail=f"reused: {stage.detail or stage.status}"))
        return

    # 3. the push window: what does not need the test version starts now (tasks.push_window)
    known_doc = None if pushing else schema(job.spec, job.test_model, outcome.test_version)
    window = open_window(Predictions(job, view), live, known_doc, content)
    try:
        _after_window(runner, outcome, window, push, schema, known_doc)
    finally:
        window.close()
    if key and not runner.failed and not runner.scope.stopped():
        here = url_for("flow-run", obj_id=flow_run.id) if flow_run.id else None
        unchecked = (view.stage("code lint"), PUSH_STAGE)  # they run again on a reuse
        remember(key, [s for s in runner.stages if s.name not in unchecked], here)


def _submit_lint(job: Job, mode: ModeName, runner: StageRunner) -> Callable[[], None]:
    """Start the code lint stage; the returned call finishes it (once)."""
    name = job.mode(mode).stage("code lint")
    predictor = str(read_cog_yaml(job.cog_dir).file_of(mode))
    lint = code_lint.with_options(refresh_cache=True) if job.options.refresh else code_lint
    runner.begin(name)
    future = lint.submit(predictor, job.cog_dir, stage_name=name)
    done: list[bool] = []

    def finish() -> None:
        if not done:
            done.append(True)
            future.wait()
            runner.finish(stage_from_state(future.state, name))

    return finish


def _push(
    job: Job,
    runner: StageRunner,
    outcome: CheckOutcome,
    lint: Callable[[], None],
    content: str,
    build: str,
) -> bool:
    """Push the test model (lint is collected meanwhile); False when the checks end here."""
    runner.begin(PUSH_STAGE)
    staged = push_test_model(job, content, build)
    outcome.tested_digest = staged.content_digest
    lint()
    runner.finish(staged.stage)
    if staged.version is None:
        _stop(runner, "the test push failed", [])
        return False
    outcome.test_version = staged.version
    return not runner.stopped


def _skip_without_live(runner: StageRunner, job: Job, view: ModeView) -> None:
    """A first push has nothing to compare with: the report says so, rather than lacking
    the rows (a reader would not know whether they passed, failed or never ran)."""
    why = f"{NO_LIVE_VERSION} of {job.model} yet: nothing to compare with"
    names = [view.stage("schema compatibility")]
    if view.compare_outputs:
        names.append(view.stage("compare outputs"))
    for name in names:
        runner.finish(StageResult(name, "skipped", detail=why))


def _stop(runner: StageRunner, reason: str, pending: list[Pending]) -> None:
    """End the checks early: nothing more starts, what is in flight is canceled, and stages
    already submitted are collected (as skipped where they never ran)."""
    runner.scope.request_stop(reason)
    runner.scope.cancel_inflight()
    runner.collect(pending)


def _after_window(
    runner: StageRunner,
    outcome: CheckOutcome,
    window: PushWindow,
    push: Callable[[], bool],
    schema: Any,
    known_doc: dict[str, Any] | None,
) -> None:
    predictions = window.predictions
    job, view = predictions.job, predictions.view
    shared = SharedRuns()
    if outcome.test_version is None and not push():
        return
    test_version = outcome.test_version
    assert test_version is not None

    # 4. the test version's first predictions start now (its cold boot with them), when the
    #    predicted schema takes the cases' inputs; the schema checks run meanwhile
    cases = None
    predicted = window.predicted_doc()
    if view.test_cases and predicted is not None and unknown_inputs(view, predicted) is None:
        window.destination_ready()
        cases = submit_test_cases(runner, predictions, test_version, shared)
    early = [cases] if cases is not None else []
    new_doc = known_doc or schema(job.spec, job.test_model, test_version)

    # 5. inputs the config sends that the model does not take (a usage error)
    wrong = unknown_inputs(view, new_doc)
    if wrong is not None:
        runner.finish(wrong)
        _stop(runner, "the config sends inputs the model does not take", early)
        return

    # 6. schema lint
    name = view.stage("schema lint")
    runner.run(name, lambda: schema_lint(new_doc, view.train, name, return_state=True))
    if runner.stopped:
        runner.collect(early)
        return

    # 7. schema compatibility with the live version, when there is one
    live = window.live
    if live is None:
        get_run_logger().info(
            "%s has no version yet: compatibility and output comparison skipped", job.model
        )
        _skip_without_live(runner, job, view)
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
            runner.collect(early)
            return

    # 8. predictions: compare outputs (and latency), test cases, fuzz, sharing the workers
    live_side = window.live_side()
    plan = window.plan_for(new_doc)
    window.destination_ready()
    if cases is None and view.test_cases:
        cases = submit_test_cases(runner, predictions, test_version, shared)
    fuzz = submit_fuzz(runner, predictions, test_version, plan, live_side, shared) if plan else None
    comparison = None
    if live_side is not None and view.compare_outputs:
        comparison = submit_comparison(
            runner, predictions, live_side, test_version, new_doc, plan, shared
        )
    runner.collect([stage for stage in (comparison, cases, fuzz) if stage is not None])
