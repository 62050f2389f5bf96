"""What a person sees in the terminal: status lines, a live progress display, the final table.

On a terminal the progress of every stage is drawn in place (done/total, failures so far,
elapsed); in CI (no TTY, or CI set) the same events become a few plain lines. Prefect's own
per-task state lines only appear with -v. Long failure text is cut here; the JSON report keeps
it whole.

Counting: a stage's items are the records its report lists (one prediction, one test case,
one comparison), each with its verdict. A stage's final count on the live display, its row
in the final table and its entry in the JSON report all come from those records
(tasks.stage_runner), so they agree: done = items that ran (any verdict but skipped), failed =
items whose verdict is failed, out of the items the stage began with.

Colour: passed green, failed red, warning and skipped yellow, only on a terminal, without
NO_COLOR (any non-empty value, no-color.org) and outside CI. Otherwise no escape codes at all:
the plain text is what it was before colour. Marks are characters every font has (✓ ✗ ! …).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.console import Console as RichConsole
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tasks.confirm import unconfirmed_line
from tasks.report.render import retries_line, short
from tasks.report.variants import verdict

PREFIX = "cog-safe-push"
DETAIL_LIMIT = 160
ERROR_LIMIT = 400  # a usage error's one line: room for a path, never a page
INPUTS_LIMIT = 120

# A stage's mark on the live display: characters every terminal font has, never emoji.
MARKS = {"running": "…", "passed": "✓", "failed": "✗", "warning": "!", "skipped": "-"}

# The colour of a status or a verdict (only ever shown where colour is on).
COLOURS = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "aborted": "red",
    "warning": "yellow",
    "skipped": "yellow",
    "unverified": "yellow",
    "unconfirmed": "yellow",
}


def wants_colour(rich: RichConsole) -> bool:
    """Colour only for a person at a terminal: not with NO_COLOR set to anything, not in CI."""
    return rich.is_terminal and not os.environ.get("NO_COLOR") and not os.environ.get("CI")


def cut(text: str, limit: int) -> str:
    """One line of at most `limit` characters; a cut is marked with "…"."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def short_inputs(inputs: Any, limit: int = INPUTS_LIMIT) -> str:
    """Inputs as compact JSON, data URIs reduced to their media type."""
    return cut(short(inputs, limit), limit)


@dataclass
class _Stage:
    name: str
    total: int | None
    started: float
    done: int = 0
    failed: int = 0
    status: str = "running"
    seconds: float | None = None
    reported: int = 0  # plain mode: the last quarter printed

    def elapsed(self) -> float:
        return self.seconds if self.seconds is not None else time.monotonic() - self.started


