"""Command line: the seed tool's flags (unchanged) plus this tool's own, turned into a Config
and RunOptions, and `main`, which runs the safe_push flow and turns its outcome into an exit
code. Prefect is imported only once a run is certain, so `--help`, `--help-config` and every
usage error (exit 2) answer at once.

Exit codes: 0 passed, 1 a check failed, 2 bad usage or input, 3 no Prefect server could be
had (flows.runtime), 4 pushed but not confirmed (the model's latest version is not shown to be
the one pushed, with the tested schema; the deployment is left as it was), 130 interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.usage_parser import UsageParser, typed
from tasks.core.config import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_PREDICT_TIMEOUT,
    Config,
    FuzzConfig,
    PredictConfig,
    config_from_dict,
    help_config_template,
    load_config,
    parse_disabled_inputs,
    parse_inputs,
    parse_test_case,
)
from tasks.core.errors import EXIT_CODES, UsageError
from tasks.core.job import Job
from tasks.core.options import RunOptions
from tasks.core.variants import Variant, check_variants, load_variants

if TYPE_CHECKING:
    from tasks.core.run_scope import RunScope


def build_parser() -> argparse.ArgumentParser:
    p = UsageParser(
        prog="cog-safe-push",
        description="Safely push a Cog model, with tests",
        epilog="Also: cog-safe-push schema-diff OLD NEW [--train] [--json]; "
        "cog-safe-push server status|stop (the managed local Prefect server)",
    )
    S = argparse.SUPPRESS
    p.add_argument(
        "--config",
        action="append",
        help="Path to the YAML config file. If --config is not passed, ./cog-safe-push.yaml will "
        "be used, if it exists. Any arguments you pass in will override fields on the predict "
        "configuration stanza. Repeat it, or name a folder of *.yaml files, to check several "
        "variants of a model at once (one shared --parallel budget; nothing is pushed unless "
        "every variant passes)",
    )
    p.add_argument(
        "--push-passed-variants",
        action="store_true",
        help="With several configs: push each variant that passed even when another failed "
        "(exit code 1 all the same). Default: nothing is pushed unless every variant passed",
    )
    p.add_argument(
        "--help-config",
        action="store_true",
        help="Print a default cog-safe-push.yaml config to stdout.",
    )
    p.add_argument(
        "--test-model",
        default=S,
        help="Replicate model to test on, in the format <username>/<model-name>. If omitted, "
        "<model>-test will be used. The test model is created automatically if it doesn't exist already",
    )
    p.add_argument(
        "--no-push", action="store_true", help="Only test the model, don't push it to <model>"
    )
    p.add_argument(
        "--test-hardware",
        default=S,
        help="Hardware to run the test model on. Only used when creating the test model, if it "
        "doesn't already exist.",
    )
    p.add_argument(
        "--no-compare-outputs",
        dest="compare_outputs",
        action="store_false",
        default=S,
        help="Don't make predictions to compare that prediction outputs match the current version",
    )
    p.add_argument(
        "--predict-timeout",
        type=int,
        default=S,
        help=f"Timeout (in seconds) for predictions. Default: {DEFAULT_PREDICT_TIMEOUT}",
    )
    p.add_argument(
        "--test-case",
        dest="test_cases",
        action="append",
        type=typed(parse_test_case),
        default=S,
        help="Inputs and expected output that will be used for testing, you can provide multiple "
        "--test-case options for multiple test cases. The first test case will be used when "
        "comparing outputs to the current version. Each --test-case is semicolon-separated "
        "key-value pairs in the format '<key1>=<value1>;<key2=value2>[<output-checker>]'. "
        "<output-checker> can either be '==<exact-string-or-url>' or '~=<ai-prompt>'. If you use "
        "'==<exact-string-or-url>' then the output of the model must match exactly the string or "
        "url you specify. If you use '~=<ai-prompt>' then the AI will verify your output based on "
        "<ai-prompt>. If you omit <output-checker>, it will just verify that the prediction "
        "doesn't throw an error.",
    )
    p.add_argument(
        "--fuzz-fixed-inputs",
        type=typed(parse_inputs),
        default=S,
        help="Inputs that should have fixed values during fuzzing. All other non-disabled input "
        "values will be generated. If no test cases are specified, these will also be used when "
        "comparing outputs to the current version. Semicolon-separated key-value pairs in the "
        "format '<key1>=<value1>;<key2=value2>' (etc.)",
    )
    p.add_argument(
        "--fuzz-disabled-inputs",
        type=typed(parse_disabled_inputs),
        default=S,
        help="Don't pass values for these inputs during fuzzing. Semicolon-separated keys in the "
        "format '<key1>;<key2>' (etc.). If no test cases are specified, these will also be "
        "disabled when comparing outputs to the current version.",
    )
    p.add_argument(
        "--fuzz-iterations",
        type=int,
        default=S,
        help="Maximum number of iterations to run fuzzing.",
    )
    p.add_argument(
        "--fuzz-prompt", default=S, help="Additional prompting for the fuzz input generation"
    )
    p.add_argument("--parallel", type=int, default=S, help="Number of parallel prediction threads.")
    p.add_argument(
        "--ignore-schema-compatibility",
        action="store_true",
        default=S,
        help="Ignore schema compatibility checks when pushing the model (warn instead of fail)",
    )
    p.add_argument(
        "--fast-push",
        action="store_true",
        default=S,
        help="Use the --x-fast flag when doing cog push",
    )
    p.add_argument(
        "--push-official-model",
        action="store_true",
        help="Push to the official model defined in the config, and do nothing else",
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="Increase verbosity level (max 3)"
    )
    # This tool's own flags.
    p.add_argument(
        "--platform",
        choices=["replicate", "local"],
        default=None,
        help="Where models live. Default: replicate when REPLICATE_API_TOKEN is set, otherwise local",
    )
    p.add_argument("--seed", type=int, default=None, help="Seed for reproducible fuzz inputs")
    p.add_argument(
        "--fuzz-generator",
        choices=["schema", "ai"],
        default=None,
        help="How fuzz inputs are made. Default: ai when the run has an AI (see --ai-provider), otherwise schema",
    )
    p.add_argument(
        "--fuzz-batch-size",
        type=int,
        default=10,
        help="Fuzz inputs asked of the AI per request. Default: 10",
    )
    p.add_argument(
        "--refresh",
        action="store_true",
        help="Ignore every cache (code lint, test-model push, version schemas, seeded "
        "predictions, fuzz inputs) and store fresh answers",
    )
    p.add_argument(
        "--refresh-fuzz",
        action="store_true",
        help="Generate new fuzz inputs instead of replaying cached ones",
    )
    p.add_argument(
        "--fail-fast",
        action="store_true",
        help="Stop at the first failed check and cancel what is in flight",
    )
    p.add_argument(
        "--ai-provider",
        choices=["anthropic", "replicate"],
        default=None,
        help="Where the AI checks and AI fuzzing run: anthropic (ANTHROPIC_API_KEY) or "
        "replicate (Claude hosted on Replicate, with REPLICATE_API_TOKEN: one secret for CI). "
        "Default: COG_SAFE_PUSH_AI_PROVIDER, else anthropic when ANTHROPIC_API_KEY is set, "
        "else replicate on the replicate platform with a token, else no AI",
    )
    p.add_argument(
        "--ai-model",
        default=None,
        help="Model for the AI: an Anthropic model id, or owner/name of a Claude hosted on "
        "Replicate (with --ai-provider replicate)",
    )
    p.add_argument(
        "--python",
        default=None,
        help="Interpreter that runs models on the local platform. Default: this one",
    )
    p.add_argument(
        "--no-server",
        action="store_true",
        help="Use a temporary Prefect server for this run instead of the managed local one "
        "or PREFECT_API_URL (also COG_SAFE_PUSH_NO_SERVER=1)",
    )
    p.add_argument(
        "--report-json", metavar="PATH", default=None, help="Write a JSON report to PATH"
    )
    p.add_argument(
        "--junit-xml", metavar="PATH", default=None, help="Write a JUnit XML report to PATH"
    )
    p.add_argument("model", nargs="?", help="Model in the format <owner>/<model-name>")
    return p


@dataclass
class Request:
    """What the command line asked for: one config, or several variants of one."""

    config: Config
    options: RunOptions
    cog_dir: str
    help_config: bool = False
    no_server: bool = False
    variants: list[Variant] = dataclasses.field(default_factory=list)  # two or more, or none
    push_passed_variants: bool = False


def apply_overrides(config: Config, args: argparse.Namespace) -> Config:
    """Command-line flags override the file, as in the seed tool; the result is validated as a
    whole, so cross-field rules (fixed vs disabled inputs, one checker) still hold."""
    data = config.model_dump()
    if args.model:
        data["model"] = args.model
    for field in (
        "test_model",
        "test_hardware",
        "parallel",
        "fast_push",
        "ignore_schema_compatibility",
    ):
        if hasattr(args, field):
            data[field] = getattr(args, field)
    predict_flags = {
        "test_cases": "test_cases",
        "compare_outputs": "compare_outputs",
        "predict_timeout": "predict_timeout",
    }
    fuzz_flags = {
        "fuzz_fixed_inputs": "fixed_inputs",
        "fuzz_disabled_inputs": "disabled_inputs",
        "fuzz_iterations": "iterations",
        "fuzz_prompt": "prompt",
    }
    given = [flag for flag in [*predict_flags, *fuzz_flags] if hasattr(args, flag)]
    if given and data.get("predict") is None:
        data["predict"] = {}
    for flag, field in predict_flags.items():
        if hasattr(args, flag):
            value = getattr(args, flag)
            if flag == "test_cases":
                value = [case.model_dump() for case in value]
            data["predict"][field] = value
    if any(hasattr(args, flag) for flag in fuzz_flags):
        fuzz = data["predict"].get("fuzz") or {}
        for flag, field in fuzz_flags.items():
            if hasattr(args, flag):
                fuzz[field] = getattr(args, flag)
        data["predict"]["fuzz"] = fuzz
    return config_from_dict(data, "command line")


def parse_args(argv: list[str], cwd: str | None = None) -> Request:
    args = build_parser().parse_args(argv)
    if args.verbose > 3:
        raise UsageError("you can use a maximum of 3 -v")
    cwd = cwd or os.getcwd()
    options = RunOptions(
        no_push=args.no_push,
        push_official_model=args.push_official_model,
        platform=args.platform,
        seed=args.seed,
        fuzz_generator=args.fuzz_generator,
        fuzz_batch_size=args.fuzz_batch_size,
        refresh=args.refresh,
        refresh_fuzz=args.refresh_fuzz,
        fail_fast=args.fail_fast,
        ai_provider=args.ai_provider,
        ai_model=args.ai_model,
        python=args.python,
        report_json=args.report_json,
        junit_xml=args.junit_xml,
        verbose=args.verbose,
    )
    if args.help_config:
        return Request(Config(model="<model>"), options, cwd, help_config=True)
    for flag in ("parallel", "predict_timeout", "fuzz_iterations"):
        value = getattr(args, flag, None)
        if value is not None and value < (0 if flag == "fuzz_iterations" else 1):
            raise UsageError(f"--{flag.replace('_', '-')} must be positive, got {value}")
    variants = load_variants(args.config) if args.config else []
    if args.push_passed_variants and len(variants) < 2:
        raise UsageError("--push-passed-variants needs several configs (--config, repeated)")
    if len(variants) > 1:
        if args.model:
            raise UsageError("a model name cannot apply to several configs: name it in each config")
        variants = [
            v.model_copy(update={"config": apply_overrides(v.config, args)}) for v in variants
        ]
        check_variants(variants)
        return Request(
            variants[0].config,
            options,
            cwd,
            no_server=args.no_server,
            variants=variants,
            push_passed_variants=args.push_passed_variants,
        )
    if variants:
        config = variants[0].config
    elif (Path(cwd) / DEFAULT_CONFIG_PATH).is_file():
        config = load_config(Path(cwd) / DEFAULT_CONFIG_PATH)
    else:
        if not args.model:
            raise UsageError("no model given: pass <owner>/<name> or write a cog-safe-push.yaml")
        config = Config(model=args.model, predict=PredictConfig(fuzz=FuzzConfig()))
    return Request(apply_overrides(config, args), options, cwd, no_server=args.no_server)


def main(argv: list[str] | None = None) -> int:
    """`cog-safe-push` and `python -m flows.safe_push`. Without `argv` it runs the process's
    own command line, and a finished run then ends the process without its teardown."""
    own_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["schema-diff"]:
        from flows.schema_diff_command import main as schema_diff_main

        return schema_diff_main(argv[1:])
    if argv[:1] == ["server"]:
        from flows.server_command import main as server_main

        return server_main(argv[1:])
    try:
        request = parse_args(argv)
    except UsageError as exc:
        print(f"cog-safe-push: error: {exc}", file=sys.stderr)
        return 2
    if request.help_config:
        print(help_config_template(), end="")
        return 0
    armed = own_process and _arm_quick_exit()
    code = run(request)
    if armed:
        _QUICK_EXIT.append(code)
    return code


_QUICK_EXIT: list[int] = []  # the exit code of a finished run, once the process may end quickly


def _arm_quick_exit() -> bool:
    """Before Prefect is imported: register the process's last exit hook, which ends a
    finished run's process without the interpreter's teardown (freeing every module and
    object one by one: a fifth of a second after a run, for nothing).

    Everything that matters at exit has happened by then: Prefect sends the run's last
    logs and events from its threads' exit hooks, which run before `atexit` callbacks, and
    every `atexit` callback registered after this one (a temporary Prefect server's stop,
    the local platform's model servers) runs before it. Armed only when it is the first
    callback, so that none is skipped; a run that raised keeps the normal exit."""
    if "prefect" in sys.modules or getattr(atexit, "_ncallbacks", lambda: 1)() != 0:
        return False
    atexit.register(_quick_exit)
    return True


def _quick_exit() -> None:
    if not _QUICK_EXIT:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(_QUICK_EXIT[0])


def run(request: Request) -> int:
    """Check problems visible without a platform (exit 2), get Prefect, run the flow."""
    from flows.console import Console
    from flows.runtime import EXIT_NO_PREFECT, ServerUnavailable, prefect_api
    from flows.server_watch import watched_server
    from tasks.core.usage_checks import local_problems
    from tasks.platforms import platform_reason, resolve_spec
    from tasks.platforms.cog_dir import link_problems

    options = request.options
    console = Console(options.verbose)
    try:
        spec = resolve_spec(options.platform, python=options.python, verbosity=options.verbose)
    except UsageError as exc:  # CI without a token: before any side effect
        console.error(str(exc))
        return 2
    job = Job(config=request.config, options=options, spec=spec, cog_dir=request.cog_dir)
    problems = local_problems(job) + link_problems(job.cog_dir)
    for variant in request.variants[1:]:  # the first is `job`; every variant is checked
        each = job.model_copy(update={"config": variant.config})
        problems += [f"{variant.name}: {p}" for p in local_problems(each) if p not in problems]
    if problems:
        console.error("; ".join(problems))
        return 2
    if not options.verbose:  # with -v the flow's own log line says it
        console.line(platform_reason(spec, options.platform is not None))
    try:
        with (
            prefect_api(request.no_server, console) as runtime,
            watched_server(runtime.api_url, runtime.kind, console.last_words),
        ):
            return _run_flow(job, console, request)
    except ServerUnavailable as exc:
        console.line(f"cannot run: {exc}")
        return EXIT_NO_PREFECT
    except KeyboardInterrupt:
        console.line("interrupted; in-flight predictions canceled, nothing pushed")
        return 130


def _run_flow(job: Job, console: Any, request: Request | None = None) -> int:
    """Run the flow on the job the command line resolved (config, options, platform): the
    safe-push flow, or with several variants the safe-push-variants flow."""
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError

    from flows.heartbeats import prompt_heartbeats
    from flows.runtime import configure_terminal_logging
    from flows.safe_push_flow import report_of, safe_push
    from tasks.core.errors import SafePushError
    from tasks.core.run_scope import last_ended_run, watched_by

    configure_terminal_logging(job.options.verbose)
    earlier = last_ended_run()
    try:
        with console.progress() as progress, watched_by(progress), prompt_heartbeats():
            if request is not None and request.variants:
                from flows.variants_flow import safe_push_variants

                state = safe_push_variants(
                    variants=request.variants,
                    options=job.options,
                    source=job.cog_dir,
                    platform=job.spec,
                    push_passed_variants=request.push_passed_variants,
                    return_state=True,
                )
            else:
                state = safe_push(
                    config=job.config,
                    options=job.options,
                    source=job.cog_dir,
                    platform=job.spec,
                    return_state=True,
                )
    except (httpx.HTTPError, PrefectHTTPStatusError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "Failed to reach API" not in str(exc):
            raise  # a fault of ours, not of the server: keep its traceback
        ended = last_ended_run()
        return _prefect_failed(exc, ended if ended is not earlier else None, console)
    report = report_of(state)
    if isinstance(report, BaseException):
        code = report.exit_code if isinstance(report, SafePushError) else 1
        console.error(str(report).splitlines()[0] if str(report) else type(report).__name__)
        return code
    if "variants" in report:
        console.variants_summary(report)
    else:
        console.summary(report)
    return EXIT_CODES.get(report["status"], 1)


def _prefect_failed(exc: Exception, ended: RunScope | None, console: Any) -> int:
    """The flow call failed in Prefect's own bookkeeping (its server answered with an
    error, e.g. on a full disk), not in a check: the run's verdict, when it reached one,
    stands; otherwise one line, and what was pushed if anything was."""
    cause = " ".join(str(exc).split())[:300] or type(exc).__name__
    report = ended.report if ended is not None else None
    if report is not None:
        console.summary(report)
        console.line(f"the Prefect server could not record the end of this run ({cause})")
        return EXIT_CODES.get(report["status"], 1)
    from flows.server_watch import gave_up

    pushes = ended.pushes() if ended is not None else []
    landed = [f"{ref}:{version}" for ref, version in pushes]
    line, code = gave_up(f"the Prefect server failed ({cause})", landed, "run again")
    console.line(line)
    return code
