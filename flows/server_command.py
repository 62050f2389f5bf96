"""`cog-safe-push server status|stop`: see and stop the managed local Prefect server.

Exit codes: `status` 0 when the server runs and answers, 1 when it does not; `stop` 0.
"""

from __future__ import annotations

import sys
import time

from flows import prefect_server
from flows.usage_parser import UsageParser
from tasks.core.errors import UsageError


def build_parser() -> UsageParser:
    parser = UsageParser(
        prog="cog-safe-push server",
        description="The local Prefect server cog-safe-push starts when no Prefect API is "
        "configured. Its data lives in the tool's home (COG_SAFE_PUSH_HOME or "
        "~/.cache/cog-safe-push)/prefect-server.",
    )
    parser.add_argument("action", choices=["status", "stop"])
    return parser


def _age(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"cog-safe-push server: error: {exc}", file=sys.stderr)
        return 2
    folder = prefect_server.server_dir()
    if args.action == "stop":
        state = prefect_server.stop(folder)
        if state is None:
            print("no managed Prefect server is running")
        else:
            print(f"stopped the Prefect server at {state.ui_url} (pid {state.pid})")
        return 0
    state = prefect_server.read_state(folder)
    if state is None:
        print(f"not running (no server recorded in {folder})")
        return 1
    version = prefect_server.served_version(state.url)
    alive = prefect_server.pid_alive(state.pid)
    health = "answering" if version else ("not answering" if alive else "not running")
    print(f"server: {health}")
    print(f"ui:     {state.ui_url}")
    print(f"api:    {state.url}")
    print(f"pid:    {state.pid}{'' if alive else ' (gone)'}")
    print(f"prefect {version or state.prefect_version}, up {_age(time.time() - state.started_at)}")
    print(f"data:   {state.data_dir}")
    print(f"log:    {state.log}")
    return 0 if version else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
