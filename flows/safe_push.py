"""The top-level safe_push flow, and `python -m flows.safe_push` (the command line).

The flow runs preflight, the train and/or predict flows on one pushed test version, then
pushes the model (and updates its deployment) only if every check passed. Run as a module,
this file hands over to flows/cli.py before importing Prefect, so `--help` and usage errors
answer at once.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from flows.cli import main

    sys.exit(main())

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.urls import url_for

from flows.lease import LeaseTimeout, model_lease
from flows.pipeline import CheckOutcome, stage_from_state
from flows.predict import predict_flow
from flows.train import train_flow
from tasks.artifacts import publish_report
from tasks.compatibility import compatibility
from tasks.core.config import Config
from tasks.core.errors import RunFailed, SafePushError, UsageError
from tasks.core.job import Job
from tasks.core.options import RunOptions
from tasks.core.results import StageResult
from tasks.core.run_scope import RunScope, run_scope
from tasks.core.source import checkout
from tasks.deployment import update_deployment
from tasks.platforms import platform_reason, resolve_spec
from tasks.preflight import preflight
from tasks.push import Tested, push_official, push_version
from tasks.report.render import build_report, junit_xml, overall_status
from tasks.test_model import ensure_model
from tasks.versions import latest_version, version_schema

EXIT_CODES = {"passed": 0, "failed": 1, "error": 2}
TEST_ONLY_TAG = "test-only"  # a deployment with this tag never pushes, whatever its parameters


class OneLineErrors(logging.Filter):
    """Our own errors are one clear line in the logs, not a traceback: a failed check is a
    verdict, not a crash. A run that ends Failed logs its summary as that line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SafePushError):
            if isinstance(exc, RunFailed):
                record.msg, record.args = str(exc), ()
            record.exc_info = None
            record.exc_text = None
        return True


for _name in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_name).addFilter(OneLineErrors())


def _observed(scope: RunScope, name: str, body: Callable[[], StageResult]) -> StageResult:
    """Run one stage, timed and reported to whoever watches the run."""
    scope.observer.stage_started(name, None)
    started = time.monotonic()
    stage = body()
    stage.seconds = time.monotonic() - started
    scope.observer.stage_finished(name, stage.status, stage.seconds)
    return stage


def _push_official(job: Job, scope: RunScope) -> tuple[list[StageResult], str | None]:
    """--push-official-model: push the directory to official_model, and do nothing else."""
    ref = job.config.official_model or ""
    ensured = ensure_model(job.spec, ref, job.config.test_hardware, return_state=True)
    if not ensured.is_completed():
        get_run_logger().warning(
            "could not make sure %s exists (%s); pushing anyway", ref, ensured.message
        )
    pushed: list[str] = []

    def body() -> StageResult:
        state = push_official(
            job.spec, ref, job.cog_dir, job.config.push_options(), return_state=True
        )
        if state.is_completed():
            pushed.append(state.result())
        return stage_from_state(state, "push official model")

    stage = _observed(scope, "push official model", body)
    return [stage], pushed[0] if pushed and not stage.failed else None


