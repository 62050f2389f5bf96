"""Benchmark: what a retried request costs as a Prefect task run of its own.

Each AI request and each download is a `request` task run with Prefect retries
(tasks.retrying). This prints, for N requests to the fake Anthropic API in one flow run:
  direct      the client's one-attempt call, outside any run (no retry layer)
  task runs   the same requests in a flow run, each a retried task run
  per request the difference, in ms
and, with one 529 before each reply, the requests that reached the server and the wall time
(the retry delay is COG_SAFE_PUSH_RETRY_DELAY, 1 s by default; this script sets 0.05 s).

Run: .venv/bin/python benchmarks/request_retries.py [--requests 30]
It uses the Prefect API of PREFECT_API_URL when set, else a temporary server.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COG_SAFE_PUSH_RETRY_DELAY", "0.05")

from prefect import flow  # noqa: E402

import tasks.retrying  # noqa: E402,F401 - installs the request retry layer
from tasks.ai.client import AI  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic, env_for  # noqa: E402


def _asks(count: int, flaky: FakeAnthropic | None = None) -> None:
    """`count` requests; with `flaky`, each first meets one 529 (overloaded)."""
    ai = AI()
    for n in range(count):
        if flaky is not None:
            flaky.fail_next(529)
        ai.ask(f"question {n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    count = args.requests

    @flow(name="request retries benchmark")
    def in_a_run(flaky: FakeAnthropic | None = None) -> None:
        _asks(count, flaky)

    with FakeAnthropic() as server:
        os.environ.update(env_for(server))
        server.default("ok")
        in_a_run()  # warm: the Prefect client, the flow's registration
        start = time.perf_counter()
        _asks(count)
        direct = time.perf_counter() - start
        start = time.perf_counter()
        in_a_run()
        tasked = time.perf_counter() - start
        print(f"{count} requests: direct {direct:.2f} s, as task runs {tasked:.2f} s")
        print(f"per request: {1000 * (tasked - direct) / count:.1f} ms of Prefect bookkeeping")
        before = len(server.requests)
        start = time.perf_counter()
        in_a_run(server)
        flaky = time.perf_counter() - start
        sent = len(server.requests) - before
        print(
            f"with one 529 before each reply: {sent} requests reached the server "
            f"({count} retried), {flaky:.2f} s"
        )


if __name__ == "__main__":
    main()
