"""The artifacts a person opens after a failed run, read back from Prefect as the UI shows
them: links that work and lead to the red task run, cells that fit, counts that agree with
the JSON report and the terminal, runs named apart, and a picture where images differ."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt
from PIL import Image
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterId,
)

from tasks.report.render import CELL_LIMIT
from tests.helpers import copy_example, edit, run

pytestmark = pytest.mark.usefixtures("registry")

TASK_RUN = re.compile(r"/runs/task-run/([0-9a-f-]{36})$")


def read_back(report: dict[str, Any]) -> tuple[Any, list[Any], dict[str, str]]:
    """The flow run, its artifacts, and the state of every task run a summary link names."""

    async def read() -> tuple[Any, list[Any], dict[str, str]]:
        async with get_client() as client:
            flow_run = await client.read_flow_run(report["flow_run_id"])
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[report["flow_run_id"]])
                )
            )
            states = {}
            for artifact in artifacts:
                if artifact.type != "markdown":
                    continue
                for _, href in links(artifact.data):
                    found = TASK_RUN.search(href)
                    if found:
                        task_run = await client.read_task_run(found.group(1))
                        states[href] = task_run.state.type.value
            return flow_run, artifacts, states

    return asyncio.run(read())


def read_artifact(url: str) -> Any:
    """The artifact a summary link leads to (`…/artifacts/artifact/<id>`)."""
    artifact_id = url.rstrip("/").rsplit("/", 1)[-1]

    async def read() -> Any:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(id=ArtifactFilterId(any_=[artifact_id]))
            )
            return found[0]

    return asyncio.run(read())


def links(markdown: str) -> list[tuple[str, str]]:
    """(text, target) of every link, bare URLs included, as a GFM renderer finds them."""
    found = []
    for block in MarkdownIt("gfm-like").parse(markdown):
        children = block.children or []
        for i, token in enumerate(children):
            if token.type == "link_open":
                found.append((children[i + 1].content, token.attrGet("href") or ""))
    return found


def by_key(artifacts: list[Any], suffix: str) -> Any:
    found = [a for a in artifacts if (a.key or "").endswith(suffix)]
    assert len(found) == 1, [a.key for a in artifacts]
    return found[0]


def test_a_failed_run_reads_right_in_prefect(tmp_path):
    hello = copy_example("hello", tmp_path)
    assert run(hello)[0] == 0
    edit(hello / "predict.py", 'self.greeting = "Hello"', 'self.greeting = "Howdy"')
    code, report = run(hello, "--no-push")
    assert code == 1, report
    flow_run, artifacts, states = read_back(report)

    # the run has a name of its own, and tags
    assert flow_run.name == f"safe-push examples/hello · {report['version'][:6]} · failed"
    assert {"platform:local", "test-only", "predict"} <= set(flow_run.tags)

    summary = by_key(artifacts, "-summary").data
    lines = summary.splitlines()
    assert lines[0] == "# cog-safe-push: failed"
    assert lines[2].startswith("**No: 2 check(s) failed")
    assert "- compared against: live version `" in summary
    failed = [
        (stage["name"], p)
        for stage in report["stages"]
        for p in stage["predictions"]
        if p["verdict"] == "failed"
    ]
    assert f"## Failures ({len(failed)})" in summary
    # every link is well formed, and a link to a task run leads to a red one
    found = links(summary)
    for _, href in found:
        assert href.startswith("http://") and "\\" not in href and not href.endswith("]"), href
        assert "/runs/task-run/" in href or "/artifacts/artifact/" in href, href
    to_runs = [(text, href) for text, href in found if "/runs/task-run/" in href]
    assert len(to_runs) == len(failed)  # one link per failure, each to its red task run
    for text, href in to_runs:
        assert states.get(href) == "FAILED", (text, href, states.get(href))
    texts = {text for text, _ in to_runs}
    assert "compare outputs / compare 1 (test case 1)" in texts
    assert "test cases / test case 1 (exact_string)" in texts
    # the failure's position is counted as people count: Hello / Howdy differ at the 2nd
    assert "first difference at character 2" in summary

    table = by_key(artifacts, "-predictions").data
    rows = table if isinstance(table, list) else json.loads(table)
    predictions = [p for stage in report["stages"] for p in stage["predictions"]]
    assert len(rows) == len(predictions)
    assert [r["verdict"] for r in rows[: len(failed)]] == ["failed"] * len(failed)
    assert list(rows[0]) == ["name", "verdict", "reason", "link", "seconds", "inputs"]
    for row in rows:  # what each cell shows fits; a link shows "open" and leads to the run
        [(text, href)] = links(row["link"])
        assert text == "open" and "/runs/task-run/" in href
        assert max(len(str(v)) for k, v in row.items() if k != "link") <= CELL_LIMIT

    # the stage table's counts are the JSON report's
    compare = next(s for s in report["stages"] if s["name"] == "compare outputs")
    bad = sum(p["verdict"] == "failed" for p in compare["predictions"])
    row = f"| compare outputs | failed | {compare['seconds']:.1f} | {len(compare['predictions'])} |"
    assert row in summary and f"{bad} of {len(compare['predictions'])} failed" in summary


IMAGE_MODEL = """
from cog import BasePredictor, Input, Path
from PIL import Image


class Predictor(BasePredictor):
    def predict(self, size: int = Input(description="Side", default=64, ge=16, le=128)) -> Path:
        image = Image.new("RGB", (size, size), (255, 255, 255))
        image.paste((COLOUR), (size // 4, size // 4, size // 2, size // 2))
        out = Path("/tmp") / f"square-{size}.png"
        image.save(out)
        return out
"""


def test_a_changed_image_is_shown_side_by_side_with_a_difference_map(tmp_path):
    folder = tmp_path / "squares"
    folder.mkdir()
    (folder / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(IMAGE_MODEL.replace("COLOUR", "200, 0, 0"))
    (folder / "cog-safe-push.yaml").write_text(
        "model: acme/squares\npredict:\n  fuzz:\n    iterations: 0\n"
    )
    assert run(folder)[0] == 0
    (folder / "predict.py").write_text(IMAGE_MODEL.replace("COLOUR", "0, 0, 200"))
    code, report = run(folder, "--no-push")
    assert code == 1, report
    _, artifacts, _ = read_back(report)
    summary = by_key(artifacts, "-summary").data
    targets = dict(links(summary))
    assert "picture" in targets and "chart" in targets, summary  # linked from the summary
    picture = read_artifact(targets["picture"])
    assert picture.key.endswith("-picture")
    assert "live and test side by side, with a difference map" in picture.data
    chart = read_artifact(targets["chart"])
    assert chart.key.endswith("-timings") and "data:image/png;base64," in chart.data
    pictures = [picture]
    embedded = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", pictures[0].data)
    assert embedded, pictures[0].data[:200]
    picture = Image.open(io.BytesIO(base64.b64decode(embedded.group(1))))
    assert picture.width <= 720
    right_third = picture.convert("RGB").crop(
        (2 * picture.width // 3, 0, picture.width, picture.height)
    )
    assert max(max(px) for px in right_third.getdata()) > 200  # the difference map lights up
