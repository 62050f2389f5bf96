"""`python -m deployments.emit`: tell Prefect that a model's code changed.

A self-hosted Prefect server has no webhooks, so a CI job or a git hook sends the event
itself, through Prefect's own events client (`prefect.events.emit_event`). This is the same as

    prefect events emit cog.model.changed --resource-id cog.model.OWNER/NAME \\
        --payload '{"git_url": "URL", "git_ref": "REF"}'

The `on-model-changed` deployment of `python -m deployments.serve` reacts to it.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any
from uuid import UUID

from deployments.params import EVENT_NAME, event_body
from flows.usage_parser import UsageParser
from tasks.core.errors import UsageError


def send(body: dict[str, Any], api_url: str | None = None) -> None:
    """Emit one event (as `event_body` builds it) and wait until Prefect's events worker has
    sent it, so a CI step that exits right after cannot lose it."""
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    updates = {PREFECT_API_URL: api_url} if api_url else {}
    with temporary_settings(updates=updates):
        if not get_current_settings().api.url:
            raise UsageError("no Prefect API URL: set PREFECT_API_URL or pass --api-url")
        sent = emit_event(
            event=body["event"],
            resource=body["resource"],
            occurred=datetime.fromisoformat(body["occurred"]),
            related=body["related"],
            payload=body["payload"],
            id=UUID(body["id"]),
        )
        if sent is None:
            raise RuntimeError("Prefect's events client is not available in this environment")
        EventsWorker.drain_all(timeout=30)


def emit(
    model: str,
    git_url: str | None = None,
    git_ref: str | None = None,
    *,
    subdirectory: str | None = None,
    event: str = EVENT_NAME,
    extra: dict[str, Any] | None = None,
    api_url: str | None = None,
) -> dict[str, Any]:
    """Send one `cog.model.changed` event; returns the event as sent."""
    body = event_body(model, git_url, git_ref, subdirectory=subdirectory, event=event, extra=extra)
    send(body, api_url)
    return body


def build_parser() -> UsageParser:
    p = UsageParser(
        prog="python -m deployments.emit",
        description=f"Emit a {EVENT_NAME} event to the Prefect server (PREFECT_API_URL)",
    )
    p.add_argument("--model", required=True, help="Model whose code changed, <owner>/<name>")
    p.add_argument("--git-url", default=None, help="Where to clone the model's code from")
    p.add_argument("--git-ref", default=None, help="Branch, tag or commit to test")
    p.add_argument("--subdirectory", default=None, help="Cog model directory inside the repo")
    p.add_argument("--event", default=EVENT_NAME, help=f"Event name (default {EVENT_NAME})")
    p.add_argument("--payload", default=None, help="Extra payload fields, as a JSON object")
    p.add_argument("--api-url", default=None, help="Prefect API URL (default PREFECT_API_URL)")
    p.add_argument("--dry-run", action="store_true", help="Print the event instead of posting")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"deployments.emit: error: {exc}", file=sys.stderr)
        return 2
    try:
        extra = json.loads(args.payload) if args.payload else None
        if extra is not None and not isinstance(extra, dict):
            raise UsageError("--payload must be a JSON object")
        body = event_body(
            args.model,
            args.git_url,
            args.git_ref,
            subdirectory=args.subdirectory,
            event=args.event,
            extra=extra,
        )
        if args.dry_run:
            print(json.dumps(body, indent=2))
            return 0
        send(body, args.api_url)
    except (UsageError, json.JSONDecodeError) as exc:
        print(f"deployments.emit: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"deployments.emit: error: {exc}", file=sys.stderr)
        return 1
    print(f"emitted {body['event']} for {body['resource']['prefect.resource.id']} ({body['id']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
