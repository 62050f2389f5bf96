"""What the deployments of the safe_push flow are made of: names, schedules, default
parameters, the event trigger's templated parameters, the event itself, and checks of the UI
form (every parameter described, none shaped like a secret). The parameters and the form's
descriptions come from the flow itself: its signature, its docstring and the pydantic Field
descriptions of Config and RunOptions. Pure: plain data in, plain data out; no Prefect
client, no I/O.
"""

from __future__ import annotations

import inspect
import json
import typing
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from tasks.core.config import check_model_name
from tasks.core.environment import looks_secret
from tasks.core.errors import UsageError

DEFAULT_CRON = "0 3 * * *"
DEFAULT_TIMEZONE = "UTC"
EVENT_NAME = "cog.model.changed"
RESOURCE_PREFIX = "cog.model."
ANY_MODEL = RESOURCE_PREFIX + "*"

NIGHTLY = "nightly"
ON_MODEL_CHANGED = "on-model-changed"
MANUAL = "manual"
TAGS = ["cog-safe-push"]
CONCURRENCY_LIMIT = 1  # per deployment; pushes of one model are serialised by its lease too


def resource_id(model: str) -> str:
    """The event resource that names a model: `cog.model.<owner>/<name>`."""
    return RESOURCE_PREFIX + check_model_name(model)


def base_parameters(flow: Any, **values: Any) -> dict[str, Any]:
    """Default parameters of a deployment of `flow`, as JSON the server stores and the UI shows.

    The names and types come from the flow's own signature, so nothing here restates them: a
    name the flow does not take is an error, and each value is written as its annotation
    says (pydantic), leaving out what equals the default. `allowed_sources` always includes
    the deployment's own source: an event may name another git URL only when it matches one
    of the patterns given here."""
    fn = getattr(flow, "fn", flow)  # a Prefect Flow wraps the function
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    try:
        bound = signature.bind_partial(**values)
    except TypeError as exc:
        raise UsageError(f"not a parameter of the {fn.__name__} flow: {exc}") from None
    params: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if value is None or value == signature.parameters[name].default:
            continue
        params[name] = TypeAdapter(hints[name]).dump_python(
            value, mode="json", exclude_defaults=True
        )
    if "allowed_sources" in signature.parameters:
        source = params.setdefault("source", signature.parameters["source"].default)
        params["allowed_sources"] = list(
            dict.fromkeys([source, *params.get("allowed_sources", [])])
        )
    return params


def nightly_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """Test-only: the nightly run checks the model as it is and never pushes."""
    options = {**params.get("options", {}), "no_push": True, "push_official_model": False}
    return {**params, "options": options}


def jinja_literal(value: str | None) -> str:
    """A Jinja expression for a constant (a JSON string literal is a valid Jinja one)."""
    return "none" if value is None else json.dumps(value)


def template(expression: str) -> str:
    """A parameter rendered from the event. Prefect appends `| tojson` to a lone expression
    to keep its type, so the parentheses make the filter apply to all of it."""
    return "{{ (" + expression + ") }}"


def _is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def _protect_literals(value: Any) -> Any:
    """Strings that merely look like Jinja must reach the flow unrendered."""
    if isinstance(value, str) and _is_template(value):
        return {"__prefect_kind": "none", "value": value}
    if isinstance(value, dict):
        return {k: _protect_literals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_protect_literals(v) for v in value]
    return value


MODEL_FROM_EVENT = (
    "event.payload.model or (event.resource.id | replace(" + json.dumps(RESOURCE_PREFIX) + ', ""))'
)


def trigger_parameters(params: dict[str, Any], *, any_model: bool = False) -> dict[str, Any]:
    """Parameters of the run an event starts, as templates the server renders from the event.

    The payload's `git_url`, `git_ref` and `subdirectory` choose the source; each falls back
    to the deployment's own. With `any_model`, the model comes from the payload's `model` or
    the resource id, the test model from the payload (default `<model>-test`), and the rest
    of the config is the deployment's.
    """
    source = params.get("source", ".")
    rendered: dict[str, Any] = {
        "source": template("event.payload.git_url or " + jinja_literal(source)),
        "git_ref": template("event.payload.git_ref or " + jinja_literal(params.get("git_ref"))),
        "subdirectory": template(
            "event.payload.subdirectory or " + jinja_literal(params.get("subdirectory"))
        ),
    }
    if any_model:
        config = _protect_literals(dict(params["config"]))
        config["model"] = template(MODEL_FROM_EVENT)
        config["test_model"] = template("event.payload.test_model or none")
        rendered["config"] = config
    return rendered


def trigger_match(model: str | list[str] | None) -> dict[str, str | list[str]]:
    """Which events' resources start a run: one model, any of several (variants), or any
    model at all when `model` is None."""
    if isinstance(model, list):
        return {"prefect.resource.id": [resource_id(m) for m in model]}
    return {"prefect.resource.id": resource_id(model) if model else ANY_MODEL}


def trigger_spec(
    params: dict[str, Any],
    *,
    model: str | list[str] | None,
    event: str = EVENT_NAME,
) -> dict[str, Any]:
    """A deployment event trigger, in the shape both `DeploymentEventTrigger` and
    prefect.yaml's `triggers:` accept. With several models (variants), an event that names
    any of them starts the run of all of them."""
    named = ", ".join(model) if isinstance(model, list) else model
    return {
        "type": "event",
        "name": f"cog-safe-push on {event}" + (f" of {named}" if named else ""),
        "description": f"Run cog-safe-push when a {event} event names " + (named or "any model"),
        "enabled": True,
        "match": trigger_match(model),
        "expect": [event],
        "posture": "Reactive",
        "threshold": 1,
        "within": 0,
        "parameters": trigger_parameters(params, any_model=model is None),
    }


def event_body(
    model: str,
    git_url: str | None = None,
    git_ref: str | None = None,
    *,
    subdirectory: str | None = None,
    event: str = EVENT_NAME,
    extra: dict[str, Any] | None = None,
    event_id: str | None = None,
    occurred: datetime | None = None,
) -> dict[str, Any]:
    """One Prefect event as the events API (`POST /api/events`) takes it."""
    payload = {
        k: v
        for k, v in {"git_url": git_url, "git_ref": git_ref, "subdirectory": subdirectory}.items()
        if v
    }
    payload.update(extra or {})
    return {
        "id": event_id or str(uuid.uuid4()),
        "occurred": (occurred or datetime.now(UTC)).isoformat(),
        "event": event,
        "resource": {"prefect.resource.id": resource_id(model), "prefect.resource.name": model},
        "related": [],
        "payload": payload,
    }


def _walk(schema: dict[str, Any]):
    for name, prop in schema.get("properties", {}).items():
        yield name, name, prop
    for definition, body in schema.get("definitions", {}).items():
        for name, prop in body.get("properties", {}).items():
            yield f"{definition}.{name}", name, prop


def undocumented(schema: dict[str, Any]) -> list[str]:
    """Properties the UI form would show without a description."""
    return [path for path, _, prop in _walk(schema) if not prop.get("description")]


def secret_like(schema: dict[str, Any]) -> list[str]:
    """Parameter names that look like credentials (the same test as for environment
    variables); must be empty: parameters are stored by the server and shown in the UI."""
    return [path for path, name, _ in _walk(schema) if looks_secret(name)]
