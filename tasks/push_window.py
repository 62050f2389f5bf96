"""The push window: what does not need the test version starts before the test push, and
runs while it does.

A real `cog push` builds an image and uploads it, minutes in which a run would otherwise
idle. Meanwhile:
  - a training's destination model is made sure of;
  - the platform predicts the schema the push will give (tasks.versions.predicted_schema);
  - the fuzz plan is made from that schema (edge cases, AI or offline generation);
  - the comparison inputs run on the live version, which also warms it up.
Once the push has returned, the real schema decides: the plan is refit where it no longer
fits (tasks.fuzzing.refit_plan), and the comparison chooses its inputs again from the real
schema; an input it already ran on live is not run twice (LiveSide).

The work runs on threads that carry the flow's context, so its task runs belong to the
flow run, and its live predictions go to the flow's shared pool of prediction workers. A
stopped run (--fail-fast, a failed push, Ctrl-C) starts nothing more from here, and its
in-flight predictions are canceled with the rest of the run's.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from prefect import get_run_logger

from tasks.core.openapi import input_schema
from tasks.core.platform_data import VersionInfo
from tasks.core.run_scope import current
from tasks.fuzz.compare_inputs import compare_inputs
from tasks.fuzzing import FuzzPlan, plan_fuzz, refit_plan
from tasks.live_side import LiveSide
from tasks.predictions import Predictions
from tasks.staging import ensure_model
from tasks.versions import predicted_schema

T = TypeVar("T")


@dataclass(frozen=True)
class Prepared:
    """What the window found out about the schema side: the doc it planned from, and the
    plan (None without fuzzing)."""

    doc: dict[str, Any] | None
    plan: FuzzPlan | None


class PushWindow:
    """Work started by `open_window`; its answers are read once the test version exists."""

    def __init__(
        self, predictions: Predictions, live: VersionInfo | None, content_digest: str
    ) -> None:
        self.predictions = predictions
        self.live = live  # the live version (None: the model has none yet)
        self.content_digest = content_digest  # of the Cog directory about to be pushed
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="push-window")
        self._destination: Future[None] | None = None
        self._prepared: Future[Prepared] | None = None
        self._live_side: LiveSide | None = None
        self._lock = threading.Lock()

    def _start(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        context = contextvars.copy_context()
        return self._pool.submit(context.run, fn, *args)

    # -- reading the answers (from the flow's thread)

    def destination_ready(self) -> None:
        """Wait until a training's destination model exists (trainings need it)."""
        assert self._destination is not None
        self._destination.result()

    def live_side(self) -> LiveSide | None:
        """The live side of the differential checks (None: no live version, or not asked for);
        the comparison inputs it already runs are started in the window."""
        live = self.live
        if live is None or not self.predictions.view.differential:
            return None
        with self._lock:
            if self._live_side is None:
                self._live_side = self._make_live_side(live)
            return self._live_side

    def predicted_doc(self) -> dict[str, Any] | None:
        assert self._prepared is not None
        return self._prepared.result().doc

    def plan_for(self, doc: dict[str, Any]) -> FuzzPlan | None:
        """The fuzz plan for the real schema `doc`: the window's, refit if the prediction was
        off (or made now, if there was no prediction)."""
        assert self._prepared is not None
        prepared = self._prepared.result()
        if self.predictions.view.fuzz.iterations <= 0:
            return None
        if prepared.plan is None or prepared.doc is None:
            return plan_fuzz(self.predictions, doc)
        train = self.predictions.view.train
        if input_schema(prepared.doc, train=train) == input_schema(doc, train=train):
            return prepared.plan
        return refit_plan(self.predictions, prepared.plan, doc)

    def close(self) -> None:
        """Wait for the window's own threads (their predictions live on in the shared pool)."""
        self._pool.shutdown(wait=True)

    # -- the work (on the window's threads)

    def _make_live_side(self, live: VersionInfo) -> LiveSide:
        job = self.predictions.job
        return LiveSide(self.predictions, job.model, live.id, live.openapi_schema)

    def _ensure_destination(self) -> None:
        job, view = self.predictions.job, self.predictions.view
        if view.destination and (view.test_cases or view.fuzz.iterations > 0):
            ensure_model(job.spec, view.destination, view.destination_hardware)

    def _prepare(self, known: dict[str, Any] | None) -> Prepared:
        job, view = self.predictions.job, self.predictions.view
        doc = known
        if doc is None:
            doc = predicted_schema(job.spec, job.test_model, job.cog_dir, self.content_digest)
        if doc is None:
            return Prepared(None, None)
        plan = None
        if view.fuzz.iterations > 0 and not current().stopped():
            plan = plan_fuzz(self.predictions, doc)
        self._warm_live(doc, plan)
        return Prepared(doc, plan)

    def _warm_live(self, doc: dict[str, Any], plan: FuzzPlan | None) -> None:
        """Start the comparison's live runs, as the comparison will label them."""
        view, job = self.predictions.view, self.predictions.job
        if not view.compare_outputs or current().stopped():
            return
        side = self.live_side()
        if side is None:
            return
        chosen = compare_inputs(
            view, side.doc, doc, job.options.seed, plan.generated if plan else ()
        )
        for index, item in enumerate(chosen, start=1):
            if current().stopped():
                return
            side.run(item.inputs, f"compare {index} ({item.source}): live")
        get_run_logger().info(
            "%d comparison input(s) started on the live version during the push", len(chosen)
        )


def open_window(
    predictions: Predictions,
    live: VersionInfo | None,
    known_doc: dict[str, Any] | None,
    content_digest: str,
) -> PushWindow:
    """Start the window's work. `known_doc`: the test version's schema, when the version
    exists already (nothing to predict); else the Cog directory (of `content_digest`) is
    about to be pushed, and the prediction is cached by that digest."""
    window = PushWindow(predictions, live, content_digest)
    window._destination = window._start(window._ensure_destination)
    window._prepared = window._start(window._prepare, known_doc)
    return window