class Console:
    """The tool's terminal output (stderr): one place decides what is drawn and how."""

    def __init__(self, verbose: int = 0, stream: Any = None, terminal: bool | None = None) -> None:
        """`terminal` forces (True) or denies (False) that `stream` is a terminal; None: ask
        the stream."""
        self.verbose = verbose
        settings: dict[str, Any] = {
            "file": stream or sys.stderr,
            "highlight": False,
            "soft_wrap": True,
            "force_terminal": terminal,
        }
        self.rich = RichConsole(**settings)
        self.colour = wants_colour(self.rich)
        if not self.colour:  # no styles at all, not even bold: plain text
            self.rich = RichConsole(**settings, color_system=None)
        self.interactive = self.rich.is_terminal and not os.environ.get("CI")
        self._live: Live | None = None

    def style(self, status: str) -> str:
        """The style of a status word or verdict: its colour, or none without colour."""
        return COLOURS.get(status, "") if self.colour else ""

    def line(self, text: str, status: str = "") -> None:
        self.rich.print(Text(f"{PREFIX}: {text}", style=self.style(status)))

    def error(self, text: str) -> None:
        self.rich.print(Text(f"{PREFIX}: error: {text}", style=self.style("error")))

    def waiting(self) -> Waiting:
        """A status line for a wait that may or may not happen (see Waiting)."""
        return Waiting(self)

    @contextlib.contextmanager
    def progress(self) -> Iterator[LiveProgress]:
        display = LiveProgress(self)
        if self.interactive:
            with Live(
                get_renderable=display.render,
                console=self.rich,
                refresh_per_second=4,
                transient=True,
            ) as live:
                self._live = live
                try:
                    yield display
                finally:
                    self._live = None
        else:
            yield display

    def last_words(self, text: str) -> None:
        """A line printed from another thread as the process ends: the live display is
        taken down first, so the line is not drawn over."""
        live = self._live
        if live is not None:
            with contextlib.suppress(Exception):
                live.stop()
        self.line(text)

    # ---------------------------------------------------------------- the final summary

    def summary(self, report: dict[str, Any]) -> None:
        status = report["status"]
        title = Text.assemble(f"{PREFIX}: ", (status, self.style(status)))
        table = Table(title=title, show_lines=False)
        for column in ("stage", "status", "seconds", "predictions", "detail"):
            table.add_column(column, overflow="fold")
        for stage in report["stages"]:
            predictions = stage["predictions"]
            failed = sum(1 for p in predictions if p["verdict"] == "failed")
            skipped = sum(1 for p in predictions if p["verdict"] == "skipped")
            if stage["status"] == "failed" and predictions:
                also = f", {skipped} skipped" if skipped else ""
                detail = f"{failed} of {len(predictions)} failed{also} (listed below)"
            else:
                detail = (
                    stage["error"]
                    or "; ".join(stage.get("warnings") or [])
                    or stage.get("detail")
                    or ""
                )
            table.add_row(
                stage["name"],
                Text(stage["status"], style=self.style(stage["status"])),
                f"{stage['seconds']:.1f}",
                str(len(predictions)),
                cut(detail, DETAIL_LIMIT),
            )
        self.rich.print(table)
        for line in failure_lines(report):
            self.rich.print(Text.assemble("  ", (line.head, self.style("failed")), line.rest))
            if self.verbose and line.logs:
                self.rich.print(Text(indent(line.logs)))
        if report.get("retries"):  # transient failures Prefect retried: worth knowing
            self.line(cut(f"retried: {retries_line(report['retries'])}", ERROR_LIMIT))
        where = _local_where(report)
        if status == "unconfirmed":  # pushed, but not shown to have landed
            self.line(unconfirmed_line(report) + where, status)
        elif report["pushed"]:
            if where:
                self.line(
                    f"pushed {report['model']}:{report['version']} to the local registry at "
                    f"{report['registry']}; nothing was pushed to Replicate",
                    "passed",
                )
            else:
                self.line(f"pushed {report['model']}:{report['version']}", "passed")
        elif status == "passed":
            self.line(
                f"passed; nothing pushed (--no-push). Test version {report['version']}{where}",
                status,
            )
        elif status == "aborted" and report.get("error"):
            self.line(cut(report["error"], ERROR_LIMIT) + where, status)
        elif status == "error" and report.get("error"):
            self.error(
                f"{cut(report['error'], ERROR_LIMIT)}; nothing pushed to {report['model']}{where}"
            )
        else:
            self.line(f"{status}: nothing pushed to {report['model']}{where}", status)

    def variants_summary(self, report: dict[str, Any]) -> None:
        """One table for every variant, each failure once (under its variant's name), and
        one last line: what passed, what was pushed, what was held back."""
        status = report["status"]
        title = Text.assemble(f"{PREFIX}: ", (status, self.style(status)))
        table = Table(title=title, show_lines=False)
        for column in ("variant", "model", "status", "pushed", "seconds", "failed checks"):
            table.add_column(column, overflow="fold")
        for row in report["variants"]:
            pushed = (
                row["version"][:12] if row["pushed"] else ("held back" if row["held"] else "no")
            )
            failed = ", ".join(row["failed"]) or (
                row["error"] or "" if row["status"] != "passed" else ""
            )
            table.add_row(
                row["name"],
                row["model"] or "",
                Text(row["status"], style=self.style(row["status"])),
                cut(pushed or "", 14),
                f"{row['seconds']:.1f}",
                cut(failed, DETAIL_LIMIT),
            )
        self.rich.print(table)
        for line in failure_lines(report):
            self.rich.print(Text.assemble("  ", (line.head, self.style("failed")), line.rest))
            if self.verbose and line.logs:
                self.rich.print(Text(indent(line.logs)))
        where = _local_where(report)
        self.line(verdict(report) + where, status)


def _local_where(report: dict[str, Any]) -> str:
    """On the local platform, where its versions went: a green local run must never pass
    for a push to Replicate (the final line is what a CI log shows last)."""
    registry = report.get("registry")
    if report.get("platform") != "local" or not registry:
        return ""
    return f" (local platform: versions are in the local registry at {registry}; nothing was pushed to Replicate)"


