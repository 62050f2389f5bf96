"""The Prefect task that produces fuzz inputs (schema generator or AI generator).

Cached by (input-schema hash, fixed inputs, disabled inputs, prompt, iterations, generator,
seed, batch size, AI model): a rerun after fixing the model replays exactly the inputs
that found the bug, and does not pay for the AI again. `--refresh-fuzz` bypasses the cache
(`fuzz_task(refresh=True)`).

Caching choice: the schema generator without a seed is meant to explore something new on
every run, so it is not cached (the key function returns None). The AI generator is cached
even without a seed: its answers are the costly part, and replaying them is the point.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any, Literal

from prefect import Task, task
from prefect.context import TaskRunContext

from tasks import openapi
from tasks.errors import UsageError
from tasks.fuzz_inputs import as_input_schema, generate_schema_inputs
from tasks.retry import retry_condition

# Bump when generation changes in a way that should not replay old cached inputs.
GENERATOR_VERSION = 1
CACHE_EXPIRATION = timedelta(days=30)

Generator = Literal["schema", "ai"]


def fuzz_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str | None:
    """Cache key for `make_fuzz_inputs`; None (no caching) for unseeded schema runs."""
    generator = parameters.get("generator")
    seed = parameters.get("seed")
    if generator == "schema" and seed is None:
        return None
    material = {
        "version": GENERATOR_VERSION,
        "schema": openapi.schema_hash(as_input_schema(parameters.get("input_schema") or {})),
        "fixed": parameters.get("fixed") or {},
        "disabled": sorted(parameters.get("disabled") or []),
        "prompt": parameters.get("prompt") or None,
        "iterations": parameters.get("iterations"),
        "generator": generator,
        "seed": seed,
        "batch_size": parameters.get("batch_size", 10) if generator == "ai" else None,
        "ai_model": parameters.get("ai_model") if generator == "ai" else None,
    }
    return f"fuzz-inputs-{openapi.schema_hash(material)[:32]}"


def _log(message: str) -> None:
    try:
        from prefect.logging import get_run_logger

        get_run_logger().info(message)
    except Exception:  # noqa: BLE001 - outside a run (e.g. `.fn` in tests) there is no logger
        pass


def generate_inputs(
    input_schema: dict[str, Any],
    iterations: int,
    fixed: dict[str, Any],
    disabled: list[str],
    prompt: str | None,
    generator: Generator,
    seed: int | None,
    batch_size: int = 10,
    ai_model: str | None = None,
) -> list[dict[str, Any]]:
    """The undecorated body: pick the generator and run it."""
    if generator == "schema":
        return generate_schema_inputs(
            input_schema, iterations, fixed=fixed, disabled=disabled, seed=seed
        )
    if generator == "ai":
        from tasks.ai import AI, ai_available
        from tasks.fuzz_ai import FuzzStats, generate_ai_inputs

        if not ai_available():
            raise UsageError(
                "--fuzz-generator ai needs ANTHROPIC_API_KEY; set it or use --fuzz-generator schema"
            )
        stats = FuzzStats()
        payloads = generate_ai_inputs(
            input_schema,
            iterations,
            fixed=fixed,
            disabled=disabled,
            prompt=prompt,
            batch_size=batch_size,
            ai=AI(model=ai_model),
            rng=random.Random(seed),
            stats_out=stats,
        )
        _log(
            f"AI generated {stats.generated} fuzz inputs in {stats.batches} batches "
            f"({stats.reasks} re-asks); {stats.repaired} needed repair"
        )
        return payloads
    raise UsageError(f"unknown fuzz generator {generator!r}: use 'schema' or 'ai'")


@task(
    name="fuzz inputs",
    cache_key_fn=fuzz_cache_key,
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
    result_serializer="json",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_condition,
)
def make_fuzz_inputs(
    input_schema: dict[str, Any],
    iterations: int,
    fixed: dict[str, Any],
    disabled: list[str],
    prompt: str | None,
    generator: Generator,
    seed: int | None,
    batch_size: int = 10,
    ai_model: str | None = None,
) -> list[dict[str, Any]]:
    """Generate `iterations` valid fuzz payloads (cached; see module docstring)."""
    return generate_inputs(
        input_schema, iterations, fixed, disabled, prompt, generator, seed, batch_size, ai_model
    )


def fuzz_task(refresh: bool = False) -> Task[..., list[dict[str, Any]]]:
    """`make_fuzz_inputs`, or a copy that ignores and overwrites the cache (--refresh-fuzz)."""
    return make_fuzz_inputs.with_options(refresh_cache=True) if refresh else make_fuzz_inputs
