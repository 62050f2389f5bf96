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
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.urls import url_for

from flows.pipeline import CheckOutcome, stage_from_state
from flows.predict import predict_flow
from flows.train import train_flow
from tasks.artifacts import publish_report
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
from tasks.push import push_version
from tasks.report.render import build_report, junit_xml, overall_status
from tasks.test_model import ensure_model

EXIT_CODES = {"passed": 0, "failed": 1, "error": 2}


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


def _push(scope: RunScope, job: Job, name: str, ref: str) -> tuple[StageResult, str | None]:
    """Push the Cog directory to `ref` as the stage `name`; the version id when it passed."""
    pushed: list[str] = []

    def body() -> StageResult:
        state = push_version.with_options(task_run_name=name)(
            job.spec, ref, job.cog_dir, job.config.push_options(), return_state=True
        )
        if state.is_completed():
            pushed.append(state.result())
        return stage_from_state(state, name)

    stage = _observed(scope, name, body)
    return stage, pushed[0] if pushed and not stage.failed else None


def _push_official(job: Job, scope: RunScope) -> tuple[list[StageResult], str | None]:
    ref = job.config.official_model or ""
    ensured = ensure_model(job.spec, ref, job.config.test_hardware, return_state=True)
    if not ensured.is_completed():
        get_run_logger().warning(
            "could not make sure %s exists (%s); pushing anyway", ref, ensured.message
        )
    stage, version = _push(scope, job, "push official model", ref)
    return [stage], version


def _run(job: Job, scope: RunScope) -> dict[str, Any]:
    """Every stage of one run; returns the report. Never pushes after a failure."""
    logger = get_run_logger()
    config, options = job.config, job.options
    stages = [
        _observed(
            scope,
            "preflight",
            lambda: stage_from_state(preflight(job, return_state=True), "preflight"),
        )
    ]

    def report(
        status: str, pushed: bool = False, version: str | None = None, error: str | None = None
    ) -> dict[str, Any]:
        return build_report(
            status=status,
            pushed=pushed,
            version=version,
            stages=stages,
            model=config.model,
            test_model=job.test_model,
            platform=job.spec.kind,
            ai_usage=scope.usage().to_dict(),
            error=error,
        )

    if stages[0].failed:
        return report("error", error=stages[0].error)
    if options.push_official_model:
        pushed_stages, version = _push_official(job, scope)
        stages += pushed_stages
        status = overall_status(stages)
        return report(
            status, pushed=version is not None, version=version, error=_first_errors(stages) or None
        )
    if options.no_push:
        logger.info("test-only mode: nothing will be pushed to %s", config.model)

    test_version: str | None = None
    outcomes: list[CheckOutcome] = []
    runner = {"task_runner": ThreadPoolTaskRunner(max_workers=config.parallel)}
    if config.train is not None:
        state = train_flow.with_options(**runner)(job, return_state=True)
        outcomes.append(state.result(raise_on_failure=False))
        test_version = outcomes[-1].test_version
    stop = options.fail_fast and any(o.failed for o in outcomes)
    if (config.predict is not None or config.train is None) and not stop:
        state = predict_flow.with_options(**runner)(job, test_version, return_state=True)
        outcomes.append(state.result(raise_on_failure=False))
        test_version = outcomes[-1].test_version or test_version
    for item in outcomes:
        stages += item.stages

    if overall_status(stages) == "failed":
        logger.error("checks failed: nothing pushed to %s", config.model)
        return report("failed", version=test_version, error=_first_errors(stages))
    if options.no_push:
        return report("passed", version=test_version)
    push_stage, version = _push(scope, job, "push", config.model)
    stages.append(push_stage)
    if push_stage.failed or version is None:
        return report("failed", version=test_version, error=push_stage.error)
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
        stages.append(dep_stage)
        if dep_stage.failed:
            return report("failed", pushed=True, version=version, error=dep_stage.error)
    return report("passed", pushed=True, version=version)


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
) -> dict[str, Any]:
    """Prove a Cog model's new version works and is backwards compatible, then push it.

    Args:
        config: What to check and where to push: the fields of cog-safe-push.yaml.
        options: How to run: test-only, platform, seed, fuzz generator, fail-fast, reports.
        source: The Cog directory: a path on the machine running the flow, or a git URL.
        git_ref: Branch, tag or commit to check out when `source` is a git URL.
        subdirectory: The Cog directory inside `source`, when it is not at the top.
    """
    options = options or RunOptions()
    spec = resolve_spec(options.platform, python=options.python, verbosity=options.verbose)
    logger = get_run_logger()
    logger.info("cog-safe-push: %s", platform_reason(spec, options.platform is not None))
    ui_url = url_for("flow-run", obj_id=flow_run.id) if flow_run.id else None
    with run_scope() as scope:
        scope.observer.run_started(ui_url)
        try:
            with scope.cancel_on_signals(), checkout(source, git_ref, subdirectory) as cog_dir:
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
