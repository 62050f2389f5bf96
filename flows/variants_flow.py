"""The safe-push-variants flow: several configs (variants of one model: sizes, hardware,
fine-tunes) checked in one invocation, each as a safe-push subflow of its own, all at once.

- One budget: every prediction of every variant holds a slot of one shared `parallel`
  budget (tasks.core.budget), so N variants never run N times the predictions at once.
- Own leases: each variant's subflow takes its own model's lease as a single run does, and
  no two variants may write to one model (tasks.core.variants.check_variants).
- All or none: by default a variant whose checks passed waits for the others before it
  pushes, and pushes only if none failed (flows.push_gate); `push_passed_variants` pushes
  each variant that passed.
- One report: a row per variant, every stage under its variant's name (tasks.report.variants).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.utilities.urls import url_for

from flows.heartbeats import own_heartbeats, without_heartbeats
from flows.json_flow import flow
from flows.push_gate import PushGate, seated
from flows.run_labels import label_flow_run, run_tags
from flows.safe_push_flow import (
    TEST_ONLY_TAG,
    error_report,
    report_of,
    safe_push,
    write_outputs,
)
from tasks.artifacts import artifact_key
from tasks.core.budget import shared_budget
from tasks.core.errors import EXIT_CODES, RunFailed
from tasks.core.options import RunOptions
from tasks.core.platform_data import PlatformSpec
from tasks.core.run_scope import (
    NullObserver,
    Observer,
    RunScope,
    current,
    open_runs,
    stop_on_signals,
    watched_by,
    watching,
)
from tasks.core.variants import Variant, check_variants
from tasks.platforms import resolve_spec
from tasks.report.variants import SEPARATOR, combine, variants_markdown, verdict


class _Named:
    """One variant's view of the shared live display: its stages under its own name. It also
    tells the variants flow when the variant's run exists (see `_start_in_turn`)."""

    def __init__(self, observer: Observer, name: str) -> None:
        self.observer = observer
        self.name = name
        self.prefix = f"{name}{SEPARATOR}"
        self.started = threading.Event()
        self.on_failure: Callable[[str], None] | None = None
        self.scope: RunScope | None = None  # the variant's run, once it started

    def run_started(self, ui_url: str | None) -> None:
        self.scope = current()  # called from inside the variant's run
        self.started.set()  # the invocation's own run link is the one shown

    def stop(self, reason: str) -> None:
        """Stop the variant's run: nothing new starts, and what is in flight is canceled."""
        scope = self.scope
        if scope is not None and not scope.stopped():
            scope.stop_now(reason)

    def stage_started(self, name: str, total: int | None) -> None:
        self.observer.stage_started(self.prefix + name, total)

    def prediction_done(self, stage: str, ok: bool) -> None:
        self.observer.prediction_done(self.prefix + stage, ok)

    def stage_finished(
        self, name: str, status: str, seconds: float, counts: tuple[int, int] | None = None
    ) -> None:
        self.observer.stage_finished(self.prefix + name, status, seconds, counts)
        if status == "failed" and self.on_failure is not None:
            self.on_failure(self.name)  # the first moment the variant is known to fail

    def note(self, message: str) -> None:
        self.observer.note(self.prefix + message)


def _one_variant(
    variant: Variant,
    gate: PushGate,
    options: RunOptions,
    spec: PlatformSpec,
    view: _Named,
    where: dict[str, Any],
) -> dict[str, Any]:
    """One variant's safe-push subflow, in a worker thread; its report whatever happened.
    The gate hears how it ended on every path, so that no other variant waits for it."""
    passed = False
    try:
        with seated(gate, variant.name), without_heartbeats(), watched_by(view):
            named = safe_push.with_options(
                flow_run_name=f"safe-push {variant.name}: {variant.config.model}"
            )
            state = named(
                config=variant.config, options=options, platform=spec, return_state=True, **where
            )
        result = report_of(state)
        if isinstance(result, BaseException):
            line = str(result).splitlines()[0] if str(result) else type(result).__name__
            result = error_report(variant.config, spec, line)
        passed = result["status"] == "passed"
        return result
    finally:
        gate.ended(variant.name, passed)


def _stop_the_others(views: list[_Named]) -> Callable[[str], None]:
    """--fail-fast with all or none: once one variant failed nothing will be pushed, so the
    others stop at once rather than spend predictions on a verdict that changes nothing."""

    def stop(failed: str) -> None:
        for view in views:
            if view.name != failed:
                view.stop(f"--fail-fast after variant {failed} failed")

    return stop


