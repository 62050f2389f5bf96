"""One report for an invocation of several variants: each variant's own report, one row per
variant, and their stages together (named "<variant> · <stage>"), so the JSON report keeps
its contract ({status, pushed, version, stages}) and the JUnit file and failure lines need
nothing new. Pure.
"""

from __future__ import annotations

from typing import Any

# Which status the whole invocation takes when variants disagree: the one a person must act
# on first. A push that may not have landed (unconfirmed) outranks a machine fault (aborted),
# which outranks bad input (error), which outranks a failed check.
SEVERITY = ("unconfirmed", "aborted", "error", "failed", "passed")
SEPARATOR = " · "


def overall(statuses: list[str]) -> str:
    """The worst status; an unknown word counts as failed, and no variant never passes."""
    known = ["failed" if status not in SEVERITY else status for status in statuses]
    return next((status for status in SEVERITY if status in known), "failed")


def variant_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    """What the final table says of one variant."""
    return {
        "name": name,
        "model": report.get("model"),
        "status": report["status"],
        "pushed": bool(report.get("pushed")),
        "version": report.get("version"),
        "held": report.get("held"),
        "failed": [s["name"] for s in report.get("stages", []) if s["status"] == "failed"],
        "error": report.get("error"),
        "seconds": round(sum(s.get("seconds", 0.0) for s in report.get("stages", [])), 1),
        "flow_run_url": report.get("flow_run_url"),
    }


def combine(reports: dict[str, dict[str, Any]], push_passed: bool) -> dict[str, Any]:
    """The invocation's report from each variant's, in the variants' order."""
    rows = [variant_row(name, report) for name, report in reports.items()]
    status = overall([row["status"] for row in rows])
    failed = [row["name"] for row in rows if row["status"] != "passed"]
    stages = [
        {**stage, "name": f"{name}{SEPARATOR}{stage['name']}"}
        for name, report in reports.items()
        for stage in report.get("stages", [])
    ]
    usage: dict[str, Any] = {}
    for report in reports.values():
        for key, value in (report.get("ai_usage") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                usage[key] = usage.get(key, 0) + value
    first = next(iter(reports.values()), {})
    return {
        "status": status,
        "pushed": any(row["pushed"] for row in rows),
        "version": None,  # one per variant: see "variants"
        "model": None,
        "platform": first.get("platform"),
        "registry": first.get("registry"),
        "push_policy": "each variant that passed" if push_passed else "all variants or none",
        "error": (
            "; ".join(
                f"{row['name']}: {row['error'] or row['status']}"
                for row in rows
                if row["name"] in failed
            )
            or None
        ),
        "ai_usage": usage,
        "variants": rows,
        "stages": stages,
        # each variant's own report, but for its stages (above, under their variant's name)
        "reports": {
            name: {key: value for key, value in report.items() if key != "stages"}
            for name, report in reports.items()
        },
    }


def verdict(report: dict[str, Any]) -> str:
    """The invocation's last line: what passed, what was pushed, what was held."""
    rows = report["variants"]
    pushed = [row["name"] for row in rows if row["pushed"]]
    bad = [f"{row['name']} {row['status']}" for row in rows if row["status"] != "passed"]
    held = [row["name"] for row in rows if row["held"]]
    parts = [f"{len(rows) - len(bad)} of {len(rows)} variants passed"]
    if bad:
        parts.append(", ".join(bad))
    parts.append(f"pushed {', '.join(pushed)}" if pushed else "nothing pushed")
    if held:
        parts.append(
            f"held back {', '.join(held)} (all or none; --push-passed-variants "
            "pushes each variant that passed)"
        )
    return "; ".join(parts)


def variants_markdown(report: dict[str, Any]) -> str:
    """The summary artifact of an invocation: can I ship, then one row per variant linked
    to its own run (whose artifacts hold its predictions)."""
    from tasks.report.render import _link, md

    lines = [
        f"# cog-safe-push: {report['status']}",
        "",
        f"**{md(verdict(report), 600)}**",
        "",
        f"Variants push: {report['push_policy']}.",
        "",
        "| variant | model | status | pushed | failed checks | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["variants"]:
        pushed = (row["version"] or "")[:12] if row["pushed"] else "no"
        if row["held"]:
            pushed = "held back"
        lines.append(
            f"| {_link(row['name'], row['flow_run_url'])} | {md(row['model'], 80)} | "
            f"{row['status']} | {md(pushed, 40)} | {md(', '.join(row['failed']) or '-', 200)} "
            f"| {row['seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"
