"""The top-level safe_push flow: preflight, the model's lease, the train and/or predict flows on
one pushed test version, then the push (and the deployment's update) only if every check
passed. The command line (flows/cli.py) and the deployments (deployments/) both run it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.runtime import deployment, flow_run
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.urls import url_for

from flows.heartbeats import own_heartbeats, without_heartbeats
from flows.json_flow import flow
from flows.lease import LeaseTimeout, model_lease
from flows.pipeline import CheckOutcome
from flows.predict import predict_flow
from flows.push_gate import STOPPING, hold_reason
from flows.run_labels import label_flow_run, run_name, run_tags
from flows.server_watch import settle
from flows.train import train_flow
from tasks.artifacts import publish_report
from tasks.compatibility import compatibility
from tasks.confirm import not_updated, unconfirmed_line
from tasks.core.config import Config
from tasks.core.errors import (
    EXIT_CODES,
    RunFailed,
    SafePushError,
    UsageError,
    machine_fault_in,
)
from tasks.core.job import Job
from tasks.core.options import RunOptions
from tasks.core.platform_data import PlatformSpec
from tasks.core.results import StageResult
from tasks.core.run_scope import Observer, RunScope, run_scope
from tasks.core.source import checkout
from tasks.deployment import update_deployment
from tasks.platforms import platform_reason, resolve_spec
from tasks.preflight import preflight
from tasks.push import Tested, confirm_push, push_confirmed, push_official, push_version
from tasks.report.render import build_report, junit_xml, overall_status
from tasks.stage_runner import StageRunner
from tasks.staging import ensure_model
from tasks.versions import latest_version, version_schema

TEST_ONLY_TAG = "test-only"  # a deployment with this tag never pushes, whatever its parameters


def report_of(state: Any) -> dict[str, Any] | BaseException:
    """The report in a finished `safe_push` state: a run that did not pass carries it in its
    RunFailed; anything else it raised (bad input, a platform error) is returned as is."""
    result = state.result(raise_on_failure=False)
    return result.report if isinstance(result, RunFailed) else result


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


class _Run:
    """One run of the flow: its job, its stages (one runner for all of them) and its report."""

    def __init__(self, job: Job, runner: StageRunner) -> None:
        self.job = job
        self.runner = runner
        self.live_version: str | None = None  # what the checks compared against, if anything

    def report(
        self,
        status: str,
        pushed: bool = False,
        version: str | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        stages = self.runner.stages
        if status == "failed" and any(s.failed and s.kind == "usage" for s in stages):
            status = "error"  # the config asked for something the model does not have
        fault = self.runner.scope.fault or next(
            (found for s in stages if s.failed and (found := machine_fault_in(s.error))), None
        )
        if fault is not None and status == "failed" and not pushed:
            status = "aborted"  # the machine failed the run, not the model: exit 3
            error = f"cannot finish: {fault}; nothing pushed. Fix: free space and run again"
        report = build_report(
            status=status,
            pushed=pushed,
            version=version,
            stages=stages,
            model=self.job.config.model,
            test_model=self.job.test_model,
            platform=self.job.spec.kind,
            ai_usage=self.runner.scope.usage().to_dict(),
            error=error,
        )
        report["live_version"] = self.live_version
        return report

    def task_stage(self, name: str, call: Callable[[], State]) -> StageResult:
        """A stage that is one task: its final state decides the stage."""
        return self.runner.run(name, call)


def _run(run: _Run) -> dict[str, Any]:
    """Every stage of one run; returns the report. Never pushes after a failure."""
    job = run.job
    first = run.task_stage("preflight", lambda: preflight(job, return_state=True))
    if first.failed:
        return run.report("error", error=first.error)
    if job.options.official_push:
        return _push_official(run)
    if job.options.no_push:
        if job.options.push_official_model:
            get_run_logger().warning(
                "--no-push wins over --push-official-model: the normal checks run, "
                "and nothing is pushed to %s or %s",
                job.model,
                job.config.official_model or "the official model",
            )
        get_run_logger().info("test-only mode: nothing will be pushed to %s", job.model)
        return _checks_and_push(run)
    # A run that may push holds the model's lease from its first check to its push. It is a
    # stage (live, in the table, in the report) only when another run held it or left it
    # behind; a lease taken at once is not news, and is shown nowhere.
    try:
        with model_lease(job.spec, job.model, on_wait=_waiting(run)) as lease:
            notes = [f"waited {lease.waited:.1f} s for another run of {job.model}"]
            notes = notes[: lease.waited > 0] + ([lease.took_over] if lease.took_over else [])
            if notes:
                stage = StageResult("model lease", "passed", detail="; ".join(notes))
                run.runner.finish(stage.timed(lease.waited))
            run.runner.scope.require(lease.lost, f"the lease on {job.model} lapsed")
            return _checks_and_push(run)
    except LeaseTimeout as exc:
        run.runner.finish(StageResult("model lease", "failed", f"nothing pushed: {exc}"))
        return run.report("failed", error=f"model lease: {exc}")


def _waiting(run: _Run) -> Callable[[str], None]:
    """Say it in the run's log and on the terminal: a run waiting silently looks hung."""

    shown: list[bool] = []

    def say(message: str) -> None:
        if not shown:  # the lease becomes a stage the moment there is a wait to show
            shown.append(True)
            run.runner.begin("model lease")
        get_run_logger().warning(message)
        run.runner.scope.observer.note(message)

    return say


