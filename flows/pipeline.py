"""The stages shared by the predict and train flows, composed from tasks.

Every stage runs and reports (as the seed tool does) unless --fail-fast is given, in which
case the first failure stops new work and cancels what is in flight. A stage whose check
fails ends its task run Failed; the record rides on the exception, so the flow still lists
every failure with its prediction reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from prefect import get_run_logger, unmapped
from prefect.futures import PrefectFuture, as_completed
from prefect.states import State

from tasks.ai.client import ai_available
from tasks.artifacts import Progress
from tasks.code_lint import code_lint
from tasks.compare_outputs import compare
from tasks.compatibility import compatibility
from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.config import FuzzConfig
from tasks.core.job import Job
from tasks.core.openapi import input_properties, input_schema, required_inputs
from tasks.core.results import (
    PredictionFailed,
    PredictionRecord,
    StageFailed,
    StageResult,
    stage_from_records,
)
from tasks.core.run_scope import current
from tasks.fuzz.generate import generate_schema_inputs
from tasks.fuzz.request import FuzzRequest
from tasks.fuzz_inputs import fuzz_task
from tasks.platforms.cog_dir import digest
from tasks.predictions import Judge, is_deterministic, predict
from tasks.schema_lint import schema_lint
from tasks.test_model import ensure_model, environment_check, push_test_version
from tasks.versions import latest_version, version_schema

Mode = Literal["predict", "train"]
DEFAULT_COMPARE_SEED = 42


@dataclass
class CheckOutcome:
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


def stage_from_state(state: State, name: str) -> StageResult:
    """The stage a task's final state stands for: its StageResult (carried by StageFailed when
    the task ended Failed), "passed" for a task that completed with another value, or the
    error of a task that failed unexpectedly."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, StageResult):
        return value
    if isinstance(value, StageFailed):
        return value.stage
    if state.is_completed():
        return StageResult(name, "passed")
    error = str(value) if isinstance(value, BaseException) else (state.message or "failed")
    return StageResult(name, "failed", error)


def record_from_future(
    future: PrefectFuture, stage: str, label: str, inputs: dict[str, Any]
) -> PredictionRecord:
    """The record of a finished prediction task, whatever its final state."""
    future.wait()
    value = future.state.result(raise_on_failure=False)
    if isinstance(value, PredictionRecord):
        return value
    if isinstance(value, PredictionFailed):
        return value.record
    return PredictionRecord(
        stage, label, inputs, "failed", "error", message=f"{type(value).__name__}: {value}"
    )


class _Run:
    """State of one flow's checks: the stages so far and whether to keep going."""

    def __init__(self, job: Job, mode: Mode) -> None:
        self.job = job
        self.mode = mode
        self.train = mode == "train"
        self.prefix = "train " if self.train else ""
        self.outcome = CheckOutcome(test_version=None)
        self.logger = get_run_logger()
        self.scope = current()
        self.totals: dict[str, int] = {}
        section = job.config.train if self.train else job.config.predict
        self.timeout = float(
            (section.train_timeout if self.train else section.predict_timeout) if section else 300
        )
        self.fuzz = (section.fuzz if section else None) or FuzzConfig(iterations=0)
        self.destination = job.config.resolved_destination if self.train else None

    def name(self, stage: str) -> str:
        return self.prefix + stage

    def fresh(self, task: Any) -> Any:
        """`task`, or with --refresh a copy that ignores and replaces its cache."""
        return refreshed(task, self.job)

    def started(self, stage: str, total: int | None = None) -> float:
        if total:
            self.totals[stage] = total
        self.scope.observer.stage_started(stage, total)
        return time.monotonic()

    def add(self, stage: StageResult) -> bool:
        """Record a stage; False when the run must stop (fail-fast after a failure)."""
        self.outcome.stages.append(stage)
        counts = None
        if stage.predictions:  # cached predictions never report themselves: set the counts
            failed = sum(1 for p in stage.predictions if p.verdict == "failed")
            done = sum(1 for p in stage.predictions if p.verdict != "skipped")
            counts = (max(done, self.totals.get(stage.name, 0) if done else 0), failed)
        self.scope.observer.stage_finished(stage.name, stage.status, stage.seconds, counts)
        log = self.logger.error if stage.failed else self.logger.info
        log("%s: %s%s", stage.name, stage.status, f" - {stage.error}" if stage.error else "")
        for warning in stage.warnings:
            self.logger.warning("%s: %s", stage.name, warning)
        if stage.failed and self.job.options.fail_fast:
            self.scope.request_stop(f"--fail-fast after {stage.name} failed")
            self.scope.cancel_inflight()
            return False
        return True

    def run_stage(self, name: str, call: Callable[[], State]) -> StageResult:
        started = self.started(name)
        stage = stage_from_state(call(), name)
        stage.seconds = time.monotonic() - started
        return stage

    def submit(
        self,
        ref: str,
        version: str,
        inputs: dict[str, Any],
        judge: Judge,
        stage: str,
        label: str,
    ) -> PrefectFuture:
        return self.fresh(predict).submit(
            self.job.spec,
            ref,
            version,
            inputs,
            self.timeout,
            judge,
            stage=stage,
            label=label,
            destination=self.destination,
            fail_fast=self.job.options.fail_fast,
        )


