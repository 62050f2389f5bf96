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
    assert "## Failures" in text and "[id-fuzz 2](https://r/p/2)" in text
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