def _push_official(run: _Run) -> dict[str, Any]:
    """--push-official-model: push the directory to official_model, and do nothing else."""
    job = run.job
    ref = job.config.official_model or ""
    ensured = ensure_model(job.spec, ref, job.config.test_hardware, return_state=True)
    if not ensured.is_completed():
        get_run_logger().warning(
            "could not make sure %s exists (%s); pushing anyway", ref, ensured.message
        )
    # Confirmed like a tested push (tasks.confirm), by its version alone: nothing was
    # tested, so there is no tested schema to hold the pushed one to.
    landed = push_confirmed(
        run.runner,
        "push official model",
        lambda: push_official(
            job.spec, ref, job.cog_dir, job.config.push_options(), return_state=True
        ),
        lambda pushed: confirm_push(job.spec, ref, pushed, None, return_state=True),
    )
    version = landed.version
    if landed.unconfirmed is not None:
        return run.report(
            "unconfirmed", pushed=True, version=version, error=landed.unconfirmed.error
        )
    status = overall_status(run.runner.stages)
    return run.report(
        status, pushed=version is not None, version=version, error=_first_errors(run) or None
    )


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


def _checks_and_push(run: _Run) -> dict[str, Any]:
    job = run.job
    config, options = job.config, job.options
    outcomes: list[CheckOutcome] = []
    runner = {"task_runner": ThreadPoolTaskRunner(max_workers=config.parallel)}
    test_version: str | None = None
    subflows = {"train": train_flow, "predict": predict_flow}
    for mode in config.modes:
        if run.runner.scope.stopped() or (options.fail_fast and any(o.failed for o in outcomes)):
            break  # e.g. the test push failed: there is nothing to check
        with without_heartbeats():
            state = subflows[mode].with_options(**runner)(job, test_version, return_state=True)
        outcomes.append(_outcome(state, mode))
        test_version = outcomes[-1].test_version or test_version
    for item in outcomes:
        run.runner.stages += item.stages
    run.live_version = next((o.baseline for o in outcomes if o.baseline), None)
    if run.runner.failed:
        get_run_logger().error("checks failed: nothing pushed to %s", config.model)
        return run.report("failed", version=test_version, error=_first_errors(run))
    scope = run.runner.scope
    if scope.stopped() and scope.broken_requirement() is None:
        # stopped from outside before its checks were done (another variant failed under
        # --fail-fast): never a pass, and not said as a missing version
        why = f"stopped before its checks were done: {scope.reason}"
        run.runner.finish(StageResult("checks", "skipped", detail=why))
        return run.report("failed", version=test_version, error=why)
    if options.no_push:
        return run.report("passed", version=test_version)
    tested_digest = next((o.tested_digest for o in outcomes if o.tested_digest), None)
    if test_version is None or tested_digest is None:
        return run.report("failed", error="no tested version to push")
    held = hold_reason(run.runner.scope.stopped)  # a variant waits for the others' checks
    if held == STOPPING:
        held = f"the run stopped: {run.runner.scope.reason}"
    if held is not None:
        run.runner.finish(StageResult("push", "skipped", detail=f"not pushed: {held}"))
        report = run.report("passed", version=test_version)
        report["held"] = held
        return report
    baseline = next((o.baseline for o in outcomes if o.test_version), None)
    _recheck_baseline(run, baseline, test_version)
    if run.runner.failed:
        return run.report("failed", version=test_version, error=_first_errors(run))
    broken = run.runner.scope.broken_requirement() or (
        run.runner.scope.reason if run.runner.scope.stopped() else None
    )
    if broken:  # e.g. the lease lapsed: another run may be pushing this model right now
        run.runner.finish(StageResult("push", "failed", f"nothing pushed: {broken}"))
        return run.report("failed", version=test_version, error=_first_errors(run))
    tested = Tested(job.test_model, test_version, tested_digest)
    # Confirm what landed before anything points at it: a push that cannot be shown to be
    # the model's latest version, with the tested schema, is never a plain success (exit 4).
    landed = push_confirmed(
        run.runner,
        "push",
        lambda: push_version(
            job.spec, config.model, job.cog_dir, config.push_options(), tested, return_state=True
        ),
        lambda pushed: confirm_push(job.spec, config.model, pushed, tested, return_state=True),
    )
    if landed.version is None:
        return run.report("failed", version=test_version, error=landed.stage.error)
    version = landed.version
    deployment = config.deployment_spec()
    if landed.unconfirmed is not None:
        named = f"{deployment.owner}/{deployment.name}" if deployment is not None else None
        if named is not None:
            run.runner.finish(
                StageResult("deployment", "skipped", detail="not updated: the push is unconfirmed")
            )
        why = not_updated(landed.unconfirmed.error or "unconfirmed", named)
        return run.report("unconfirmed", pushed=True, version=version, error=why)
    if deployment is not None:
        dep_stage = run.task_stage(
            "deployment",
            lambda: update_deployment(
                job.spec, deployment, config.model, version, return_state=True
            ),
        )
        if dep_stage.failed:
            return run.report("failed", pushed=True, version=version, error=dep_stage.error)
    return run.report("passed", pushed=True, version=version)


