"""Report building: JSON shape, markdown summary, table rows and JUnit XML."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from tasks.core.results import PredictionRecord, StageResult, stage_from_records
from tasks.report.render import (
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
    return build_report(
        status=overall_status(stages),
        pushed=False,
        version="abc",
        stages=stages,
        model="acme/hello",
        test_model="acme/hello-test",
        platform="local",
        ai_usage={"calls": 2, "input_tokens": 10, "output_tokens": 5},
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


def test_markdown_lists_stages_and_failures():
    text = markdown_summary(_report())
    assert "# cog-safe-push" in text and "failed" in text
    assert "| fuzz |" in text
    assert "## Failures" in text and "[id-fuzz 2](<https://r/p/2>)" in text
    assert "AI: 2 calls" in text
    assert "AAAA" * 20 not in text  # data URIs are shortened


def test_table_rows_one_per_prediction():
    rows = prediction_rows(_report())
    assert len(rows) == 2
    assert rows[1]["verdict"] == "failed" and rows[1]["reference"] == "https://r/p/2"
    assert len(rows[0]["inputs"]) <= 200


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
    assert "<img" not in rows[0]["message"] and rows[0]["message"].endswith("…")


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
