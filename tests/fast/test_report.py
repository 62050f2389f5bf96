"""Report building: JSON shape, markdown summary, table rows and JUnit XML."""

from __future__ import annotations

import urllib.parse
from xml.etree import ElementTree as ET

from markdown_it import MarkdownIt

from tasks.core.results import PredictionRecord, StageResult, stage_from_records
from tasks.report.render import (
    CELL_LIMIT,
    build_report,
    junit_xml,
    markdown_summary,
    overall_status,
    prediction_rows,
)


def _record(
    label: str, verdict: str, message: str = "", url: str | None = None
) -> PredictionRecord:
    return PredictionRecord(
        stage="fuzz",
        label=label,
        inputs={"prompt": "a cat", "image": "data:image/png;base64," + "A" * 500},
        verdict=verdict,  # type: ignore[arg-type]
        status="succeeded" if verdict != "failed" else "failed",
        seconds=1.25,
        id=f"id-{label}",
        url=url,
        message=message,
        remote_output="https://example.com/out.png",
    )


def _report() -> dict:
    fuzz = stage_from_records(
        "fuzz",
        [_record("fuzz 1", "passed"), _record("fuzz 2", "failed", "error: boom", "https://r/p/2")],
        3.5,
    )
    stages = [StageResult("preflight", "passed"), StageResult("schema lint", "passed"), fuzz]
    return report_of(stages, ai_usage={"calls": 2, "input_tokens": 10, "output_tokens": 5})


def report_of(stages: list[StageResult], **fields: object) -> dict:
    """A report of acme/hello on the local platform; `fields` overrides the defaults."""
    defaults: dict = {"status": overall_status(stages), "pushed": False, "version": "abc"}
    return build_report(
        stages=stages,
        model="acme/hello",
        test_model="acme/hello-test",
        platform="local",
        **{**defaults, **fields},  # type: ignore[arg-type]
    )


def test_every_failure_is_listed_with_its_reference():
    stage = stage_from_records(
        "test cases",
        [
            _record("a", "failed", "x", "https://r/p/a"),
            _record("b", "passed"),
            _record("c", "failed", "y"),
        ],
        1.0,
    )
    assert stage.status == "failed"
    assert "2 of 3 failed" in stage.error
    assert "https://r/p/a" in stage.error and "id-c" in stage.error


def test_unverified_is_a_warning_not_a_silent_pass():
    stage = stage_from_records(
        "compare outputs", [_record("a", "unverified", "strings differ")], 1.0
    )
    assert stage.status == "warning" and "unverified" in stage.warnings[0]


def test_json_report_shape():
    report = _report()
    assert report["status"] == "failed" and report["pushed"] is False and report["version"] == "abc"
    assert [s["name"] for s in report["stages"]] == ["preflight", "schema lint", "fuzz"]
    fuzz = report["stages"][2]
    assert set(fuzz) >= {"name", "status", "error", "predictions"}
    assert fuzz["predictions"][1]["verdict"] == "failed"


def links(markdown: str) -> list[tuple[str, str]]:
    """(text, target) of every link a markdown renderer (markdown-it, as the UI's) sees,
    autolinks of bare URLs included."""
    parser = MarkdownIt("gfm-like")  # tables, and bare URLs made links (linkify), as the UI does
    found = []
    for block in parser.parse(markdown):
        children = block.children or []
        for i, token in enumerate(children):
            if token.type == "link_open":
                found.append((children[i + 1].content, token.attrGet("href") or ""))
    return found


def test_the_summary_answers_can_i_ship_first_and_lists_each_failure_once():
    text = markdown_summary(_report())
    first = text.splitlines()
    assert first[0] == "# cog-safe-push: failed"
    assert first[2] == "**No: 1 check(s) failed (fuzz); nothing pushed.**"
    assert "- compared against: nothing: the run ended before the comparison" in text
    assert "- pushed: nothing" in text
    assert "## Failures (1)" in text
    assert "- [fuzz / fuzz 2](<https://r/p/2>): error: boom" in text
    assert text.count("error: boom") == 1  # not repeated in an error bullet or the table
    assert "| fuzz | failed | 3.5 | 2 | 1 of 2 failed \\(listed above\\) |" in text
    assert "AI: 2 calls" in text
    assert "AAAA" * 20 not in text  # data URIs are shortened


def test_every_link_is_well_formed_and_points_at_the_failed_run():
    stages = [
        stage_from_records(
            "compare outputs",
            [
                _record(
                    "compare 1 (test case 1)",
                    "failed",
                    "outputs differ [see http://127.0.0.1:4280/runs/task-run/abc]",
                    "http://127.0.0.1:4280/runs/task-run/0193-red",
                )
            ],
            1.0,
        ),
        StageResult("schema compatibility", "failed", "input 'repeat' was removed"),
    ]
    error = (
        "compare outputs: 1 of 1 failed: compare 1 [http://127.0.0.1:4280/runs/task-run/0193-red]"
    )
    report = report_of(stages, error=error)
    text = markdown_summary(report)
    found = links(text)
    red = "http://127.0.0.1:4280/runs/task-run/0193-red"
    assert ("compare outputs / compare 1 (test case 1)", red) in found
    for _, target in found:
        parsed = urllib.parse.urlparse(target)
        assert parsed.scheme in ("http", "https") and parsed.netloc, target
        assert not target.endswith(("]", "\\", ")", ".")), target
        assert "\\" not in target and "[" not in target, target
    assert "- schema compatibility: input 'repeat' was removed" in text
    assert "why:" not in text  # the failures say it; the error is not repeated


