"""The live version's side of the differential checks: inputs run on the version users run
today, each once, shared by the stages that need it.

The comparison runs its inputs on live; the fuzz stage runs on live what failed on the test
version, to tell a regression from a failure live already had. The same input is never paid
for twice on live, except on purpose (`again`: the second run that shows whether live
repeats itself, never taken from a cache).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from prefect.futures import PrefectFuture

from tasks.core.openapi import input_schema
from tasks.fuzz.compare_inputs import payload_key
from tasks.fuzz.validate import validate_payload
from tasks.outputs.verdict import Judge
from tasks.predictions import Predictions, has_seed
from tasks.repeatable import is_repeatable, mark_repeatable

STAGE = "live version"


@dataclass
class LiveSide:
    """Runs on the live version `ref:version`, whose schema is `doc`."""

    predictions: Predictions
    ref: str
    version: str
    doc: dict[str, Any]
    _futures: dict[str, PrefectFuture] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accepts(self, inputs: dict[str, Any]) -> bool:
        """Whether live takes these inputs at all (a new input or a widened bound: no)."""
        return not validate_payload(inputs, input_schema(self.doc))

    def run(self, inputs: dict[str, Any], label: str) -> PrefectFuture:
        """The live run of `inputs`, submitted on first request."""
        key = payload_key(inputs)
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                future = self._submit(inputs, label, fresh=False)
                self._futures[key] = future
            return future

    def again(self, inputs: dict[str, Any], label: str) -> PrefectFuture:
        """A second, uncached run of `inputs`: does live give the same output twice?"""
        with self._lock:
            return self._submit(inputs, label, fresh=True)

    def repeated(self, inputs: dict[str, Any]) -> None:
        """Live gave the same output for `inputs` twice: later runs may replay it."""
        mark_repeatable(self.predictions.job.spec, self.ref, self.version, inputs)

    def _submit(self, inputs: dict[str, Any], label: str, fresh: bool) -> PrefectFuture:
        spec = self.predictions.job.spec
        replay = has_seed(inputs) or is_repeatable(spec, self.ref, self.version, inputs)
        # Its own stage name: live runs do not count as the asking stage's predictions.
        return self.predictions.submit(
            self.ref,
            self.version,
            dict(inputs),
            Judge("run"),
            STAGE,
            label,
            fresh=fresh,
            stops_run=False,  # live failing is evidence, never a reason to stop
            keep=True,
            replay=replay,
        )