def refreshed(task: Any, job: Job) -> Any:
    return task.with_options(refresh_cache=True) if job.options.refresh else task


def push_test_model(job: Job) -> tuple[StageResult, str | None, str | None]:
    """Ensure the test model exists and holds the working directory as its latest version.

    Returns the stage, the test version and the content digest of what it holds: the final
    push checks that the directory still has this digest.
    """
    started = time.monotonic()
    spec, ref = job.spec, job.test_model
    options = job.config.push_options()
    tested = digest(job.cog_dir)
    try:
        ensure_model(spec, ref, job.config.test_hardware)
        state = refreshed(push_test_version, job)(
            spec, ref, job.cog_dir, options, tested, return_state=True
        )
        version = state.result()
        reused = state.name == "Cached"
        latest = latest_version(spec, ref)
        if (latest is None or latest.id != version) and reused:
            reused = False
            get_run_logger().info(
                "cached test version %s is no longer the latest; pushing again", version
            )
            version = push_test_version.with_options(refresh_cache=True)(
                spec, ref, job.cog_dir, options, tested
            )
            latest = latest_version(spec, ref)
        if latest is None or latest.id != version:
            latest_id = latest.id if latest else "none"
            raise RuntimeError(
                f"pushed version {version} but the latest version of {ref} is {latest_id}"
            )
    except Exception as exc:  # noqa: BLE001 - a failed push is a failed stage, reported
        failed = StageResult("push test model", "failed", str(exc))
        failed.seconds = time.monotonic() - started
        return failed, None, None
    detail = f"{'reused cached' if reused else 'pushed'} version {version[:12]}"
    stage = StageResult("push test model", "passed", seconds=time.monotonic() - started)
    stage.detail = detail
    stage.warnings = environment_check(spec, job.cog_dir)
    if stage.warnings:
        stage.status = "warning"
    return stage, version, tested


def unknown_inputs(job: Job, mode: Mode, doc: dict[str, Any]) -> StageResult | None:
    """Test-case and fixed fuzz inputs the model does not have: a config mistake (exit 2),
    found as soon as the test version's schema is known. Sent anyway, they would be ignored
    (or rejected) and the check would test something else than its author meant."""
    known = input_properties(doc, train=mode == "train")
    section = job.config.train if mode == "train" else job.config.predict
    problems = []
    for index, case in enumerate(job.test_cases(mode), start=1):
        extra = sorted(set(case.inputs) - set(known))
        if extra:
            problems.append(f"{mode} test case {index} sends {', '.join(extra)}")
    fuzz = section.fuzz if section else None
    if fuzz is not None:
        extra = sorted(set(fuzz.fixed_inputs) - set(known))
        if extra:
            problems.append(f"{mode} fuzz fixed_inputs set {', '.join(extra)}")
    if not problems:
        return None
    name = ("train " if mode == "train" else "") + "inputs"
    message = (
        f"{'; '.join(problems)}, which the model does not take; its inputs are: "
        f"{', '.join(known) or '(none)'}"
    )
    return StageResult(name, "failed", message, kind="usage")


