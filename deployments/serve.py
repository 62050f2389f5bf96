"""`python -m deployments.serve`: serve the safe_push flow as three Prefect deployments.

- `nightly`: on a cron schedule (default 03:00 UTC), test-only (`no_push`) against the live
  model; the flow run ends Failed when a check fails, so a regression is visible in the UI.
- `on-model-changed`: started by a `cog.model.changed` event whose resource id names the
  model and whose payload carries `git_url` / `git_ref` (see deployments/emit.py).
- `manual`: no schedule; started from the UI, whose form is the flow's typed parameters.

The process runs the flow runs itself (no work pool needed) until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployments.params import (
    CONCURRENCY_LIMIT,
    DEFAULT_CRON,
    DEFAULT_TIMEZONE,
    EVENT_NAME,
    MANUAL,
    NIGHTLY,
    ON_MODEL_CHANGED,
    TAGS,
    base_parameters,
    nightly_parameters,
    trigger_spec,
)
from flows.usage_parser import UsageParser
from tasks.core.config import DEFAULT_CONFIG_PATH, Config, load_config
from tasks.core.errors import UsageError
from tasks.core.options import RunOptions
from tasks.core.source import checkout, is_git_url
from tasks.core.variants import Variant, check_variants, load_variants


@dataclass
class ServeSettings:
    """Everything the deployments are built from; filled by the command line or by code."""

    config: Config
    source: str
    git_ref: str | None = None
    subdirectory: str | None = None
    options: RunOptions = field(default_factory=RunOptions)
    cron: str | None = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE
    event: str = EVENT_NAME
    any_model: bool = False
    name_suffix: str = ""
    allowed_sources: list[str] = field(default_factory=list)
    # Two or more: the deployments run the safe-push-variants flow over all of them (one
    # schedule watching a fleet); `config` is then the first of them.
    variants: list[Variant] = field(default_factory=list)
    push_passed_variants: bool = False


def build_parser() -> UsageParser:
    p = UsageParser(
        prog="python -m deployments.serve",
        description="Serve cog-safe-push as Prefect deployments: nightly, on-model-changed, manual",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--model-dir", default=None, help="Cog model directory on this machine (default: .)"
    )
    where.add_argument("--git-url", default=None, help="Git URL of the model's repository")
    p.add_argument("--git-ref", default=None, help="Branch, tag or commit (with --git-url)")
    p.add_argument(
        "--allow-git-url",
        action="append",
        default=[],
        metavar="PATTERN",
        help="A git URL pattern (glob) that events may name as git_url; repeatable. Events "
        "may always name the served source itself, and nothing else without this",
    )
    p.add_argument("--subdirectory", default=None, help="Cog model directory inside the source")
    p.add_argument(
        "--config",
        action="append",
        default=None,
        help=f"cog-safe-push.yaml to use (default: the source's {DEFAULT_CONFIG_PATH}). Repeat "
        "it, or name a folder of *.yaml files, to serve every variant in one set of deployments",
    )
    p.add_argument(
        "--push-passed-variants",
        action="store_true",
        help="With several configs: an event's or a manual run pushes each variant that passed; "
        "default: nothing unless every variant passed",
    )
    p.add_argument(
        "--cron",
        default=DEFAULT_CRON,
        help=f"Schedule of the nightly test-only run (default {DEFAULT_CRON!r}); '' for none",
    )
    p.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="Timezone of --cron")
    p.add_argument("--event", default=EVENT_NAME, help=f"Event that starts a run ({EVENT_NAME})")
    p.add_argument(
        "--any-model",
        action="store_true",
        help="React to the event for any model (cog.model.*), taking the model name from the "
        "event; default: only for the configured model",
    )
    p.add_argument("--platform", choices=["replicate", "local"], default=None)
    p.add_argument("--seed", type=int, default=None, help="Seed for reproducible fuzz inputs")
    p.add_argument("--fuzz-generator", choices=["schema", "ai"], default=None)
    p.add_argument(
        "--ai-provider",
        choices=["anthropic", "replicate"],
        default=None,
        help="Where the AI checks run (default: anthropic with ANTHROPIC_API_KEY, else "
        "replicate on the replicate platform)",
    )
    p.add_argument("--python", default=None, help="Interpreter for the local platform's models")
    p.add_argument(
        "--name-suffix",
        default="",
        help="Appended to the deployment names, to serve several models on one server",
    )
    p.add_argument("--limit", type=int, default=None, help="Most flow runs at once")
    p.add_argument(
        "--poll-seconds", type=float, default=None, help="How often to look for runs to start"
    )
    p.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="Print the deployments as JSON and exit instead of serving",
    )
    return p


def _load_variants(args: argparse.Namespace, source: str) -> list[Variant]:
    if args.config:
        return load_variants(args.config)
    with checkout(source, args.git_ref, args.subdirectory) as cog_dir:
        path = Path(cog_dir) / DEFAULT_CONFIG_PATH
        return [Variant(name=path.stem, config=load_config(path), path=str(path))]


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    if args.git_url:
        if not is_git_url(args.git_url):
            raise UsageError(f"--git-url {args.git_url!r} does not look like a git URL")
        source = args.git_url
    else:
        path = Path(args.model_dir or ".").expanduser().resolve()
        if not path.is_dir():
            raise UsageError(f"--model-dir {path} is not a directory")
        source = str(path)
        if args.git_ref:
            raise UsageError("--git-ref needs --git-url")
    options = RunOptions(
        platform=args.platform,
        seed=args.seed,
        fuzz_generator=args.fuzz_generator,
        ai_provider=args.ai_provider,
        python=args.python,
    )
    variants = _load_variants(args, source)
    if len(variants) > 1:
        check_variants(variants)
        if args.any_model:
            raise UsageError("--any-model takes one config: variants name their models")
    elif args.push_passed_variants:
        raise UsageError("--push-passed-variants needs several configs")
    return ServeSettings(
        config=variants[0].config,
        variants=variants if len(variants) > 1 else [],
        push_passed_variants=args.push_passed_variants,
        source=source,
        git_ref=args.git_ref,
        subdirectory=args.subdirectory,
        options=options,
        cron=args.cron or None,
        timezone=args.timezone,
        event=args.event,
        any_model=args.any_model,
        name_suffix=args.name_suffix,
        allowed_sources=list(args.allow_git_url),
    )


def build_deployments(settings: ServeSettings) -> list[Any]:
    """The three RunnerDeployments of the safe_push flow."""
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
    from prefect.schedules import Cron

    from flows.safe_push_flow import TEST_ONLY_TAG

    safe_push = served_flow(settings)
    what: dict[str, Any] = {"config": settings.config}
    if settings.variants:
        what = {
            "variants": settings.variants,
            "push_passed_variants": settings.push_passed_variants,
        }
    params = base_parameters(
        safe_push,
        **what,
        options=settings.options,
        source=settings.source,
        git_ref=settings.git_ref,
        subdirectory=settings.subdirectory,
        allowed_sources=settings.allowed_sources,
    )
    models = [v.config.model for v in settings.variants] or [settings.config.model]
    model = ", ".join(models)
    suffix = settings.name_suffix
    nightly = safe_push.to_deployment(
        name=NIGHTLY + suffix,
        schedules=[Cron(settings.cron, timezone=settings.timezone)] if settings.cron else [],
        parameters=nightly_parameters(params),
        description=f"Test-only run of cog-safe-push against the live {model}; "
        "fails when the model regresses. Never pushes.",
        tags=[*TAGS, NIGHTLY, TEST_ONLY_TAG],
        concurrency_limit=CONCURRENCY_LIMIT,
    )
    trigger = trigger_spec(
        params,
        model=None if settings.any_model else (models if settings.variants else models[0]),
        event=settings.event,
    )
    on_event = safe_push.to_deployment(
        name=ON_MODEL_CHANGED + suffix,
        parameters=params,
        triggers=[DeploymentEventTrigger(**trigger)],
        description=f"cog-safe-push started by a {settings.event} event; the event's payload "
        "gives git_url, git_ref and subdirectory.",
        tags=[*TAGS, ON_MODEL_CHANGED],
        concurrency_limit=CONCURRENCY_LIMIT,
    )
    manual = safe_push.to_deployment(
        name=MANUAL + suffix,
        parameters=params,
        description=f"cog-safe-push for {model}, started by hand: edit the form and run. "
        "Credentials come from the environment, never from this form.",
        tags=[*TAGS, MANUAL],
        concurrency_limit=CONCURRENCY_LIMIT,
    )
    return [nightly, on_event, manual]


def served_flow(settings: ServeSettings) -> Any:
    """The flow the deployments run: safe-push, or safe-push-variants for several configs."""
    if settings.variants:
        from flows.variants_flow import safe_push_variants

        return safe_push_variants
    from flows.safe_push_flow import safe_push

    return safe_push


def describe(deployments: list[Any]) -> list[dict[str, Any]]:
    """A JSON view of the deployments, for --print and for tests."""
    from prefect.utilities.callables import parameter_schema

    from flows.safe_push_flow import safe_push
    from flows.variants_flow import safe_push_variants

    flows = {f.name: f for f in (safe_push, safe_push_variants)}
    out = []
    for d in deployments:
        form = parameter_schema(flows[d.flow_name]).model_dump()  # the UI's run form
        out.append(
            {
                "name": d.name,
                "flow_name": d.flow_name,
                "schedules": [
                    {"cron": s.schedule.cron, "timezone": s.schedule.timezone}
                    for s in d.schedules or []
                ],
                "parameters": d.parameters,
                "triggers": [t.model_dump(mode="json") for t in d.triggers],
                "parameter_openapi_schema": form,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"deployments.serve: error: {exc}", file=sys.stderr)
        return 2
    try:
        settings = settings_from_args(args)
    except UsageError as exc:
        print(f"deployments.serve: error: {exc}", file=sys.stderr)
        return 2
    deployments = build_deployments(settings)
    if args.print_only:
        print(json.dumps(describe(deployments), indent=2, default=str))
        return 0
    from prefect import serve

    runner_kwargs: dict[str, Any] = {}
    if args.poll_seconds:
        runner_kwargs["query_seconds"] = args.poll_seconds
    # SIGTERM (what a service manager sends) stops serving as Ctrl-C does. Prefect's runner
    # pauses the schedules itself once it has started; a signal that lands earlier would exit
    # without pausing, so the schedules are paused here too, whatever ended the serving.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve(*deployments, limit=args.limit, **runner_kwargs)
    finally:
        _STOPPING.set()
        pause([f"{d.flow_name}/{d.name}" for d in deployments])
    return 0


_STOPPING = threading.Event()  # main() has seen the end of serving: no more interrupts


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM before Prefect's runner takes the signal over: stop like Ctrl-C. Python drops
    an exception raised while a finalizer (`__del__`) runs, so the signal is sent again a
    second later until main() has seen it; by then it may reach the runner's own handler."""

    def again() -> None:
        if not _STOPPING.is_set():
            os.kill(os.getpid(), signal.SIGTERM)

    timer = threading.Timer(1.0, again)
    timer.daemon = True
    timer.start()
    raise KeyboardInterrupt


def pause(names: list[str]) -> None:
    """Pause the named deployments' schedules (best effort: the server may be gone)."""
    from prefect.client.orchestration import get_client

    with contextlib.suppress(Exception), get_client(sync_client=True) as client:
        for name in names:
            with contextlib.suppress(Exception):
                client.pause_deployment(client.read_deployment_by_name(name).id)


if __name__ == "__main__":
    sys.exit(main())
