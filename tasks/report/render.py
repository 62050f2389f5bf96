"""The run's report as plain data, markdown, table rows and JUnit XML. Pure functions.

Every output in the report is a bounded copy (tasks.core.bounded): at most OUTPUT_LIMIT
bytes, or its cut marker, which the markdown, the table and the JUnit XML show with the whole
output's size and sha256.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree as ET

from tasks.core.bounded import cut_line, is_cut
from tasks.core.results import StageResult
from tasks.fuzz.sample_media import sample_for_value
from tasks.outputs.bounded import stored_stage

CELL_LIMIT = 50  # characters shown per table cell: the columns that explain a failure stay in view
NO_LIVE_VERSION = "no live version"  # how a skipped check without a live version begins
TIMINGS_PICTURE = "prediction times"  # the timing chart's name in report["pictures"]
REASON_LIMIT = 240  # characters of a failure's reason in the summary (the JSON has it whole)


def overall_status(stages: list[StageResult]) -> str:
    return "failed" if any(s.failed for s in stages) else "passed"


def build_report(
    *,
    status: str,
    pushed: bool,
    version: str | None,
    stages: list[StageResult],
    model: str,
    test_model: str,
    platform: str,
    ai_usage: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "pushed": pushed,
        "version": version,
        "model": model,
        "test_model": test_model,
        "platform": platform,
        "error": error,
        "ai_usage": ai_usage or {},
        "stages": [stored_stage(s).to_dict() for s in stages],
    }


def _compact(value: Any) -> Any:
    """Data URIs shortened: kilobytes of base64 help no reader. A bundled fuzz sample is
    named (which file an input got is what a reader needs), any other shows its media type."""
    if isinstance(value, str) and value.startswith("data:"):
        sample = sample_for_value(value)
        if sample is not None:
            return f"{sample.name} (bundled sample)"
        return value.split(",", 1)[0] + ",…"
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def short(value: Any, limit: int = 120) -> str:
    """A value as one compact text (JSON for structures, data URIs as their media type, a cut
    output as its head and cut note), cut with a visible ellipsis."""
    if is_cut(value):
        return cut_line(value, limit)
    value = _compact(value)
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~])")  # < > & become HTML entities instead


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_URL = re.compile(r"https?://[^\s<>`\[\]()|\\\"']+")


def md(value: Any, limit: int = 300) -> str:
    """Model output or an error message as inert markdown text: one line, cut with a visible
    "…", HTML and markdown syntax escaped, so what a model returns cannot change the report.
    A URL in the text is shown as code: a renderer that links bare URLs would otherwise take
    an escaped bracket or a cut into the link (`…/task-run/<id>\\]`, `http://127.0.`)."""
    text = " ".join(short(value, limit).split())
    parts, at = [], 0
    for match in _URL.finditer(text):
        parts.append(_escaped(text[at : match.start()]))
        parts.append(f"`{match.group(0)}`")
        at = match.end()
    parts.append(_escaped(text[at:]))
    return "".join(parts)


def _escaped(text: str) -> str:
    return escape_html(_MARKDOWN.sub(r"\\\1", text))


def retries_line(retries: list[dict[str, Any]]) -> str:
    """The calls Prefect retried, with their attempts and the last transient failure."""
    return "; ".join(
        f"{r['call']} ({r['attempts']} attempts; last failure: {r['failures'][-1]})"
        for r in retries
    )


_LINK_TEXT = re.compile(r"[\\`*\[\]<>|]")


def _link(text: str, url: str | None) -> str:
    """A markdown link whose target cannot break: only whole http(s) URLs, in angle brackets
    (no escaping inside). Its text has the characters that could end or style it removed
    rather than escaped (the UI shows an escape inside link text as a backslash); anything
    else is the text alone."""
    if url and url.startswith(("http://", "https://")) and not any(c in url for c in "<> \n"):
        shown = escape_html(_LINK_TEXT.sub("", " ".join(str(text).split())))[:120]
        return f"[{shown}](<{url}>)"
    return md(text, 120)


def _can_i_ship(report: dict[str, Any]) -> str:
    status = report["status"]
    if status == "passed":
        return (
            "**Yes: every check passed.**"
            if report["pushed"]
            else ("**Yes: every check passed** (test only: nothing pushed).")
        )
    if status == "unconfirmed":
        return "**Not known: pushed, but the push could not be confirmed.**"
    if status == "aborted":
        return "**Not known: the run could not finish; nothing pushed.**"
    if status == "error":
        return "**No: the run's input is wrong; nothing pushed.**"
    failed = [s["name"] for s in report["stages"] if s["status"] == "failed"]
    return f"**No: {len(failed)} check(s) failed ({md(', '.join(failed))}); nothing pushed.**"


def _compared_against(report: dict[str, Any]) -> str:
    live = report.get("live_version")
    if live:
        return f"live version `{md(live[:12])}` of {md(report['model'])}"
    skipped = any(
        s["status"] == "skipped" and (s.get("detail") or "").startswith(NO_LIVE_VERSION)
        for s in report["stages"]
    )
    if skipped:
        return "no live version: compatibility and comparison skipped"
    return "nothing: the run ended before the comparison"


def _where_pushed(report: dict[str, Any]) -> str:
    if not report["pushed"]:
        return "nothing"
    version = f"{md(report['model'])}:`{md((report['version'] or '')[:12])}`"
    if report.get("platform") == "local":
        registry = md(report.get("registry") or "the local registry")
        return f"{version} to the local registry at {registry} (not to Replicate)"
    return f"{version} to Replicate"


def failure_bullets(report: dict[str, Any]) -> list[str]:
    """One line per failure, linked to where it can be seen: each failed prediction (its
    page, or its task run in the Prefect UI), and each failed stage that has none."""
    lines = []
    pictures = report.get("pictures") or {}
    for stage in report["stages"]:
        failed = [p for p in stage["predictions"] if p["verdict"] == "failed"]
        for p in failed:
            name = _link(f"{stage['name']} / {p['label']}", p.get("url"))
            picture = pictures.get(p["label"])
            shown = f" ({_link('picture', picture)})" if picture else ""
            # a training failed by a prediction on its version links to that prediction too
            shown += "".join(
                f" ({_link(q['label'], q.get('url'))})"
                for q in p.get("trained_predictions") or []
                if q["verdict"] == "failed"
            )
            lines.append(f"- {name}{shown}: {md(p['message'], REASON_LIMIT)}")
        if stage["status"] == "failed" and not failed:
            lines.append(f"- {md(stage['name'])}: {md(stage['error'] or 'failed', REASON_LIMIT)}")
    return lines


def _stage_detail(stage: dict[str, Any]) -> str:
    """The table's detail: a count for stages whose failures are listed above, else the
    stage's own words (never its links: those are in the failure lines)."""
    predictions = stage["predictions"]
    failed = sum(1 for p in predictions if p["verdict"] == "failed")
    if failed:
        return f"{failed} of {len(predictions)} failed (listed above)"
    if stage["status"] == "failed":
        return "listed above"
    return stage["error"] or "; ".join(stage.get("warnings") or []) or stage.get("detail") or ""


