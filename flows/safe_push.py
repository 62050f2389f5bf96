"""Entry point: `python -m flows.safe_push` / `cog-safe-push`, and the top-level safe_push flow.

The flow runs preflight, the train and/or predict flows on one pushed test version, then
pushes the model (and updates its deployment) only if every check passed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.checks import CheckOutcome
from flows.cli import parse_args
from flows.predict import predict_flow
from flows.train import train_flow
from tasks import abort
from tasks import ai as ai_module
from tasks.artifacts import publish_report
from tasks.config import Config, help_config_template
from tasks.errors import RunFailed, SafePushError, UsageError
from tasks.job import Job
from tasks.options import RunOptions
from tasks.platforms import PlatformSpec, close_all, resolve_spec
from tasks.preflight import local_problems, preflight
from tasks.pushing import (
    deployment_spec,
    ensure_model,
    push_options,
    push_version,
    update_deployment,
)
from tasks.report import build_report, junit_xml, overall_status
from tasks.results import StageResult
from tasks.source import checkout

EXIT_CODES = {"passed": 0, "failed": 1, "error": 2}


def platform_reason(spec: PlatformSpec, explicit: bool) -> str:
    if explicit:
        return f"platform {spec.kind} (--platform)"
    if spec.kind == "replicate":
        return "platform replicate (REPLICATE_API_TOKEN is set)"
    return f"platform local (no REPLICATE_API_TOKEN; registry {spec.registry})"


def _timed(name: str, fn, *args: Any, **kwargs: Any) -> tuple[StageResult, Any]:
    started = time.monotonic()
    try:
        value = fn(*args, **kwargs)
    except SafePushError as exc:
        return StageResult(name, "failed", str(exc), seconds=time.monotonic() - started), None
    return StageResult(name, "passed", seconds=time.monotonic() - started), value


def _push_official(job: Job) -> tuple[list[StageResult], str | None]:
    logger = get_run_logger()
    ref = job.config.official_model or ""
    try:
        ensure_model(job.spec, ref, job.config.test_hardware)
    except SafePushError as exc:
        logger.warning("could not make sure %s exists (%s); pushing anyway", ref, exc)
    stage, version = _timed(
        "push official model", push_version, job.spec, ref, job.cog_dir, push_options(job.config)
    )
    return [stage], version


def _run(job: Job) -> dict[str, Any]:
    """Every stage of one run; returns the report. Never pushes after a failure."""
    logger = get_run_logger()
    config, options = job.config, job.options
    stages = [preflight(job)]

    def report(
        status: str, pushed: bool = False, version: str | None = None, error: str | None = None
    ):
        return build_report(
            status=status,
            pushed=pushed,
            version=version,
            stages=stages,
            model=config.model,
            test_model=job.test_model,
            platform=job.spec.kind,
            ai_usage=ai_module.usage().to_dict(),
            error=error,
        )

    if stages[0].failed:
        return report("error", error=stages[0].error)
    if options.push_official_model:
        pushed_stages, version = _push_official(job)
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
        outcomes.append(train_flow.with_options(**runner)(job))
        test_version = outcomes[-1].test_version
    stop = options.fail_fast and any(o.failed for o in outcomes)
    if (config.predict is not None or config.train is None) and not stop:
        outcomes.append(predict_flow.with_options(**runner)(job, test_version))
        test_version = outcomes[-1].test_version or test_version
    for item in outcomes:
        stages += item.stages

    if overall_status(stages) == "failed":
        logger.error("checks failed: nothing pushed to %s", config.model)
        return report("failed", version=test_version, error=_first_errors(stages))
    if options.no_push:
        return report("passed", version=test_version)
    push_stage, version = _timed(
        "push", push_version, job.spec, config.model, job.cog_dir, push_options(config)
    )
    stages.append(push_stage)
    if push_stage.failed:
        return report("failed", version=test_version, error=push_stage.error)
    deployment = deployment_spec(config)
    if deployment is not None:
        dep_stage, _ = _timed(
            "deployment", update_deployment, job.spec, deployment, config.model, version
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


@flow(name="safe-push", log_prints=True)
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
    abort.reset()
    ai_module.reset_usage()
    spec = resolve_spec(options.platform, python=options.python, verbosity=options.verbose)
    logger = get_run_logger()
    logger.info("cog-safe-push: %s", platform_reason(spec, options.platform is not None))
    try:
        with abort.cancel_on_signals(), checkout(source, git_ref, subdirectory) as cog_dir:
            job = Job(config=config, options=options, spec=spec, cog_dir=cog_dir)
            report = _run(job)
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
    finally:
        close_all()
    report["flow_run_id"] = str(flow_run.id) if flow_run.id else None
    write_outputs(report, options)
    publish_report(report)
    if report["status"] != "passed":
        message = f"cog-safe-push {report['status']}: {report['error']}"
        failure = RunFailed(message, report, EXIT_CODES.get(report["status"], 1))
        return Failed(message=message, data=failure)
    return report


class _HideExpectedTracebacks(logging.Filter):
    """Our own errors are one clear line; Prefect would otherwise log their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SafePushError):
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(verbose: int) -> None:
    hide = _HideExpectedTracebacks()
    for name in ["", "prefect", *logging.root.manager.loggerDict]:
        logger = logging.getLogger(name) if name else logging.getLogger()
        for handler in getattr(logger, "handlers", []):
            handler.addFilter(hide)
    if verbose >= 3:
        logging.getLogger("prefect").setLevel(logging.DEBUG)


