"""`python -m deployments.emit`: tell Prefect that a model's code changed.

A self-hosted Prefect server has no webhooks, so a CI job or a git hook posts the event
itself. This is the same as

    prefect events emit cog.model.changed --resource-id cog.model.OWNER/NAME \\
        --payload '{"git_url": "URL", "git_ref": "REF"}'

or, with nothing but curl, `POST $PREFECT_API_URL/events` with a JSON list of events.
The `on-model-changed` deployment of `python -m deployments.serve` reacts to it.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import httpx

from deployments.params import EVENT_NAME, event_body
from flows.cli import UsageParser
from tasks.core.errors import UsageError


def api_settings(api_url: str | None = None) -> tuple[str, dict[str, str]]:
    """The server's API URL and auth headers, from the active Prefect profile/environment."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    url = api_url or api.url
    if not url:
        raise UsageError("no Prefect API URL: set PREFECT_API_URL or pass --api-url")
    headers = {"Content-Type": "application/json"}
    if api.key is not None and api.key.get_secret_value():
        headers["Authorization"] = f"Bearer {api.key.get_secret_value()}"
    elif api.auth_string is not None and api.auth_string.get_secret_value():
        token = base64.b64encode(api.auth_string.get_secret_value().encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return url.rstrip("/"), headers


def post_events(events: list[dict[str, Any]], api_url: str | None = None) -> None:
    url, headers = api_settings(api_url)
    response = httpx.post(f"{url}/events", json=events, headers=headers, timeout=30)
    if response.status_code >= 400:
        raise RuntimeError(
            f"Prefect rejected the event: HTTP {response.status_code} {response.text[:300]}"
        )


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
    """Post one `cog.model.changed` event; returns the event as sent."""
    body = event_body(model, git_url, git_ref, subdirectory=subdirectory, event=event, extra=extra)
    post_events([body], api_url)
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
        post_events([body], args.api_url)
    except (UsageError, json.JSONDecodeError) as exc:
        print(f"deployments.emit: error: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"deployments.emit: error: {exc}", file=sys.stderr)
        return 1
    print(f"emitted {body['event']} for {body['resource']['prefect.resource.id']} ({body['id']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
