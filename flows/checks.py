"""The stages shared by the predict and train flows, composed from tasks.

Every stage runs and reports (as the seed tool does) unless --fail-fast is given, in which
case the first failure stops new work and cancels what is in flight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from prefect import get_run_logger, unmapped
from prefect.futures import as_completed

from tasks import abort
from tasks.ai import ai_available
from tasks.artifacts import Progress
from tasks.checks import check_case, compare_runs, compatibility, describe_case, schema_lint
from tasks.code_lint import code_lint
from tasks.cog_yaml import read_cog_yaml
from tasks.config import FuzzConfig
from tasks.fuzz import fuzz_task
from tasks.fuzz_inputs import generate_schema_inputs
from tasks.job import Job
from tasks.openapi import input_properties, input_schema, required_inputs
from tasks.platforms import RunResult, get_platform
from tasks.predictions import is_deterministic, outcome, run_model, run_verdict
from tasks.pushing import (
    ensure_model,
    latest_version,
    push_options,
    push_test_version,
    version_schema,
)
from tasks.results import PredictionRecord, StageResult, stage_from_records

Mode = Literal["predict", "train"]
DEFAULT_COMPARE_SEED = 42


@dataclass
class CheckOutcome:
    test_version: str | None
    stages: list[StageResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(s.failed for s in self.stages)


class _Run:
    """State of one flow's checks: the stages so far and whether to keep going."""

    def __init__(self, job: Job, mode: Mode) -> None:
        self.job = job
        self.mode = mode
        self.train = mode == "train"
        self.prefix = "train " if self.train else ""
        self.outcome = CheckOutcome(test_version=None)
        self.logger = get_run_logger()
        section = job.config.train if self.train else job.config.predict
        self.timeout = float(
            (section.train_timeout if self.train else section.predict_timeout) if section else 300
        )
        self.fuzz = (section.fuzz if section else None) or FuzzConfig(iterations=0)
        self.destination = job.config.resolved_destination if self.train else None

    def name(self, stage: str) -> str:
        return self.prefix + stage

    def add(self, stage: StageResult) -> bool:
        """Record a stage; False when the run must stop (fail-fast after a failure)."""
        self.outcome.stages.append(stage)
        log = self.logger.error if stage.failed else self.logger.info
        log("%s: %s%s", stage.name, stage.status, f" - {stage.error}" if stage.error else "")
        for warning in stage.warnings:
            self.logger.warning("%s: %s", stage.name, warning)
        if stage.failed and self.job.options.fail_fast:
            abort.request_stop(f"--fail-fast after {stage.name} failed")
            get_platform(self.job.spec).cancel_all()
            return False
        return True

    def record(
        self, stage: str, label: str, inputs: dict[str, Any], result: RunResult
    ) -> PredictionRecord:
        return PredictionRecord(
            stage=self.name(stage),
            label=label,
            inputs=inputs,
            verdict="passed",
            status=result.status,
            seconds=result.seconds,
            id=result.id or None,
            url=result.url,
            output=result.output,
            remote_output=result.remote_output,
        )

    def submit(
        self, ref: str, version: str, inputs: dict[str, Any], stop_on_failure: bool = True
    ) -> Any:
        return run_model.submit(
            self.job.spec,
            ref,
            version,
            inputs,
            self.timeout,
            destination=self.destination,
            stop_on_failure=stop_on_failure and self.job.options.fail_fast,
        )


