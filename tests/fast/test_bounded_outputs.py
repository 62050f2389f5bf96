"""Bounded output everywhere: every stored copy of a model output is at most OUTPUT_LIMIT
bytes or its cut marker, while the checks still see the whole output.

First the cut itself (pure), at and around the limit; then whole flows on the fake platform
with outputs of megabytes: the JSON report, the JUnit XML, the Prefect artifacts and
Prefect's stored results stay small and name the whole output's size and sha256, and two
outputs that differ only past the limit still differ.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

from tasks.core.bounded import (
    HEAD_CHARS,
    OUTPUT_LIMIT,
    bound,
    bound_text,
    cut_line,
    fits,
    is_cut,
    measure,
    preview,
)
from tasks.core.results import PredictionFailed, PredictionRecord, StageResult
from tasks.outputs.bounded import stored_record, stored_stage
from tests.helpers import cog_dir, openapi, prop, run_flow, stage

MB = 1 << 20
SMALL = 1 << 20  # what "under 1 MB" means for a stored file or artifact
MODEL, TEST = "acme/huge", "acme/huge-test"
DOC = openapi({"text": prop(default="hi"), "seed": prop("integer", default=None)})


def canonical(value) -> bytes:
    """The canonical text the limit and the digest are defined on (bounded.py's doc)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def assert_cut_of(marker, value) -> None:
    data = canonical(value)
    assert is_cut(marker), marker
    assert marker["size"] == len(data)
    assert marker["sha256"] == hashlib.sha256(data).hexdigest()
    assert marker["head"] == data.decode()[:HEAD_CHARS]
    assert len(json.dumps(marker).encode()) < OUTPUT_LIMIT


# --- the cut, pure ------------------------------------------------------------------------


def test_a_string_at_the_limit_is_kept_whole_and_one_byte_more_is_cut():
    at = "x" * OUTPUT_LIMIT
    assert bound(at) is at
    over = at + "y"
    marker = bound(over)
    assert_cut_of(marker, over)
    assert marker["type"] == "string" and marker["size"] == OUTPUT_LIMIT + 1


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_the_limit_counts_utf8_bytes_not_characters(char):
    width = len(char.encode())
    fitting = char * (OUTPUT_LIMIT // width)
    assert fits(fitting) and bound(fitting) is fitting
    over = fitting + char  # fewer characters than the limit, more bytes
    assert len(over) < OUTPUT_LIMIT or width == 1
    marker = bound(over)
    assert_cut_of(marker, over)
    assert marker["size"] == len(over) * width
    assert marker["head"] == over[:HEAD_CHARS]  # whole characters, never half a one


def _list_of_size(size: int) -> list[str]:
    """A list whose compact JSON is exactly `size` bytes: ["aaa…"] plus ,"a" items."""
    return ["a" * (size - 4)]


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_lists_and_dicts_are_measured_as_compact_json(extra):
    items = _list_of_size(OUTPUT_LIMIT + extra)
    assert len(canonical(items)) == OUTPUT_LIMIT + extra
    mapping = {"k": "b" * (OUTPUT_LIMIT + extra - 8)}  # {"k":"…"} is 8 bytes around it
    assert len(canonical(mapping)) == OUTPUT_LIMIT + extra
    for value, kind in ((items, "list"), (mapping, "object")):
        kept = bound(value)
        if extra <= 0:
            assert kept is value
        else:
            assert_cut_of(kept, value)
            assert kept["type"] == kind


def test_nested_unicode_structures_are_cut_whole_with_the_digest_of_their_json():
    value = {
        "z": [{"text": "ünïcødé " * 6000, "n": 1.5, "ok": True, "none": None}],
        "a": ["😀" * 4000, [1, 2, {"b": '\n"quoted"\t'}]],
    }
    marker = bound(value)
    assert_cut_of(marker, value)
    assert marker["type"] == "object" and marker["head"].startswith('{"a":["😀')
    assert measure(value) == (marker["size"], marker["sha256"])


def test_small_outputs_files_and_data_uris_under_the_limit_are_kept_as_they_are():
    small = [
        None,
        0,
        1.5,
        True,
        "",
        "hello",
        "https://replicate.delivery/abc/out.png",
        "file:///tmp/out.wav",
        "data:image/png;base64," + "A" * 1000,
        ["https://x/1.png", "https://x/2.png"],
        {"image": "file:///tmp/a.png", "caption": "a cat"},
    ]
    for value in small:
        assert bound(value) is value


def test_a_data_uri_over_the_limit_is_cut_like_any_string():
    uri = "data:image/png;base64," + "A" * (2 * OUTPUT_LIMIT)
    marker = bound(uri)
    assert_cut_of(marker, uri)
    assert marker["head"].startswith("data:image/png;base64,")


def test_a_cut_is_kept_as_it_is_and_reads_as_one_line():
    marker = bound("x" * (OUTPUT_LIMIT * 3))
    assert bound(marker) is marker
    line = cut_line(marker, 200)
    assert len(line) <= 200
    assert line.endswith(f"[cut: {OUTPUT_LIMIT * 3:,} bytes, sha256 {marker['sha256']}]")
    assert not is_cut({"truncated": True, "head": "a model's own dict"})


def test_preview_is_the_start_of_json_dumps_without_writing_the_rest():
    values = [{"b": [1, "ü", None], "a": {"c": 1.25}}, ["x" * 50, 2], 7, "text"]
    for value in values:
        whole = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for chars in (1, 5, 17, 1000):
            assert preview(value, chars) == whole[:chars]


def test_diagnostic_text_keeps_its_head_and_tail_and_says_what_was_cut():
    logs = "start\n" + "noise\n" * 30000 + "Traceback: the real error"
    kept = bound_text(logs)
    assert isinstance(kept, str) and len(kept.encode()) < OUTPUT_LIMIT
    assert kept.startswith("start\n") and kept.endswith("the real error")
    digest = hashlib.sha256(logs.encode()).hexdigest()
    assert f"[cut: {len(logs):,} bytes, sha256 {digest}]" in kept
    assert bound_text("short") == "short" and bound_text(None) is None


def test_measuring_and_cutting_a_huge_output_makes_no_copy_of_it():
    huge = "x" * (20 * MB)
    structured = {"chunks": ["y" * MB for _ in range(8)]}
    tracemalloc.start()
    try:
        assert not fits(huge) and not fits(structured)
        marker, other = bound(huge), bound(structured)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MB, f"{peak:,} bytes allocated to cut a 20 MB output"
    assert marker["size"] == 20 * MB and other["size"] == len(canonical(structured))


def test_a_stored_record_bounds_outputs_errors_and_logs_and_keeps_the_rest():
    huge = "x" * (3 * OUTPUT_LIMIT)
    record = PredictionRecord(
        "fuzz", "fuzz 1", {"text": "a"}, "failed", "failed", 1.5, "id", None, "v",
        message="boom " * 20000, output=huge, remote_output=huge,
        error="E" * (2 * OUTPUT_LIMIT), logs="L" * (2 * OUTPUT_LIMIT),
    )  # fmt: skip
    kept = stored_record(record)
    assert_cut_of(kept.output, huge)
    assert kept.remote_output is kept.output  # one output, cut once
    for text in (kept.error, kept.logs, kept.message):
        assert isinstance(text, str) and "[cut: " in text and len(text) < OUTPUT_LIMIT
    assert (kept.label, kept.verdict, kept.seconds) == ("fuzz 1", "failed", 1.5)
    assert kept.inputs == {"text": "a"}
    assert record.output is huge  # the record in memory keeps the whole output
    stage = stored_stage(StageResult("fuzz", "failed", "x", predictions=[record]))
    assert len(json.dumps(stage.to_dict()).encode()) < 4 * OUTPUT_LIMIT


def test_prefect_stores_a_prediction_bounded_through_its_serializer():
    from tasks.predictions import BoundedPickle

    huge = "x" * (5 * MB)
    record = PredictionRecord("fuzz", "fuzz 1", {}, "failed", "succeeded", output=huge)
    serializer = BoundedPickle()
    for value in (record, PredictionFailed(record)):
        blob = serializer.dumps(value)
        assert len(blob) < 2 * OUTPUT_LIMIT
        back = serializer.loads(blob)
        back_record = back if isinstance(back, PredictionRecord) else back.record
        assert_cut_of(back_record.output, huge)
    assert record.output is huge


# --- whole flows on the fake platform --------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path):
    return cog_dir(tmp_path)


@pytest.fixture
def storage(tmp_path) -> Iterator[Path]:
    """Prefect's result storage (and so its cache) in a directory of this test's own."""
    path = tmp_path / "prefect-results"
    path.mkdir()
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: str(path)}):
        yield path


