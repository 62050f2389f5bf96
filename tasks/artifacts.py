"""Publishing the report as Prefect artifacts: summary, table, progress, links and images.

The report's outputs are bounded copies already (tasks.core.bounded): an artifact shows a
cut output as its head and cut note, and never looks for images inside a cut marker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from tasks.core.bounded import is_cut
from tasks.core.errors import SafePushError
from tasks.core.run_scope import current
from tasks.outputs.files import is_file_output, media_kind, resolve
from tasks.report.images import images_markdown, thumbnails
from tasks.report.pictures import image_difference, picture_markdown, timing_chart, waveforms
from tasks.report.render import TIMINGS_PICTURE, markdown_summary, md, prediction_rows

MAX_LINKS = 20


def artifact_key(model: str, suffix: str) -> str:
    """Prefect keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{model}-{suffix}".lower()).strip("-")


def _local_copy(value: Any) -> Path | None:
    """The local copy of an output value that is a file the platform produced (it downloaded
    it), else None: a cut output, a plain value, or a file that cannot be found."""
    if is_cut(value) or not is_file_output(value):
        return None
    try:
        return resolve(value)
    except SafePushError:
        return None


def _image_files(value: Any) -> list[Path]:
    """Local copies of the image files in an output (the platform downloaded them)."""
    if is_cut(value):
        return []
    if is_file_output(value):
        path = _local_copy(value)
        return [path] if path is not None and media_kind(path) == "image" else []
    if isinstance(value, list):
        return [p for v in value for p in _image_files(v)]
    if isinstance(value, dict):
        return [p for v in value.values() for p in _image_files(v)]
    return []


def _prefect_ui() -> str:
    from prefect.settings import get_current_settings

    return str(get_current_settings().ui_url or "\0")


def publish_report(report: dict[str, Any]) -> None:
    model = report["model"]
    ui = _prefect_ui()
    create_markdown_artifact(
        markdown_summary(report),
        key=artifact_key(model, "summary"),
        description=f"cog-safe-push {report['status']}",
    )
    rows = prediction_rows(report)
    if rows:
        create_table_artifact(
            rows,
            key=artifact_key(model, "predictions"),
            description="Every prediction and its verdict",
        )
    links = 0
    for stage in report["stages"]:
        for p in stage["predictions"]:
            if (
                links < MAX_LINKS
                and p.get("url", "")
                and p["url"].startswith(("http://", "https://"))
                and not p["url"].startswith(ui)  # a task run's own page: already in the UI
            ):
                create_link_artifact(
                    p["url"],
                    link_text=f"{stage['name']} / {p['label']} ({p['verdict']})",
                    description=p["message"] or None,
                )
                links += 1
    images = [
        (f"{stage['name']} / {p['label']}", path)
        for stage in report["stages"]
        for p in stage["predictions"]
        for path in _image_files(p.get("output"))
    ]
    if images:
        kept, more = thumbnails(images)
        create_markdown_artifact(
            images_markdown(kept, more, md),
            key=artifact_key(model, "images"),
            description="Image outputs, kept as thumbnails (output URLs expire)",
        )


def _single_file(value: Any) -> Path | None:
    """The local copy of an output that is one file (or a list of one), else None."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return _local_copy(value)


def comparison_picture(live_output: Any, test_output: Any) -> tuple[str, bytes] | None:
    """For outputs that differ: (what it shows, a PNG) when both are one image (side by
    side, with a difference map) or one audio file (both waveforms); else None."""
    live, test = _single_file(live_output), _single_file(test_output)
    if live is None or test is None:
        return None
    kinds = {media_kind(live), media_kind(test)}
    try:
        if kinds == {"image"}:
            return "live and test side by side, with a difference map", image_difference(live, test)
        if kinds == {"audio"}:
            return "live (above) and test (below) waveforms", waveforms(live, test)
    except ValueError:
        return None  # a file the picture cannot read: the verdict's message says enough
    return None


def publish_comparison_picture(model: str, label: str, live_output: Any, test_output: Any) -> None:
    """A failed comparison of images or audio, as a picture (people would rather look); the
    summary links it from the failure's line."""
    found = comparison_picture(live_output, test_output)
    if found is None:
        return
    what, png = found
    artifact = create_markdown_artifact(
        picture_markdown(f"{label}: {what}", png, f"{label}: {what}"),
        key=artifact_key(model, f"{label}-picture"),
        description=f"{label}: outputs differ",
    )
    _remember(label, artifact)


def publish_timings(model: str, rows: list[tuple[str, float | None, float | None]]) -> None:
    """Prediction times of both versions on the same inputs: a slowdown seen at once."""
    if not rows:
        return
    artifact = create_markdown_artifact(
        picture_markdown("prediction times, live and test", timing_chart(rows), "prediction times"),
        key=artifact_key(model, "timings"),
        description="Prediction times of the live and the test version on the same inputs",
    )
    _remember(TIMINGS_PICTURE, artifact)


def _remember(label: str, artifact_id: Any) -> None:
    """The artifact's page in the UI, for the run's summary (tasks.report.render)."""
    ui = _prefect_ui()
    if artifact_id and ui != "\0":
        current().note_picture(label, f"{ui.rstrip('/')}/artifacts/artifact/{artifact_id}")


class ProgressArtifact:
    """A progress artifact that follows fuzz predictions as they finish."""

    def __init__(self, model: str, total: int, what: str) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.what = what
        self.id = create_progress_artifact(
            0.0, key=artifact_key(model, f"{what}-progress"), description=f"{what}: 0/{total}"
        )

    def advance(self) -> None:
        self.done += 1
        update_progress_artifact(
            self.id,
            100.0 * self.done / self.total,
            description=f"{self.what}: {self.done}/{self.total}",
        )
