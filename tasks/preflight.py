"""Preflight: every problem with the run's input, found before any side effect, reported at once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prefect import task

from tasks.checkers import validate_case
from tasks.cog_yaml import read_cog_yaml
from tasks.config import check_names
from tasks.errors import SafePushError, UsageError
from tasks.job import Job
from tasks.platforms import get_platform
from tasks.results import StageResult


def local_problems(job: Job) -> list[str]:
    """Problems visible without talking to any platform (pure apart from reading files)."""
    problems: list[str] = []
    config, options = job.config, job.options
    try:
        check_names(config)
    except UsageError as exc:
        problems.append(str(exc))
    if options.push_official_model and not config.official_model:
        problems.append("--push-official-model needs official_model in the config")
    try:
        cog = read_cog_yaml(job.cog_dir)
    except UsageError as exc:
        problems.append(str(exc))
    else:
        modes = ["train"] if config.train else []
        if config.predict or not config.train:
            modes.append("predict")
        for mode in modes:
            ref = cog.train if mode == "train" else cog.predict
            if not ref:
                problems.append(
                    f"{cog.path} has no '{mode}' entry but the config has a {mode} section"
                )
            elif not cog.file_of(mode).is_file():
                problems.append(f"{cog.file_of(mode)} named in cog.yaml does not exist")
    for mode in ("train", "predict"):
        for index, case in enumerate(job.test_cases(mode), start=1):
            try:
                validate_case(case.checker_dict())
            except UsageError as exc:
                problems.append(f"{mode} test case {index}: {exc}")
    if config.dockerfile and not (Path(job.cog_dir) / config.dockerfile).is_file():
        problems.append(f"dockerfile {config.dockerfile} does not exist")
    if job.needs_ai() and not os.environ.get("ANTHROPIC_API_KEY"):
        problems.append(
            "ANTHROPIC_API_KEY is not set, but a match_prompt test case or --fuzz-generator ai needs the AI"
        )
    if job.spec.kind == "replicate":
        if not os.environ.get("REPLICATE_API_TOKEN"):
            problems.append("REPLICATE_API_TOKEN is not set (or use --platform local)")
        if shutil.which("cog") is None:
            problems.append("the cog executable is not on PATH: install Cog to push to Replicate")
    if job.spec.kind == "local" and job.spec.python and shutil.which(job.spec.python) is None:
        problems.append(f"interpreter {job.spec.python} for the local platform not found")
    return problems


def platform_problems(job: Job) -> list[str]:
    """Problems only the platform can reveal: credentials, missing models."""
    platform = get_platform(job.spec)
    try:
        platform.check_credentials()
    except SafePushError as exc:
        return [str(exc)]
    problems: list[str] = []
    checks_model = job.spec.kind == "replicate" and not job.options.push_official_model
    if checks_model and platform.get_model(job.model) is None:
        problems.append(f"model {job.model} does not exist on Replicate: create it first")
    return problems


@task(name="preflight")
def preflight(job: Job) -> StageResult:
    problems = local_problems(job)
    if not problems:
        problems = platform_problems(job)
    if problems:
        return StageResult("preflight", "failed", "; ".join(problems))
    return StageResult("preflight", "passed")