def _recheck_baseline(run: _Run, baseline: str | None, test_version: str) -> None:
    """Never push against a stale baseline: if the live model's latest version is no longer
    the one the checks compared against, check compatibility against it again."""
    job = run.job
    live = latest_version(job.spec, job.model)
    if (live.id if live else None) == baseline:
        return
    if live is None:
        run.runner.finish(StageResult("live version", "failed", f"{job.model} lost its versions"))
        return
    get_run_logger().warning(
        "the live version of %s changed during the run (%s -> %s): checking compatibility again",
        job.model,
        (baseline or "none")[:12],
        live.id[:12],
    )
    new_doc = version_schema(job.spec, job.test_model, test_version)
    for view in job.config.views:
        name = view.stage(f"schema compatibility (against {live.id[:12]})")
        run.task_stage(
            name,
            lambda name=name, view=view: compatibility(
                live.openapi_schema,
                new_doc,
                view.train,
                job.config.ignore_schema_compatibility,
                name,
                return_state=True,
            ),
        )


def _first_errors(run: _Run) -> str:
    return "; ".join(f"{s.name}: {s.error}" for s in run.runner.stages if s.failed)


def write_outputs(report: dict[str, Any], options: RunOptions) -> list[str]:
    """Write the JSON report and JUnit file the options ask for; the paths written."""
    written: list[str] = []
    if options.report_json:
        _replace(Path(options.report_json), json.dumps(report, indent=2, default=str) + "\n")
        written.append(options.report_json)
    if options.junit_xml:
        _replace(Path(options.junit_xml), junit_xml(report) + "\n")
        written.append(options.junit_xml)
    return written