def _ai_via(usage: dict[str, Any]) -> str:
    """Which model answered, and where: " (anthropic/claude-4.5-sonnet on Replicate, 7
    predictions)", " (claude-sonnet-5-5, Anthropic API)"; nothing for an older report."""
    model, provider = usage.get("model"), usage.get("provider")
    if not model and not provider:
        return ""
    places = {"replicate": "on Replicate", "anthropic": "via Anthropic's API"}
    parts = [f"`{md(model)}`" if model else "", places.get(provider or "", md(provider or ""))]
    said = " ".join(part for part in parts if part)
    if usage.get("predictions"):
        said += f", {usage['predictions']} predictions"
    return f" ({said})"


def markdown_summary(report: dict[str, Any]) -> str:
    """What a person reads first: can I ship, against what, what went where; then one line
    per failure; then the stages. Nothing is said twice."""
    lines = [
        f"# cog-safe-push: {report['status']}",
        "",
        _can_i_ship(report),
        "",
        f"- compared against: {_compared_against(report)}",
        f"- pushed: {_where_pushed(report)}",
        f"- tested: {md(report['test_model'])}"
        + (f":`{md(report['version'][:12])}`" if report.get("version") else "")
        + f" on the {md(report['platform'])} platform",
    ]
    failures = failure_bullets(report)
    if report.get("error") and (report["status"] != "failed" or not failures):
        lines.append(f"- why: {md(report['error'], 600)}")
    usage = report.get("ai_usage") or {}
    if usage.get("calls"):
        lines.append(
            f"- AI{_ai_via(usage)}: {usage['calls']} calls, {usage.get('input_tokens', 0)} "
            f"input + {usage.get('output_tokens', 0)} output tokens"
        )
    if report.get("retries"):
        lines.append(f"- retried by Prefect: {md(retries_line(report['retries']), 600)}")
    timings = (report.get("pictures") or {}).get(TIMINGS_PICTURE)
    if timings:
        lines.append(f"- prediction times of both versions: {_link('chart', timings)}")
    if failures:
        lines += ["", f"## Failures ({len(failures)})", "", *failures]
    lines += [
        "",
        "## Stages",
        "",
        "| stage | status | seconds | predictions | detail |",
        "|---|---|---|---|---|",
    ]
    for stage in report["stages"]:
        lines.append(
            f"| {md(stage['name'])} | {stage['status']} | {stage['seconds']:.1f} | "
            f"{len(stage['predictions'])} | {md(_stage_detail(stage), CELL_LIMIT)} |"
        )
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return escape_html(short(value, CELL_LIMIT))