def push_test_model(job: Job) -> tuple[StageResult, str | None]:
    """Ensure the test model exists and holds the working directory as its latest version."""
    started = time.monotonic()
    spec, ref = job.spec, job.test_model
    options = push_options(job.config)
    try:
        ensure_model(spec, ref, job.config.test_hardware)
        state = push_test_version(spec, ref, job.cog_dir, options, return_state=True)
        version = state.result()
        reused = state.name == "Cached"
        latest = latest_version(spec, ref)
        if (latest is None or latest.id != version) and reused:
            reused = False
            get_run_logger().info(
                "cached test version %s is no longer the latest; pushing again", version
            )
            version = push_test_version.with_options(refresh_cache=True)(
                spec, ref, job.cog_dir, options
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
        return failed, None
    detail = f"{'reused cached' if reused else 'pushed'} version {version}"
    stage = StageResult("push test model", "passed", seconds=time.monotonic() - started)
    stage.detail = detail
    return stage, version


def compare_inputs(
    job: Job, fuzz: FuzzConfig, live_doc: dict[str, Any], new_doc: dict[str, Any]
) -> dict[str, Any]:
    """The first test case's inputs, else required-only generated inputs (plus a seed when both
    versions take one, so that the comparison can be strict and the prediction cached)."""
    cases = job.test_cases("predict")
    if cases:
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


def _stage(name: str, records: list[PredictionRecord], started: float) -> StageResult:
    """Judge a stage; runs canceled because the run is stopping count as skipped."""
    if abort.stopped():
        for record in records:
            if record.status == "canceled":
                record.verdict, record.message = "skipped", abort.reason()
    return stage_from_records(name, records, time.monotonic() - started)


class _Pending:
    """A stage whose predictions are submitted; `collect` waits and judges them.

    Submitting every stage before collecting any lets compare, test-case and fuzz
    predictions share the `parallel` workers instead of waiting for each other.
    """

    def __init__(self, name: str, collect: Any) -> None:
        self.name = name
        self.collect = collect


def _submit_compare(
    run: _Run, live_ref: str, live_version: str, live_doc: dict, test_version: str, new_doc: dict
) -> _Pending:
    started = time.monotonic()
    inputs = compare_inputs(run.job, run.fuzz, live_doc, new_doc)
    live_future = run.submit(live_ref, live_version, inputs)
    test_future = run.submit(run.job.test_model, test_version, inputs)

    def collect() -> StageResult:
        live, test = outcome(live_future), outcome(test_future)
        record = compare_runs(
            live, test, inputs, is_deterministic(inputs), run.job.options.ai_model, run.timeout
        )
        return _stage(run.name("compare outputs"), [record], started)

    return _Pending(run.name("compare outputs"), collect)


def _submit_test_cases(run: _Run, test_version: str) -> _Pending:
    started = time.monotonic()
    cases = run.job.test_cases(run.mode)
    futures = [
        run.submit(
            run.job.test_model,
            test_version,
            dict(c.inputs),
            stop_on_failure=c.error_contains is None,
        )
        for c in cases
    ]

    def collect() -> StageResult:
        checks = []
        for index, (case, future) in enumerate(zip(cases, futures, strict=True), start=1):
            result = outcome(future)
            label = f"test case {index}: {describe_case(case.checker_dict())}"
            record = run.record("test cases", label, dict(case.inputs), result)
            case_dict = case.checker_dict() | {"inputs": dict(case.inputs)}
            checks.append(check_case.submit(case_dict, record, result, run.job.options.ai_model))
        records = []
        for check, case in zip(checks, cases, strict=True):
            try:
                records.append(check.result())
            except Exception as exc:  # noqa: BLE001 - a checker that could not decide fails
                records.append(
                    PredictionRecord(
                        run.name("test cases"),
                        describe_case(case.checker_dict()),
                        dict(case.inputs),
                        "failed",
                        "error",
                        message=f"checker error: {exc}",
                    )
                )
        return _stage(run.name("test cases"), records, started)

    return _Pending(run.name("test cases"), collect)


def _submit_fuzz(run: _Run, test_version: str, new_doc: dict[str, Any]) -> _Pending:
    started = time.monotonic()
    job, fuzz = run.job, run.fuzz
    options = job.options
    name = run.name("fuzz")
    generator = options.fuzz_generator or ("ai" if ai_available() else "schema")
    try:
        payloads = fuzz_task(options.refresh_fuzz)(
            input_schema=input_schema(new_doc, train=run.train),
            iterations=fuzz.iterations,
            fixed=dict(fuzz.fixed_inputs),
            disabled=list(fuzz.disabled_inputs),
            prompt=fuzz.prompt,
            generator=generator,
            seed=options.seed,
            batch_size=options.fuzz_batch_size,
            ai_model=options.ai_model,
        )
    except Exception as exc:  # noqa: BLE001 - generation trouble fails the stage, clearly
        failed = StageResult(name, "failed", f"could not generate fuzz inputs: {exc}")
        return _Pending(name, lambda: failed)
    run.logger.info("%s: %d inputs from the %s generator", name, len(payloads), generator)
    futures = run_model.map(
        unmapped(job.spec),
        unmapped(job.test_model),
        unmapped(test_version),
        payloads,
        unmapped(run.timeout),
        destination=unmapped(run.destination),
        stop_on_failure=unmapped(options.fail_fast),
    )

    def collect() -> StageResult:
        index_of = {id(f): i for i, f in enumerate(futures)}
        records: list[PredictionRecord | None] = [None] * len(futures)
        progress = Progress(job.model, len(futures), name.replace(" ", "-"))
        for future in as_completed(list(futures)):
            i = index_of[id(future)]
            result = outcome(future)
            record = run.record("fuzz", f"fuzz {i + 1}", payloads[i], result)
            ok, why = run_verdict(result, run.timeout)
            if not ok:
                record.verdict, record.message = "failed", why
            records[i] = record
            progress.advance()
        done = [r for r in records if r is not None]
        return _stage(name, done, started)

    return _Pending(name, collect)


def run_checks(job: Job, mode: Mode, test_version: str | None) -> CheckOutcome:
    """Lint, push the test model (unless given a version), then every check on it."""
    # Each (sub)flow run installs Prefect's SIGTERM handler; chain ours on top of it again.
    with abort.cancel_on_signals():
        return _run_checks(job, mode, test_version)


def _run_checks(job: Job, mode: Mode, test_version: str | None) -> CheckOutcome:
    run = _Run(job, mode)
    cog = read_cog_yaml(job.cog_dir)
    if not run.add(code_lint(str(cog.file_of(mode)), stage_name=run.name("code lint"))):
        return run.outcome
    if test_version is None:
        stage, test_version = push_test_model(job)
        if not run.add(stage) or test_version is None:
            return run.outcome
    run.outcome.test_version = test_version
    new_doc = version_schema(job.spec, job.test_model, test_version)
    if not run.add(schema_lint(new_doc, run.train, run.name("schema lint"))):
        return run.outcome
    live = latest_version(job.spec, job.model)
    if live is None:
        run.logger.info(
            "%s has no version yet: compatibility and output comparison skipped", job.model
        )
    else:
        stage = compatibility(
            live.openapi_schema,
            new_doc,
            run.train,
            job.config.ignore_schema_compatibility,
            run.name("schema compatibility"),
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
                run.outcome.stages.append(
                    StageResult(rest.name, "skipped", detail=f"skipped: {abort.reason()}")
                )
            break
    return run.outcome