def test_no_emoji_a_font_may_lack():
    for status in ("passed", "failed", "error", "aborted", "unconfirmed"):
        text = markdown_summary({**_report(), "status": status})
        odd = [c for c in text if ord(c) >= 0x2190 and c not in "…·"]
        assert not odd, (status, odd)


def test_a_first_push_says_what_was_skipped_and_where_it_went():
    stages = [
        StageResult("preflight", "passed"),
        StageResult(
            "schema compatibility",
            "skipped",
            detail="no live version of acme/hello yet: nothing to compare with",
        ),
        StageResult(
            "compare outputs",
            "skipped",
            detail="no live version of acme/hello yet: nothing to compare with",
        ),
        StageResult("push", "passed"),
    ]
    report = build_report(
        status="passed",
        pushed=True,
        version="3f2a1c" + "0" * 58,
        stages=stages,
        model="acme/hello",
        test_model="acme/hello-test",
        platform="local",
    )
    report["registry"] = "/home/u/.cache/cog-safe-push"
    text = markdown_summary(report)
    assert text.splitlines()[2] == "**Yes: every check passed.**"
    assert "- compared against: no live version: compatibility and comparison skipped" in text
    assert (
        "- pushed: acme/hello:`3f2a1c000000` to the local registry at /home/u/.cache/cog-safe-push"
        " (not to Replicate)"
    ) in text
    assert "| schema compatibility | skipped |" in text
    report.update(platform="replicate", live_version="9" * 64)
    text = markdown_summary(report)
    assert "- compared against: live version `999999999999` of acme/hello" in text
    assert "- pushed: acme/hello:`3f2a1c000000` to Replicate" in text


def test_table_rows_failed_first_in_scanning_order_and_no_cell_too_wide():
    report = _report()
    long_inputs = {"prompt": "p" * 5000, "n": 1}
    report["stages"][2]["predictions"][0]["inputs"] = long_inputs
    rows = prediction_rows(report)
    assert len(rows) == 2
    assert list(rows[0]) == ["name", "verdict", "reason", "link", "seconds", "inputs"]
    assert rows[0]["verdict"] == "failed" and rows[0]["link"] == "[open](<https://r/p/2>)"
    assert rows[0]["name"] == "fuzz 2" and rows[0]["reason"] == "error: boom"
    for row in rows:
        for column, value in row.items():
            shown = links(str(value))[0][0] if column == "link" and links(str(value)) else value
            assert len(str(shown)) <= CELL_LIMIT, (column, value)
    assert rows[1]["inputs"].endswith("…")  # cut; the JSON report has it whole
    assert report["stages"][2]["predictions"][0]["inputs"] == long_inputs


def test_junit_one_case_per_check_and_prediction():
    root = ET.fromstring(junit_xml(_report()))
    assert root.get("tests") == "5" and root.get("failures") == "2"
    fuzz = [s for s in root.iter("testsuite") if s.get("name") == "fuzz"][0]
    names = [c.get("name") for c in fuzz.iter("testcase")]
    assert names == ["fuzz", "fuzz 1", "fuzz 2"]
    failed = [c for c in fuzz.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["fuzz", "fuzz 2"]
    assert "boom" in failed[1].find("failure").get("message")


def test_outputs_and_errors_cannot_change_the_report():
    """Markdown or HTML in a model's output or error is shown as text, and long text is cut
    with a visible ellipsis; the JSON report keeps it whole."""
    hostile = "<img src=x onerror=alert(1)> **loud** | col [link](http://evil) " + "z" * 1000
    fuzz = stage_from_records("fuzz", [_record("fuzz 1", "failed", hostile)], 1.0)
    report = build_report(
        status="failed",
        pushed=False,
        version=None,
        stages=[fuzz],
        model="acme/hello",
        test_model="acme/hello-test",
        platform="local",
        error=hostile,
    )
    text = markdown_summary(report)
    assert "<img" not in text and "&lt;img" in text
    assert "**loud**" not in text and "\\*\\*loud\\*\\*" in text
    assert "[link](http://evil)" not in text
    assert "\\| col" in text and " | col" not in text  # a pipe is text, not a new column
    assert "…" in text and "z" * 700 not in text
    assert report["stages"][0]["predictions"][0]["message"] == hostile  # whole in the JSON
    rows = prediction_rows(report)
    assert "<img" not in rows[0]["reason"] and rows[0]["reason"].endswith("…")


def test_image_outputs_are_kept_as_bounded_inline_thumbnails(tmp_path):
    import numpy as np
    from PIL import Image

    from tasks.report.images import MAX_BYTES, MAX_IMAGES, images_markdown, thumbnails
    from tasks.report.render import md

    rng = np.random.default_rng(0)
    paths = []
    for i in range(MAX_IMAGES + 2):
        path = tmp_path / f"out{i}.png"
        Image.fromarray(rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8)).save(path)
        paths.append((f"fuzz {i}", path))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    kept, more = thumbnails([("broken", tmp_path / "broken.png"), *paths])
    assert len(kept) == MAX_IMAGES and more == 3
    assert kept[0].data_uri is None and "not kept" in kept[0].note
    for item in kept[1:]:
        assert item.data_uri and item.data_uri.startswith("data:image/jpeg;base64,")
        assert len(item.data_uri) * 3 / 4 <= MAX_BYTES * 1.01
    text = images_markdown(kept, more, md)
    assert text.count("![") == MAX_IMAGES - 1 and "3 more image(s) not kept" in text
