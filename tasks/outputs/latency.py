"""Latency as a signal: is the test version much slower than live on the same inputs? Pure.

Why the median of pairs: one slow prediction (a cold cache, a noisy neighbour) says little;
the median of the per-input ratios, over at least MIN_PAIRS inputs both versions ran, says
whether the new code is slower. The times are the model's own (Replicate's `predict_time`),
so a test version's cold boot or queueing does not count against it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from tasks.core.results import StageResult

MIN_PAIRS = 3
MIN_SECONDS = 0.005  # below this a prediction's time is noise, not a measure


def latency_stage(
    name: str,
    pairs: Sequence[tuple[float, float]],
    max_slowdown: float,
    blocking: bool,
) -> StageResult:
    """(live seconds, test seconds) per input -> a passed, warning or failed stage."""
    usable = [(live, test) for live, test in pairs if live >= 0 and test >= 0]
    if len(usable) < MIN_PAIRS:
        return StageResult(
            name,
            "passed",
            detail=f"{len(usable)} input(s) ran on both versions; {MIN_PAIRS} are needed to judge",
        )
    ratios = [max(test, MIN_SECONDS) / max(live, MIN_SECONDS) for live, test in usable]
    ratio = statistics.median(ratios)
    live_median = statistics.median(live for live, _ in usable)
    test_median = statistics.median(test for _, test in usable)
    detail = (
        f"test/live time {ratio:.2f}x (median of {len(usable)} inputs; live {live_median:.2f} s, "
        f"test {test_median:.2f} s)"
    )
    if ratio < max_slowdown:
        return StageResult(name, "passed", detail=detail)
    message = (
        f"the test version is {ratio:.1f}x slower than live (limit {max_slowdown:g}x): {detail}"
    )
    if blocking:
        return StageResult(name, "failed", message, detail=detail)
    return StageResult(name, "warning", warnings=[message], detail=detail)