class Waiting:
    """A wait shown only once it begins: a spinner with elapsed seconds on a terminal, one
    line elsewhere. `begin` may never be called (a server that is already running)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self._status: Any = None

    def begin(self, text: str) -> None:
        self.end()
        self.text = text
        if self.console.interactive:
            self._status = self.console.rich.status(Text(f"{PREFIX}: {text}"))
            self._status.start()
        else:
            self.console.line(text)

    def tick(self, elapsed: float) -> None:
        if self._status is not None:
            self._status.update(Text(f"{PREFIX}: {self.text} {elapsed:.0f} s"))

    def end(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class FailureLine(str):
    """One printed failure: its head (mark, stage and label: what colour marks) and the rest;
    carries the model's logs for -v."""

    head: str = ""
    logs: str = ""

    @property
    def rest(self) -> str:
        return self[len(self.head) :]


def failure_lines(report: dict[str, Any]) -> list[FailureLine]:
    """One line per failed prediction: stage, label, cut-down inputs, the error's first line."""
    lines = []
    for stage in report["stages"]:
        for p in stage["predictions"]:
            if p["verdict"] != "failed":
                continue
            message = (p.get("message") or p.get("error") or p["status"]).strip()
            first = message.splitlines()[0] if message else ""
            head = f"✗ {stage['name']} / {p['label']}"
            line = FailureLine(
                f"{head}: {cut(first, DETAIL_LIMIT)} (inputs {short_inputs(p['inputs'])})"
            )
            line.head = head
            line.logs = p.get("logs") or ""
            lines.append(line)
    return lines


def indent(text: str, limit: int = 4000) -> str:
    tail = text[-limit:]
    return "\n".join("      " + line for line in tail.rstrip().splitlines())


class LiveProgress:
    """The run's progress as the flow reports it (an Observer); drawn live or printed plainly."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.stages: dict[str, _Stage] = {}
        self.ui_url: str | None = None
        self._lock = threading.Lock()

    # Observer protocol (tasks.core.run_scope): called from the flow and from worker threads.

    def run_started(self, ui_url: str | None) -> None:
        self.ui_url = ui_url
        if ui_url and not self.console.verbose:  # with -v, Prefect's "View at" line says it
            self.console.line(f"follow this run in the Prefect UI: {ui_url}")

    def stage_started(self, name: str, total: int | None) -> None:
        with self._lock:
            self.stages[name] = _Stage(name, total, time.monotonic())
        if total and not self.console.interactive:
            self.console.line(f"{name}: {total} prediction(s) started")

    def prediction_done(self, stage: str, ok: bool) -> None:
        with self._lock:
            entry = self.stages.get(stage)
            if entry is None:
                return
            entry.done += 1
            entry.failed += 0 if ok else 1
            quarter = 4 * entry.done // entry.total if entry.total and entry.total >= 8 else 0
            report = not self.console.interactive and quarter > entry.reported and quarter < 4
            entry.reported = max(entry.reported, quarter)
        if report:
            self.console.line(
                f"{stage}: {entry.done}/{entry.total} done, {entry.failed} failed, "
                f"{entry.elapsed():.1f} s"
            )

    def stage_finished(
        self, name: str, status: str, seconds: float, counts: tuple[int, int] | None = None
    ) -> None:
        """`counts` (done, failed) corrects what the live events missed: cached predictions
        finish without running, so they never report themselves."""
        with self._lock:
            entry = self.stages.setdefault(name, _Stage(name, None, time.monotonic()))
            entry.status = status
            entry.seconds = seconds or entry.elapsed()
            if counts is not None:
                entry.done, entry.failed = counts
        if not self.console.interactive and entry.total:
            self.console.line(
                f"{name}: {status} in {entry.seconds:.1f} s "
                f"({entry.done}/{entry.total} done, {entry.failed} failed)"
            )

    def note(self, message: str) -> None:
        self.console.line(message)

    # Drawing (terminal only)

    def render(self) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 1))
        with self._lock:
            stages = list(self.stages.values())
        style = self.console.style
        for entry in stages:
            count = f"{entry.done}/{entry.total}" if entry.total else ""
            failed = f"{entry.failed} failed" if entry.failed else ""
            mark = MARKS.get(entry.status, "-")
            table.add_row(
                Text(mark, style=style(entry.status)),
                entry.name,
                count,
                Text(failed, style=style("failed") if failed else ""),
                f"{entry.elapsed():.1f} s",
                Text(entry.status, style=style(entry.status)),
            )
        return table
