"""Publishing the report as Prefect artifacts: summary, table, progress, links and images."""

from __future__ import annotations

import re
from typing import Any

from prefect.artifacts import (
    create_image_artifact,
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from tasks.report.render import markdown_summary, prediction_rows

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")
MAX_LINKS = 20


def artifact_key(model: str, suffix: str) -> str:
    """Prefect keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{model}-{suffix}".lower()).strip("-")


def _http_urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith(("http://", "https://")) else []
    if isinstance(value, list):
        return [u for v in value for u in _http_urls(v)]
    if isinstance(value, dict):
        return [u for v in value.values() for u in _http_urls(v)]
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
            for url in _http_urls(p.get("remote_output")):
                if url.lower().split("?")[0].endswith(IMAGE_EXTENSIONS):
                    create_image_artifact(url, description=f"{stage['name']} / {p['label']}")


class Progress:
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