def _outcome(state: State, name: str) -> CheckOutcome:
    """A subflow's CheckOutcome whatever its final state; a usage error inside it is re-raised
    (exit 2), anything else unexpected becomes a failed stage."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, CheckOutcome):
        return value
    if isinstance(value, UsageError):
        raise value
    message = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else str(value)
    return CheckOutcome(None, [StageResult(f"{name} flow", "failed", message)])


class _Report:
    """The stages so far, and the report they make."""

    def __init__(self, job: Job, scope: RunScope) -> None:
        self.job, self.scope = job, scope
        self.stages: list[StageResult] = []

    def __call__(
        self,
        status: str,
        pushed: bool = False,
        version: str | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        if status == "failed" and any(s.failed and s.kind == "usage" for s in self.stages):
            status = "error"  # the config asked for something the model does not have
        return build_report(
            status=status,
            pushed=pushed,
            version=version,
            stages=self.stages,
            model=self.job.config.model,
            test_model=self.job.test_model,
            platform=self.job.spec.kind,
            ai_usage=self.scope.usage().to_dict(),
            error=error,
        )


def _run(job: Job, scope: RunScope) -> dict[str, Any]:
    """Every stage of one run; returns the report. Never pushes after a failure."""
    report = _Report(job, scope)
    preflight_stage = _observed(
        scope, "preflight", lambda: stage_from_state(preflight(job, return_state=True), "preflight")
    )
    report.stages.append(preflight_stage)
    if preflight_stage.failed:
        return report("error", error=preflight_stage.error)
    if job.options.push_official_model:
        pushed_stages, version = _push_official(job, scope)
        report.stages += pushed_stages
        status = overall_status(report.stages)
        error = _first_errors(report.stages) or None
        return report(status, pushed=version is not None, version=version, error=error)
    if job.options.no_push:
        get_run_logger().info("test-only mode: nothing will be pushed to %s", job.config.model)
        return _checks_and_push(job, scope, report)
    # A run that may push holds the model's lease from its first check to its push.
    scope.observer.stage_started("model lease", None)
    try:
        with model_lease(job.spec, job.config.model, on_wait=_waiting(scope)) as waited:
            scope.observer.stage_finished("model lease", "passed", waited)
            if waited > 0:  # reported only when another run held it
                lease = StageResult("model lease", "passed", seconds=waited)
                lease.detail = f"waited {waited:.1f} s for another run of {job.config.model}"
                report.stages.append(lease)
            return _checks_and_push(job, scope, report)
    except LeaseTimeout as exc:
        scope.observer.stage_finished("model lease", "failed", 0.0)
        report.stages.append(StageResult("model lease", "failed", f"nothing pushed: {exc}"))
        return report("failed", error=f"model lease: {exc}")


def _waiting(scope: RunScope) -> Callable[[str], None]:
    """Say it in the run's log and on the terminal: a run waiting silently looks hung."""

    def say(message: str) -> None:
        get_run_logger().warning(message)
        scope.observer.note(message)

    return say


def _checks_and_push(job: Job, scope: RunScope, report: _Report) -> dict[str, Any]:
    config, options = job.config, job.options
    outcomes: list[CheckOutcome] = []
    runner = {"task_runner": ThreadPoolTaskRunner(max_workers=config.parallel)}
    test_version: str | None = None
    if "train" in config.modes:
        state = train_flow.with_options(**runner)(job, return_state=True)
        outcomes.append(_outcome(state, "train"))
        test_version = outcomes[-1].test_version
    stop = options.fail_fast and any(o.failed for o in outcomes)
    if "predict" in config.modes and not stop:
        state = predict_flow.with_options(**runner)(job, test_version, return_state=True)
        outcomes.append(_outcome(state, "predict"))
        test_version = outcomes[-1].test_version or test_version
    for item in outcomes:
        report.stages += item.stages
    if overall_status(report.stages) == "failed":
        get_run_logger().error("checks failed: nothing pushed to %s", config.model)
        return report("failed", version=test_version, error=_first_errors(report.stages))
    if options.no_push:
        return report("passed", version=test_version)
    tested_digest = next((o.tested_digest for o in outcomes if o.tested_digest), None)
    if test_version is None or tested_digest is None:
        return report("failed", error="no tested version to push")
    rechecks = _recheck_baseline(job, scope, outcomes, test_version)
    report.stages += rechecks
    if any(s.failed for s in rechecks):
        return report("failed", version=test_version, error=_first_errors(rechecks))
    tested = Tested(job.test_model, test_version, tested_digest)
    pushed: list[str] = []

    def push() -> StageResult:
        state = push_version(
            job.spec, config.model, job.cog_dir, config.push_options(), tested, return_state=True
        )
        if state.is_completed():
            pushed.append(state.result())
        return stage_from_state(state, "push")

    push_stage = _observed(scope, "push", push)
    report.stages.append(push_stage)
    if push_stage.failed or not pushed:
        return report("failed", version=test_version, error=push_stage.error)
    version = pushed[0]
    deployment = config.deployment_spec()
    if deployment is not None:
        dep_stage = _observed(
            scope,
            "deployment",
            lambda: stage_from_state(
                update_deployment(job.spec, deployment, config.model, version, return_state=True),
                "deployment",
            ),
        )
        report.stages.append(dep_stage)
        if dep_stage.failed:
            return report("failed", pushed=True, version=version, error=dep_stage.error)
    return report("passed", pushed=True, version=version)