def compare_inputs(
    job: Job, fuzz: FuzzConfig, live_doc: dict[str, Any], new_doc: dict[str, Any]
) -> dict[str, Any]:
    """The first test case that is expected to succeed (not an error_contains case), else
    required-only generated inputs (plus a seed when both versions take one, so that the
    comparison can be strict and the prediction cached)."""
    cases = [c for c in job.test_cases("predict") if c.error_contains is None]
    if cases:  # expected to succeed on both versions
        return dict(cases[0].inputs)
    schema = input_schema(live_doc)
    payload = generate_schema_inputs(
        schema,
        1,
        fixed=fuzz.fixed_inputs,
        disabled=fuzz.disabled_inputs,
        seed=job.options.seed or 0,
    )[0]
    keep = set(required_inputs(live_doc)) | set(fuzz.fixed_inputs)
    inputs = {k: v for k, v in payload.items() if k in keep}
    both_seeded = "seed" in input_properties(live_doc) and "seed" in input_properties(new_doc)
    if both_seeded and "seed" not in fuzz.disabled_inputs and "seed" not in inputs:
        inputs["seed"] = job.options.seed if job.options.seed is not None else DEFAULT_COMPARE_SEED
    return inputs


def _stage(run: _Run, name: str, records: list[PredictionRecord], started: float) -> StageResult:
    return stage_from_records(name, records, time.monotonic() - started)


class _Pending:
    """A stage whose predictions are submitted; `collect` waits and judges them.

    Submitting every stage before collecting any lets compare, test-case and fuzz
    predictions share the `parallel` workers instead of waiting for each other.
    """

    def __init__(self, name: str, collect: Callable[[], StageResult]) -> None:
        self.name = name
        self.collect = collect


def _submit_compare(
    run: _Run, live_ref: str, live_version: str, live_doc: dict, test_version: str, new_doc: dict
) -> _Pending:
    name = run.name("compare outputs")
    started = run.started(name, 2)
    inputs = compare_inputs(run.job, run.fuzz, live_doc, new_doc)
    judge = Judge("run")
    live_future = run.submit(live_ref, live_version, inputs, judge, name, "compare: live")
    test_future = run.submit(run.job.test_model, test_version, inputs, judge, name, "compare: test")

    def collect() -> StageResult:
        live = record_from_future(live_future, name, "compare: live", inputs)
        test = record_from_future(test_future, name, "compare: test", inputs)
        if "skipped" in (live.verdict, test.verdict):
            skipped = test if test.verdict == "skipped" else live
            return _stage(run, name, [skipped], started)
        state = compare(
            live,
            test,
            is_deterministic(inputs),
            run.job.options.ai_model,
            name,
            return_state=True,
        )
        record = state.result(raise_on_failure=False)
        if isinstance(record, PredictionFailed):
            record = record.record
        elif not isinstance(record, PredictionRecord):
            record = PredictionRecord(name, "live vs test", inputs, "failed", "error")
            record.message = f"comparison error: {state.message}"
        return _stage(run, name, [record], started)

    return _Pending(name, collect)


def _submit_test_cases(run: _Run, test_version: str) -> _Pending:
    name = run.name("test cases")
    cases = run.job.test_cases(run.mode)
    started = run.started(name, len(cases))
    labels = [
        f"{run.prefix}test case {index} ({case.describe()})"
        for index, case in enumerate(cases, start=1)
    ]
    futures = [
        run.submit(
            run.job.test_model,
            test_version,
            dict(case.inputs),
            Judge("case", case.checker_dict(), run.job.options.ai_model),
            name,
            label,
        )
        for case, label in zip(cases, labels, strict=True)
    ]

    def collect() -> StageResult:
        records = [
            record_from_future(future, name, label, dict(case.inputs))
            for future, label, case in zip(futures, labels, cases, strict=True)
        ]
        return _stage(run, name, records, started)

    return _Pending(name, collect)