def _print_summary(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False)
    table = Table(title=f"cog-safe-push: {report['status']}", show_lines=False)
    for column in ("stage", "status", "seconds", "predictions", "detail"):
        table.add_column(column)
    for stage in report["stages"]:
        detail = (
            stage["error"] or "; ".join(stage.get("warnings") or []) or stage.get("detail") or ""
        )
        table.add_row(
            stage["name"],
            stage["status"],
            f"{stage['seconds']:.1f}",
            str(len(stage["predictions"])),
            (detail[:200] + "…") if len(detail) > 200 else detail,
        )
    console.print(table)
    if report["pushed"]:
        console.print(f"pushed {report['model']}:{report['version']}")
    elif report["status"] == "passed":
        console.print(f"passed; nothing pushed (--no-push). Test version {report['version']}")
    else:
        console.print(f"nothing pushed to {report['model']}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "schema-diff":
        from flows.schema_diff_cmd import main as schema_diff_main

        return schema_diff_main(argv[1:])
    try:
        request = parse_args(argv)
    except UsageError as exc:
        print(f"cog-safe-push: error: {exc}", file=sys.stderr)
        return 2
    if request.help_config:
        print(help_config_template(), end="")
        return 0
    options = request.options
    spec = resolve_spec(options.platform, python=options.python)
    print(f"cog-safe-push: {platform_reason(spec, options.platform is not None)}", file=sys.stderr)
    # Problems visible without a platform are reported before Prefect starts: one line, exit 2.
    job = Job(config=request.config, options=options, spec=spec, cog_dir=request.cog_dir)
    problems = local_problems(job)
    if problems:
        print(f"cog-safe-push: error: {'; '.join(problems)}", file=sys.stderr)
        return 2
    configure_logging(options.verbose)
    try:
        state = safe_push(
            config=request.config, options=options, source=request.cog_dir, return_state=True
        )
    except KeyboardInterrupt:
        close_all()
        print(
            "cog-safe-push: interrupted; in-flight predictions canceled, nothing pushed",
            file=sys.stderr,
        )
        return 130
    report = state.result(raise_on_failure=False)
    if isinstance(report, RunFailed):
        report = report.report
    elif isinstance(report, BaseException):
        code = report.exit_code if isinstance(report, SafePushError) else 1
        print(f"cog-safe-push: error: {report}", file=sys.stderr)
        return code
    _print_summary(report)
    if report["status"] != "passed" and report.get("error"):
        print(f"cog-safe-push: {report['status']}: {report['error']}", file=sys.stderr)
    return EXIT_CODES.get(report["status"], 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