def assert_small_files(directory: Path) -> None:
    files = [p for p in directory.rglob("*") if p.is_file()]
    big = {p.name: p.stat().st_size for p in files if p.stat().st_size >= SMALL}
    assert not big, f"stored results over 1 MB: {big}"


def _artifacts(flow_run_id: str) -> list:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )

    return asyncio.run(read())


def test_a_50_mb_output_leaves_every_stored_copy_small_with_its_size_and_digest(
    world, model_dir, tmp_path, storage
):
    size = 50_000_000
    digest = hashlib.sha256(b"x" * size).hexdigest()
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, lambda inputs: "x" * size)
    report_path, junit_path = tmp_path / "report.json", tmp_path / "junit.xml"
    cases = [
        {"inputs": {"text": "a", "seed": 1}},  # passes: the output is not checked
        {"inputs": {"text": "b", "seed": 1}, "exact_string": "nope"},  # fails: the checker saw it
        {"inputs": {"text": "c", "seed": 1}, "jq_query": f"length == {size}"},  # the whole output
    ]
    config = {
        "model": MODEL,
        "parallel": 2,
        "predict": {"test_cases": cases, "fuzz": {"iterations": 1}},
    }
    code, report = run_flow(
        world, model_dir, config, seed=1, no_push=True,
        report_json=str(report_path), junit_xml=str(junit_path),
    )  # fmt: skip
    assert code == 1, report

    # the JSON report: small, every output its cut marker
    assert report_path.stat().st_size < SMALL
    written = json.loads(report_path.read_text())
    predictions = (
        stage(written, "test cases")["predictions"] + stage(written, "fuzz")["predictions"]
    )
    assert len(predictions) == 4
    for p in predictions:
        assert is_cut(p["output"]) and p["output"]["size"] == size
        assert p["output"]["sha256"] == digest and p["output"]["head"] == "x" * HEAD_CHARS
    failed = stage(written, "test cases")["predictions"][1]
    assert failed["verdict"] == "failed" and 'expected "nope", got "xxx' in failed["message"]
    assert stage(written, "test cases")["predictions"][2]["verdict"] == "passed"

    # the JUnit XML: small, each prediction's output as its marker
    assert junit_path.stat().st_size < SMALL
    outs = [e.text for e in ET.parse(junit_path).iter("system-out")]
    assert len(outs) == 4
    for text in outs:
        marker = json.loads(text.removeprefix("output: "))
        assert is_cut(marker) and marker["size"] == size and marker["sha256"] == digest

    # the artifacts, as Prefect has them: small (outputs are in the JSON report and JUnit,
    # above; the summary and the table say why each prediction failed, in a short reason)
    artifacts = _artifacts(report["flow_run_id"])
    assert {"markdown", "table"} <= {a.type for a in artifacts}
    for artifact in artifacts:
        assert len(json.dumps(artifact.data, default=str).encode()) < SMALL, artifact.key
    summary = next(a for a in artifacts if a.type == "markdown" and "summary" in (a.key or ""))
    assert "test case 2 (exact_string)" in summary.data and 'expected "nope"' in summary.data

    # Prefect's stored results (the failed run's record among them): all small
    assert any(storage.rglob("*"))
    assert_small_files(storage)