def _replace(path: Path, text: str) -> None:
    """Write `path` whole or not at all: a full disk leaves the old file (or none), never
    an empty or half one that a CI step would read as a report. A device such as /dev/stdout
    is written in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_file():
        path.write_text(text, encoding="utf-8")
        return
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        scratch.unlink(missing_ok=True)


def _write_or_warn(report: dict[str, Any], options: RunOptions, observer: Observer) -> None:
    """A report that cannot be written (a full disk) does not change the verdict, nor what
    was pushed: it is said in one line, and the run ends as it would have."""
    try:
        write_outputs(report, options)
    except OSError as exc:
        where = exc.filename or options.report_json or options.junit_xml
        message = f"could not write {where}: {exc.strerror or exc}"
        get_run_logger().warning(message)
        observer.note(message)


def _abandoned(
    scope: RunScope, config: Config, options: RunOptions, spec: PlatformSpec, ui_url: str | None
) -> Callable[[str], dict[str, Any]]:
    """The report of a run that cannot finish (its Prefect server is gone): the stages it
    finished, and why it stopped; written where the options ask (flows.server_watch)."""

    def write(reason: str) -> dict[str, Any]:
        pushes = scope.pushes()
        stage = StageResult("prefect server", "failed", reason)
        report = build_report(
            status="aborted",
            pushed=bool(pushes),
            version=pushes[-1][1] if pushes else None,
            stages=[*scope.stages_so_far(), stage],
            model=config.model,
            test_model=config.resolved_test_model,
            platform=spec.kind,
            ai_usage=scope.usage().to_dict(),
            error=reason,
        )
        report["flow_run_url"] = ui_url
        report["registry"] = spec.registry
        report["retries"] = scope.retries()
        report["written"] = write_outputs(report, options)
        return report

    return write


def error_report(config: Config, spec: PlatformSpec, error: str) -> dict[str, Any]:
    """The report of a run that could not check anything (bad input found late)."""
    return build_report(
        status="error",
        pushed=False,
        version=None,
        stages=[],
        model=config.model,
        test_model=config.resolved_test_model,
        platform=spec.kind,
        error=error,
    )


def verdict_line(report: dict[str, Any]) -> str:
    """The run's outcome in one short line: the failed stages, not their whole errors."""
    failed = [s["name"] for s in report["stages"] if s["status"] == "failed"]
    if report["status"] == "unconfirmed":  # pushed: never "nothing pushed", never a success
        return f"cog-safe-push: {unconfirmed_line(report)}"
    if report["status"] in ("error", "aborted"):
        word = report["status"]
        return f"cog-safe-push {word}: {(report.get('error') or '').splitlines()[0][:300]}"
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
    platform: PlatformSpec | None = None,
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
        platform: Where models live, as the caller resolved it (the command line does);
            empty: resolved where the flow runs, from `options.platform` and the environment.
    """
    options = options or RunOptions()
    if TEST_ONLY_TAG in (flow_run.tags or []):  # the nightly deployment never pushes
        options = options.model_copy(update={"no_push": True, "push_official_model": False})
    spec = platform or resolve_spec(
        options.platform, python=options.python, verbosity=options.verbose
    )
    get_run_logger().info("cog-safe-push: %s", platform_reason(spec, options.platform is not None))
    ui_url = url_for("flow-run", obj_id=flow_run.id) if flow_run.id else None
    label_flow_run(flow_run.id, tags=run_tags(spec.kind, options, list(config.modes)))
    with own_heartbeats(), run_scope() as scope:
        scope.on_abandon = _abandoned(scope, config, options, spec, ui_url)
        scope.observer.run_started(ui_url)
        try:
            with (
                scope.cancel_on_signals(),
                checkout(source, git_ref, subdirectory, allowed_sources or ()) as cog_dir,
            ):
                job = Job(
                    config=config,
                    options=options,
                    spec=spec,
                    cog_dir=cog_dir,
                    # a deployment (schedule, event, the UI) is there to check: never reuse
                    reuse_verdicts=deployment.id is None,
                )
                report = _run(_Run(job, StageRunner(scope, options.fail_fast)))
                settle()  # a verdict reached while the server was down is not the model's
        except UsageError as exc:
            report = error_report(config, spec, str(exc))
        report["flow_run_id"] = str(flow_run.id) if flow_run.id else None
        report["flow_run_url"] = ui_url
        report["registry"] = spec.registry  # where a local run's versions went (else None)
        report["retries"] = scope.retries()  # calls Prefect retried: attempts and why
        report["pictures"] = scope.pictures()  # artifact pages the summary links
        scope.report = report
        observer = scope.observer
    _write_or_warn(report, options, observer)
    label_flow_run(flow_run.id, name=run_name(config.model, report["version"], report["status"]))
    publish_report(report)
    if report["status"] != "passed":
        message = verdict_line(report)
        failure = RunFailed(message, report, EXIT_CODES.get(report["status"], 1))
        return Failed(message=message, data=failure)  # type: ignore[return-value]
    return report