def _submit_fuzz(run: _Run, test_version: str, new_doc: dict[str, Any]) -> _Pending:
    job, fuzz = run.job, run.fuzz
    options = job.options
    name = run.name("fuzz")
    started = run.started(name, fuzz.iterations)
    generator = options.fuzz_generator or ("ai" if ai_available() else "schema")
    try:
        request = FuzzRequest(
            input_schema=input_schema(new_doc, train=run.train),
            iterations=fuzz.iterations,
            generator=generator,
            fixed=dict(fuzz.fixed_inputs),
            disabled=list(fuzz.disabled_inputs),
            prompt=fuzz.prompt,
            seed=options.seed,
            batch_size=options.fuzz_batch_size,
            ai_model=options.ai_model,
        )
        payloads = fuzz_task(options.refresh_fuzz or options.refresh)(request, stage_name=name)
    except Exception as exc:  # noqa: BLE001 - generation trouble fails the stage, clearly
        failed = StageResult(name, "failed", f"could not generate fuzz inputs: {exc}")
        return _Pending(name, lambda: failed)
    run.logger.info("%s: %d inputs from the %s generator", name, len(payloads), generator)
    labels = [f"{run.prefix}fuzz {i}" for i in range(1, len(payloads) + 1)]
    futures = run.fresh(predict).map(
        unmapped(job.spec),
        unmapped(job.test_model),
        unmapped(test_version),
        payloads,
        unmapped(run.timeout),
        unmapped(Judge("fuzz")),
        stage=unmapped(name),
        label=labels,
        destination=unmapped(run.destination),
        fail_fast=unmapped(options.fail_fast),
    )

    def collect() -> StageResult:
        index_of = {id(f): i for i, f in enumerate(futures)}
        records: list[PredictionRecord | None] = [None] * len(futures)
        progress = Progress(job.model, len(futures), name.replace(" ", "-"))
        for future in as_completed(list(futures)):
            i = index_of[id(future)]
            records[i] = record_from_future(future, name, labels[i], payloads[i])
            progress.advance()
        return _stage(run, name, [r for r in records if r is not None], started)

    return _Pending(name, collect)


def run_checks(job: Job, mode: Mode, test_version: str | None) -> CheckOutcome:
    """Lint, push the test model (unless given a version), then every check on it."""
    # Each (sub)flow run installs Prefect's SIGTERM handler; chain ours on top of it again.
    with current().cancel_on_signals():
        return _run_checks(job, mode, test_version)


def _run_checks(job: Job, mode: Mode, test_version: str | None) -> CheckOutcome:
    run = _Run(job, mode)
    cog = read_cog_yaml(job.cog_dir)
    lint_name = run.name("code lint")
    lint = run.run_stage(
        lint_name,
        lambda: run.fresh(code_lint)(
            str(cog.file_of(mode)), job.cog_dir, stage_name=lint_name, return_state=True
        ),
    )
    if not run.add(lint):
        return run.outcome
    if test_version is None:
        run.started("push test model")
        stage, test_version, run.outcome.tested_digest = push_test_model(job)
        if not run.add(stage) or test_version is None:
            return run.outcome
    run.outcome.test_version = test_version
    new_doc = run.fresh(version_schema)(job.spec, job.test_model, test_version)
    wrong_inputs = unknown_inputs(job, mode, new_doc)
    if wrong_inputs is not None:
        run.add(wrong_inputs)
        return run.outcome
    lint_name = run.name("schema lint")
    lint = run.run_stage(
        lint_name, lambda: schema_lint(new_doc, run.train, lint_name, return_state=True)
    )
    if not run.add(lint):
        return run.outcome
    live = latest_version(job.spec, job.model)
    run.outcome.baseline = live.id if live else None
    if live is None:
        run.logger.info(
            "%s has no version yet: compatibility and output comparison skipped", job.model
        )
    else:
        compat_name = run.name("schema compatibility")
        stage = run.run_stage(
            compat_name,
            lambda: compatibility(
                live.openapi_schema,
                new_doc,
                run.train,
                job.config.ignore_schema_compatibility,
                compat_name,
                return_state=True,
            ),
        )
        if not run.add(stage):
            return run.outcome
    pending: list[_Pending] = []
    section = job.config.predict
    if live is not None and not run.train and (section is None or section.compare_outputs):
        pending.append(
            _submit_compare(run, job.model, live.id, live.openapi_schema, test_version, new_doc)
        )
    if run.train and (job.test_cases(mode) or run.fuzz.iterations > 0):
        hardware = job.config.train.destination_hardware if job.config.train else "cpu"
        ensure_model(job.spec, run.destination, hardware)
    if job.test_cases(mode):
        pending.append(_submit_test_cases(run, test_version))
    if run.fuzz.iterations > 0:
        pending.append(_submit_fuzz(run, test_version, new_doc))
    for item in pending:
        stage = item.collect()
        if not run.add(stage):
            # fail-fast: what is still queued returns at once, canceled; report it as skipped
            for rest in pending[pending.index(item) + 1 :]:
                rest.collect()
                skipped = StageResult(rest.name, "skipped", detail=f"skipped: {run.scope.reason}")
                run.outcome.stages.append(skipped)
                run.scope.observer.stage_finished(rest.name, "skipped", 0.0)
            break
    return run.outcome