def _recheck_baseline(
    job: Job, scope: RunScope, outcomes: list[CheckOutcome], test_version: str
) -> list[StageResult]:
    """Never push against a stale baseline: if the live model's latest version is no longer
    the one the checks compared against, check compatibility against it again."""
    baseline = next((o.baseline for o in outcomes if o.test_version), None)
    live = latest_version(job.spec, job.config.model)
    if (live.id if live else None) == baseline:
        return []
    if live is None:
        return [StageResult("live version", "failed", f"{job.config.model} lost its versions")]
    get_run_logger().warning(
        "the live version of %s changed during the run (%s -> %s): checking compatibility again",
        job.config.model,
        (baseline or "none")[:12],
        live.id[:12],
    )
    new_doc = version_schema(job.spec, job.test_model, test_version)
    stages = []
    for mode in job.config.modes:
        name = f"{'train ' if mode == 'train' else ''}schema compatibility (against {live.id[:12]})"
        stages.append(
            _observed(
                scope,
                name,
                lambda name=name, mode=mode: stage_from_state(
                    compatibility(
                        live.openapi_schema,
                        new_doc,
                        mode == "train",
                        job.config.ignore_schema_compatibility,
                        name,
                        return_state=True,
                    ),
                    name,
                ),
            )
        )
    return stages


def _first_errors(stages: list[StageResult]) -> str:
    failed = [s for s in stages if s.failed]
    return "; ".join(f"{s.name}: {s.error}" for s in failed)


def write_outputs(report: dict[str, Any], options: RunOptions) -> None:
    if options.report_json:
        path = Path(options.report_json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if options.junit_xml:
        path = Path(options.junit_xml)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(junit_xml(report) + "\n")


def verdict_line(report: dict[str, Any]) -> str:
    """The run's outcome in one short line: the failed stages, not their whole errors."""
    failed = [s["name"] for s in report["stages"] if s["status"] == "failed"]
    if report["status"] == "error":
        return f"cog-safe-push error: {(report.get('error') or '').splitlines()[0][:300]}"
    if failed:
        return f"cog-safe-push failed: {', '.join(failed)}; nothing pushed to {report['model']}"
    return f"cog-safe-push {report['status']}"


@flow(name="safe-push", flow_run_name="safe-push {config.model}", log_prints=True)
def safe_push(
    config: Config,
    options: RunOptions | None = None,
    source: str = ".",
    git_ref: str | None = None,
    subdirectory: str | None = None,
    allowed_sources: list[str] | None = None,
) -> dict[str, Any]:
    """Prove a Cog model's new version works and is backwards compatible, then push it.

    Args:
        config: What to check and where to push: the fields of cog-safe-push.yaml.
        options: How to run: test-only, platform, seed, fuzz generator, fail-fast, reports.
        source: The Cog directory: a path on the machine running the flow, or a git URL.
        git_ref: Branch, tag or commit to check out when `source` is a git URL.
        subdirectory: The Cog directory inside `source`, when it is not at the top.
        allowed_sources: Glob patterns `source` must match (set by a deployment, so that an
            event cannot choose what is tested and pushed); empty allows any source.
    """
    options = options or RunOptions()
    if TEST_ONLY_TAG in (flow_run.tags or []):  # the nightly deployment never pushes
        options = options.model_copy(update={"no_push": True, "push_official_model": False})
    spec = resolve_spec(options.platform, python=options.python, verbosity=options.verbose)
    logger = get_run_logger()
    logger.info("cog-safe-push: %s", platform_reason(spec, options.platform is not None))
    ui_url = url_for("flow-run", obj_id=flow_run.id) if flow_run.id else None
    with run_scope() as scope:
        scope.observer.run_started(ui_url)
        try:
            with (
                scope.cancel_on_signals(),
                checkout(source, git_ref, subdirectory, allowed_sources or ()) as cog_dir,
            ):
                job = Job(config=config, options=options, spec=spec, cog_dir=cog_dir)
                report = _run(job, scope)
        except UsageError as exc:
            report = build_report(
                status="error",
                pushed=False,
                version=None,
                stages=[],
                model=config.model,
                test_model=config.resolved_test_model,
                platform=spec.kind,
                error=str(exc),
            )
    report["flow_run_id"] = str(flow_run.id) if flow_run.id else None
    report["flow_run_url"] = ui_url
    write_outputs(report, options)
    publish_report(report)
    if report["status"] != "passed":
        message = verdict_line(report)
        failure = RunFailed(message, report, EXIT_CODES.get(report["status"], 1))
        return Failed(message=message, data=failure)  # type: ignore[return-value]
    return report
