"""Names and tags that tell runs apart in the Prefect UI's runs list.

Every run used to be `safe-push <model>`. A run is now tagged with its platform and mode
when it starts (`platform:local`, `push` or `test-only` or `official`, `predict`/`train`),
and renamed when it ends by model, short test version and outcome:
`safe-push examples/hello · 3f2a1c · failed`. Labelling is best effort: a run never fails
because its name could not be changed (its server may be the very thing that is down).
"""

from __future__ import annotations

import contextlib
from typing import Any

from tasks.core.options import RunOptions

SHORT_VERSION = 6


def run_name(model: str, version: str | None, status: str) -> str:
    """`safe-push <model> · <first 6 of the test version> · <outcome>`."""
    parts = [f"safe-push {model}"]
    if version:
        parts.append(version[:SHORT_VERSION])
    parts.append(status)
    return " · ".join(parts)


def run_tags(platform: str, options: RunOptions, modes: list[str]) -> list[str]:
    """The platform, what the run may do, and which checks it runs."""
    if options.official_push:
        doing = "official"
    elif options.no_push:
        doing = "test-only"
    else:
        doing = "push"
    return [f"platform:{platform}", doing, *modes]


def label_flow_run(
    flow_run_id: Any, *, name: str | None = None, tags: list[str] | None = None
) -> None:
    """Rename and/or tag a flow run; existing tags (a deployment's) are kept."""
    if not flow_run_id:
        return
    from prefect.client.orchestration import get_client

    with contextlib.suppress(Exception), get_client(sync_client=True) as client:
        merged = None
        if tags is not None:
            existing = client.read_flow_run(flow_run_id).tags or []
            merged = sorted({*existing, *tags})
        client.update_flow_run(flow_run_id, name=name, tags=merged)
