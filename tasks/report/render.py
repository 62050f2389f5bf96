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

ICONS = {
    "passed": "✅",
    "failed": "❌",
    "warning": "⚠️",
    "skipped": "⏭️",
    "unverified": "❔",
    "unconfirmed": "❔",
    "aborted": "⛔",
}


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


def md(value: Any, limit: int = 300) -> str:
    """Model output or an error message as inert markdown text: one line, cut with a visible
    "…", HTML and markdown syntax escaped, so what a model returns cannot change the report."""
    text = " ".join(short(value, limit).split())
    return escape_html(_MARKDOWN.sub(r"\\\1", text))


def retries_line(retries: list[dict[str, Any]]) -> str:
    """The calls Prefect retried, with their attempts and the last transient failure."""
    return "; ".join(
        f"{r['call']} ({r['attempts']} attempts; last failure: {r['failures'][-1]})"
        for r in retries
    )


def markdown_summary(report: dict[str, Any]) -> str:
    icon = ICONS.get(report["status"], "")
    pushed = f"yes, version {md(report['version'])}" if report["pushed"] else "no"
    lines = [
        f"# cog-safe-push {icon} {report['status']}",
        "",
        f"- model: {md(report['model'])} (tested on {md(report['test_model'])}, "
        f"platform {report['platform']})",
        f"- pushed: {pushed}",
    ]
    if report.get("error"):
        lines.append(f"- error: {md(report['error'], 600)}")
    usage = report.get("ai_usage") or {}
    if usage.get("calls"):
        lines.append(
            f"- AI: {usage['calls']} calls, {usage.get('input_tokens', 0)} input + "
            f"{usage.get('output_tokens', 0)} output tokens"
        )
    if report.get("retries"):
        lines.append(f"- retried by Prefect: {md(retries_line(report['retries']), 600)}")
    lines += ["", "| stage | status | seconds | predictions | detail |", "|---|---|---|---|---|"]
    for stage in report["stages"]:
        detail = stage["error"] or "; ".join(stage.get("warnings") or []) or ""
        lines.append(
            f"| {md(stage['name'])} | {ICONS.get(stage['status'], '')} {stage['status']} | "
            f"{stage['seconds']} | {len(stage['predictions'])} | {md(detail, 200)} |"
        )
    failures = [
        (stage["name"], p)
        for stage in report["stages"]
        for p in stage["predictions"]
        if p["verdict"] == "failed"
    ]
    if failures:
        lines += ["", "## Failures", ""]
        for name, p in failures:
            ref = md(p["id"] or "-")
            if (p.get("url") or "").startswith(("http://", "https://")):
                ref = f"[{ref}](<{p['url']}>)"
            lines.append(f"- **{md(name)} / {md(p['label'])}** {ref}: {md(p['message'])}")
            lines.append(f"  - inputs: {md(p['inputs'], 300)}")
            shown = p.get("remote_output") or p.get("output")
            if shown is not None:
                lines.append(f"  - output: {md(shown, 300)}")
    return "\n".join(lines) + "\n"


def prediction_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per prediction, for the table artifact (values cut, HTML escaped)."""
    rows = []
    for stage in report["stages"]:
        for p in stage["predictions"]:
            rows.append(
                {
                    "stage": stage["name"],
                    "label": p["label"],
                    "verdict": p["verdict"],
                    "status": p["status"],
                    "seconds": round(p["seconds"], 3),
                    "inputs": escape_html(short(p["inputs"], 200)),
                    "output": escape_html(short(p.get("remote_output") or p.get("output"), 200)),
                    "message": escape_html(short(p["message"], 200)),
                    "reference": p.get("url") or p.get("id") or "",
                }
            )
    return rows


def _json_text(value: Any) -> str:
    """A (bounded) output as JSON text, the way the JSON report has it: ASCII, so that no
    character a model returns can make the XML invalid or unwritable."""
    return json.dumps(value, default=str)


def junit_xml(report: dict[str, Any]) -> str:
    """One testsuite per stage: one testcase for the stage check, one per prediction (its
    output, bounded as in the report, as the testcase's system-out)."""
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
            for p in stage["predictions"]
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
