"""Usage problems visible without a platform: checked before Prefect even starts (exit 2).

Pure apart from reading files: the config's names and test cases, cog.yaml and the files it
names, credentials the run will need, and the interpreter for local models. Every problem is
reported at once, so one round of fixes is enough.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tasks.core.ai_provider import OFF, PROVIDER_ENV, env_setting, setting_problems
from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.config import CHECKER_FIELDS, check_names
from tasks.core.errors import UsageError
from tasks.core.job import Job
from tasks.core.refs import split_ref


def checker_of(case: Mapping[str, Any]) -> str | None:
    """The one checker a case names, or None; more than one is a usage error."""
    named = [key for key in CHECKER_FIELDS if case.get(key) is not None]
    if len(named) > 1:
        raise UsageError(f"a test case may use only one checker, this one has {', '.join(named)}")
    return named[0] if named else None


def compile_jq(query: str) -> Any:
    import jq

    try:
        return jq.compile(query)
    except ValueError as exc:
        raise UsageError(f"jq_query does not compile: {query!r}: {exc}") from None


def validate_case(case: Mapping[str, Any]) -> None:
    """Raise UsageError for a checker that can never work (before anything is pushed)."""
    checker = checker_of(case)
    if checker is None:
        return
    value = case[checker]
    if not isinstance(value, str):
        raise UsageError(f"{checker} must be a string, got {type(value).__name__}")
    if checker == "jq_query":
        compile_jq(value)
    if checker in ("match_prompt", "error_contains", "jq_query", "match_url") and not value.strip():
        raise UsageError(f"{checker} must not be empty")


# Prefect stores flow parameters (the config is one) with the run and refuses more than 512 KB.
PARAMETER_LIMIT = 512 * 1024


def report_path_problem(flag: str, value: str | None) -> str | None:
    """Why `value` cannot be written as a report file, or None when it can."""
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_dir():
        return f"{flag} {value} is a directory; give a file path"
    if path.exists():
        return None if os.access(path, os.W_OK) else f"{flag} {value} is not writable"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return f"{flag} {value}: cannot create a file under {folder}"
    return None


def parameters_size(job: Job) -> int:
    """Bytes of the flow parameters this run would send to Prefect."""
    config = job.config.model_dump_json(exclude_none=True)
    return len(config.encode()) + len(job.options.model_dump_json().encode())


def ai_problems(job: Job) -> list[str]:
    """An AI choice that cannot work, or a check that needs an AI the run does not have."""
    problems = setting_problems(job.options.ai_provider, os.environ)
    provider = job.ai_provider
    if not problems and provider is None and job.needs_ai():
        off = not job.options.ai_provider and env_setting(os.environ) in OFF
        problems.append(
            "a match_prompt test case or --fuzz-generator ai needs the AI, and there is none"
            + (f" ({PROVIDER_ENV} is {os.environ[PROVIDER_ENV].strip()})" if off else "")
            + ": set ANTHROPIC_API_KEY, or REPLICATE_API_TOKEN with --ai-provider replicate"
        )
    model = job.options.ai_model
    if provider == "replicate" and model:
        try:
            split_ref(model, "--ai-model")
        except UsageError as exc:
            problems.append(f"{exc} (a model hosted on Replicate)")
    return problems


def local_problems(job: Job) -> list[str]:
    """Every problem with the run's input that needs no platform to see."""
    problems: list[str] = []
    config, options = job.config, job.options
    try:
        check_names(config)
    except UsageError as exc:
        problems.append(str(exc))
    if options.official_push and not config.official_model:
        problems.append("--push-official-model needs official_model in the config")
    try:
        cog = read_cog_yaml(job.cog_dir)
    except UsageError as exc:
        problems.append(str(exc))
    else:
        for mode in config.modes:
            if not cog.refs().get(mode):
                problems.append(
                    f"{cog.path} has no '{mode}' entry but the config has a {mode} section"
                )
            elif not cog.file_of(mode).is_file():
                problems.append(f"{cog.file_of(mode)} named in cog.yaml does not exist")
    for view in config.views:
        for index, case in enumerate(view.test_cases, start=1):
            try:
                validate_case(case.checker_dict())
            except UsageError as exc:
                problems.append(f"{view.name} test case {index}: {exc}")
        for index, group in enumerate(view.trained_predictions, start=1):
            for number, case in enumerate(group, start=1):
                try:
                    validate_case(case.checker_dict())
                except UsageError as exc:
                    problems.append(
                        f"{view.name} test case {index}, prediction {number} on the trained "
                        f"version: {exc}"
                    )
    if config.dockerfile and not (Path(job.cog_dir) / config.dockerfile).is_file():
        problems.append(f"dockerfile {config.dockerfile} does not exist")
    problems += ai_problems(job)
    if job.spec.kind == "replicate":
        if not os.environ.get("REPLICATE_API_TOKEN"):
            problems.append("REPLICATE_API_TOKEN is not set (or use --platform local)")
        if shutil.which("cog") is None:
            problems.append("the cog executable is not on PATH: install Cog to push to Replicate")
    if job.spec.kind == "local" and job.spec.python and shutil.which(job.spec.python) is None:
        problems.append(f"interpreter {job.spec.python} for the local platform not found")
    for flag, value in (("--report-json", options.report_json), ("--junit-xml", options.junit_xml)):
        problem = report_path_problem(flag, value)
        if problem:
            problems.append(problem)
    size = parameters_size(job)
    if size > PARAMETER_LIMIT:
        problems.append(
            f"the configuration is {size // 1024} KB, over Prefect's {PARAMETER_LIMIT // 1024} KB "
            "limit for flow parameters: move large test-case inputs into files or URLs"
        )
    return problems