def _live_and_candidate(world, live, test) -> None:
    world.add_version(MODEL, DOC, live)
    world.set_schema(TEST, DOC)
    world.set_behaviour(TEST, test)


def _compare_config() -> dict:
    cases = [{"inputs": {"text": "a", "seed": 3}}]
    return {
        "model": MODEL,
        "parallel": 2,
        "predict": {"test_cases": cases, "fuzz": {"iterations": 0}},
    }


SIZE = 5 * MB  # far over the limit, small enough for a fast test
BASE = "x" * SIZE


def test_outputs_that_differ_only_past_the_limit_still_differ(world, model_dir, storage):
    _live_and_candidate(world, lambda inputs: BASE + "a", lambda inputs: BASE + "b")
    code, report = run_flow(world, model_dir, _compare_config(), no_push=True)
    assert code == 1, report
    compare = stage(report, "compare outputs")
    assert compare["status"] == "failed"
    assert f"first difference at character {SIZE + 1}" in compare["error"]
    shown = [p for p in compare["predictions"] if p["verdict"] == "failed"]
    assert shown and all(is_cut(p["output"]) for p in shown)
    # the stored copies begin alike; their digests tell them apart
    test_digest = hashlib.sha256((BASE + "b").encode()).hexdigest()
    assert {p["output"]["sha256"] for p in shown} == {test_digest}
    assert len(json.dumps(report).encode()) < SMALL
    assert_small_files(storage)


def test_a_rerun_compares_whole_outputs_again_never_a_cut_copy(world, model_dir, storage):
    """A seeded run over the limit is not cached (a cut copy could not be compared
    exactly): the rerun after a change runs live again and still sees the difference."""
    _live_and_candidate(world, lambda inputs: BASE + "a", lambda inputs: BASE + "a")
    code, report = run_flow(world, model_dir, _compare_config(), no_push=True)
    assert code == 0, report
    compare = stage(report, "compare outputs")
    assert compare["status"] == "passed"
    assert all(
        p["message"] == "identical to the live version's output" for p in compare["predictions"]
    )
    live_runs = len(world.runs_on(MODEL))
    assert live_runs == len(compare["predictions"])  # equal outputs: live was asked once each

    world.set_behaviour(TEST, lambda inputs: BASE + "b")
    model_dir.joinpath("predict.py").write_text(model_dir.joinpath("predict.py").read_text() + "\n")
    code, report = run_flow(world, model_dir, _compare_config(), no_push=True)
    assert code == 1, report
    assert f"first difference at character {SIZE + 1}" in stage(report, "compare outputs")["error"]
    # every input ran on live anew (none replayed from a cache), then once again
    assert len(world.runs_on(MODEL)) == live_runs + 2 * live_runs
    assert_small_files(storage)
