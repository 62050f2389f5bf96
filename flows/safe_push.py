"""`python -m flows.safe_push`: the command line (flows/cli.py), started without importing
Prefect first, so that `--help` and usage errors answer at once.

The flow itself lives in flows/safe_push_flow.py. `flows/safe_push.py:safe_push` still finds
it, for deployments registered with that entrypoint before the flow moved.
"""

from __future__ import annotations

import sys
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "safe_push":
        from flows.safe_push_flow import safe_push

        return safe_push
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    from flows.cli import main

    sys.exit(main())