_SAID_BY_THE_ROW = ("outputs differ from the live version: ",)  # a compare row says it


def _short_reason(p: dict[str, Any]) -> str:
    """The message without the words its row already implies, so the finding fits."""
    message = p["message"] or p["status"]
    for prefix in _SAID_BY_THE_ROW:
        message = message.removeprefix(prefix)
    return message


def prediction_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per prediction for the table artifact (a training's rows followed by the
    predictions on its version, which move with it), failed rows first, columns in the
    order a person scans them (inputs last); every cell shows at most CELL_LIMIT characters
    (the link shows "open"; the JSON report has every value whole)."""
    groups = []  # a training's row, then the rows of the predictions on its version
    for stage in report["stages"]:
        for p in stage["predictions"]:
            groups.append([_row(p), *(_row(q) for q in p.get("trained_predictions") or [])])
    groups.sort(key=lambda group: group[0]["verdict"] != "failed")
    return [row for group in groups for row in group]


def _row(p: dict[str, Any]) -> dict[str, Any]:
    link = _link("open", p.get("url"))  # the UI renders a cell's markdown
    return {
        "name": _cell(p["label"]),  # a label names its stage ("fuzz 3")
        "verdict": p["verdict"],
        "reason": _cell(_short_reason(p)),
        "link": link if link != "open" else _cell(p.get("id") or ""),
        "seconds": round(p["seconds"], 3),
        "inputs": _cell(p["inputs"]),
    }


def _json_text(value: Any) -> str:
    """A (bounded) output as JSON text, the way the JSON report has it: ASCII, so that no
    character a model returns can make the XML invalid or unwritable."""
    return json.dumps(value, default=str)


def junit_xml(report: dict[str, Any]) -> str:
    """One testsuite per stage: one testcase for the stage check, one per prediction (its
    output, bounded as in the report, as the testcase's system-out), a training's followed
    by the predictions on its version."""
    root = ET.Element("testsuites", name="cog-safe-push")
    total = failures = 0
    for stage in report["stages"]:
        suite = ET.SubElement(root, "testsuite", name=stage["name"])
        cases = [(stage["name"], stage["status"], stage["error"], stage["seconds"], None)]
        cases += [
            (
                p["label"],
                p["verdict"],
                f"{p['message']} (inputs: {short(p['inputs'], 500)}; {p.get('url') or p.get('id') or ''})",
                p["seconds"],
                p.get("remote_output") or p.get("output"),
            )
            for record in stage["predictions"]
            for p in [record, *(record.get("trained_predictions") or [])]
        ]
        suite_failures = 0
        for name, status, message, seconds, output in cases:
            case = ET.SubElement(
                suite, "testcase", classname=stage["name"], name=name, time=f"{seconds:.3f}"
            )
            if status == "failed":
                suite_failures += 1
                ET.SubElement(case, "failure", message=short(message or "failed", 500)).text = (
                    message or "failed"
                )
            elif status == "skipped":
                ET.SubElement(case, "skipped")
            if output is not None:
                ET.SubElement(case, "system-out").text = "output: " + _json_text(output)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(suite_failures))
        total += len(cases)
        failures += suite_failures
    root.set("tests", str(total))
    root.set("failures", str(failures))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