def _start_in_turn(view: _Named, future: Future, limit: float = 60.0) -> None:
    """Let a variant's run be created before the next variant's is: the managed server's
    SQLite refuses a flow run created while another is being written (a 503 that Prefect's
    client retries 2 s, then 4 s later), so variants started in the same instant would start
    seconds apart anyway. Waiting for the run to exist costs a fraction of a second."""
    deadline = time.monotonic() + limit
    while not view.started.wait(0.05) and not future.done() and time.monotonic() < deadline:
        pass


@flow(name="safe-push-variants", flow_run_name="safe-push variants", log_prints=True)
def safe_push_variants(
    variants: list[Variant],
    options: RunOptions | None = None,
    source: str = ".",
    git_ref: str | None = None,
    subdirectory: str | None = None,
    allowed_sources: list[str] | None = None,
    platform: PlatformSpec | None = None,
    push_passed_variants: bool = False,
) -> dict[str, Any]:
    """Check several variants of a model at once, each a safe-push subflow; push all or none.

    Args:
        variants: The configs to check, each with a name (its file's stem on the command line).
        options: How to run, for every variant: test-only, platform, seed, fail-fast, reports.
        source: The Cog directory every variant is built from: a path, or a git URL.
        git_ref: Branch, tag or commit to check out when `source` is a git URL.
        subdirectory: The Cog directory inside `source`, when it is not at the top.
        allowed_sources: Glob patterns `source` must match (set by a deployment).
        platform: Where models live, as the caller resolved it; empty: resolved here.
        push_passed_variants: Push each variant that passed even if another failed; by
            default nothing is pushed unless every variant passed.
    """
    options = options or RunOptions()
    if TEST_ONLY_TAG in (flow_run.tags or []):  # the nightly deployment never pushes
        options = options.model_copy(update={"no_push": True, "push_official_model": False})
    check_variants(variants)
    spec = platform or resolve_spec(
        options.platform, python=options.python, verbosity=options.verbose
    )
    names = [variant.name for variant in variants]
    modes = sorted({mode for variant in variants for mode in variant.config.modes})
    label_flow_run(flow_run.id, tags=[*run_tags(spec.kind, options, modes), "variants"])
    ui_url = url_for("flow-run", obj_id=flow_run.id) if flow_run.id else None
    observer = watching()
    if observer is not None:
        observer.run_started(ui_url)
    size = max(variant.config.parallel for variant in variants)
    get_run_logger().info(
        "%d variants (%s), at most %d predictions at once; %s",
        len(variants),
        ", ".join(names),
        size,
        "each variant that passes is pushed"
        if push_passed_variants
        else "nothing is pushed unless every variant passes",
    )
    child = options.model_copy(update={"report_json": None, "junit_xml": None})
    gate = PushGate(names, push_passed=push_passed_variants)
    where = {
        "source": source,
        "git_ref": git_ref,
        "subdirectory": subdirectory,
        "allowed_sources": allowed_sources,
    }
    with (
        own_heartbeats(),
        shared_budget(size) as budget,
        stop_on_signals(open_runs),  # the variants' runs live in worker threads
        ThreadPoolExecutor(len(variants), thread_name_prefix="variant") as pool,
    ):
        futures = []
        views = [_Named(observer or NullObserver(), variant.name) for variant in variants]
        if options.fail_fast and not push_passed_variants:
            gate.on_failure = _stop_the_others(views)  # a variant that ended failed
            for view in views:  # ... or a check that failed in one still running
                view.on_failure = gate.on_failure
        for variant, view in zip(variants, views, strict=True):
            futures.append(
                pool.submit(
                    copy_context().run, _one_variant, variant, gate, child, spec, view, where
                )
            )
            _start_in_turn(view, futures[-1])
        reports = {name: future.result() for name, future in zip(names, futures, strict=True)}
    report = combine(reports, push_passed_variants)
    report["flow_run_id"] = str(flow_run.id) if flow_run.id else None
    report["flow_run_url"] = ui_url
    report["budget"] = {"parallel": size, "most_at_once": budget.peak}
    try:
        report["written"] = write_outputs(report, options)
    except OSError as exc:  # a full disk changes neither the verdict nor what was pushed
        get_run_logger().warning("could not write %s: %s", exc.filename, exc.strerror or exc)
    create_markdown_artifact(
        variants_markdown(report),
        key=artifact_key("variants-" + "-".join(names)[:60], "summary"),
        description=f"cog-safe-push variants {report['status']}",
    )
    label_flow_run(flow_run.id, name=f"safe-push {len(variants)} variants · {report['status']}")
    if report["status"] != "passed":
        message = f"cog-safe-push {report['status']}: {verdict(report)}"
        failure = RunFailed(message, report, EXIT_CODES.get(report["status"], 1))
        return Failed(message=message, data=failure)  # type: ignore[return-value]
    return report
