"""What a fuzz run asks for, in one value: the schema, how many inputs, which generator.

One value instead of nine parameters copied from function to function; it also knows which
of its fields decide the generated inputs (the cache key) and which generator to call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from tasks.core import openapi
from tasks.core.ai_provider import Provider
from tasks.core.errors import UsageError
from tasks.fuzz.generate import generate_schema_inputs
from tasks.fuzz.schema_view import as_input_schema

# Bump when generation changes in a way that should not replay old cached inputs.
GENERATOR_VERSION = 3

Generator = Literal["schema", "ai"]


@dataclass(frozen=True)
class FuzzRequest:
    input_schema: dict[str, Any]
    iterations: int
    generator: Generator = "schema"
    fixed: dict[str, Any] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    prompt: str | None = None
    seed: int | None = None
    batch_size: int = 10
    ai_model: str | None = None
    ai_provider: Provider | None = "anthropic"  # where the AI runs (tasks.core.ai_provider)

    def cache_material(self) -> dict[str, Any] | None:
        """What decides the inputs; None (never cached) for an unseeded schema generator, which
        is meant to explore something new on every run. The AI generator is cached even
        without a seed: its answers are the costly part, and replaying them is the point."""
        if self.generator == "schema" and self.seed is None:
            return None
        ai = self.generator == "ai"
        return {
            "version": GENERATOR_VERSION,
            "schema": openapi.schema_hash(as_input_schema(self.input_schema)),
            "fixed": self.fixed,
            "disabled": sorted(self.disabled),
            "prompt": self.prompt or None,
            "iterations": self.iterations,
            "generator": self.generator,
            "seed": self.seed,
            "batch_size": self.batch_size if ai else None,
            "ai_model": self.ai_model if ai else None,
            "ai_provider": self.ai_provider if ai else None,
        }


def generate_inputs(request: FuzzRequest, log: Any = None) -> list[dict[str, Any]]:
    """Run the requested generator. `log(message)` hears what the AI generator cost."""
    if request.generator == "schema":
        return generate_schema_inputs(
            request.input_schema,
            request.iterations,
            fixed=request.fixed,
            disabled=request.disabled,
            seed=request.seed,
        )
    if request.generator != "ai":
        raise UsageError(f"unknown fuzz generator {request.generator!r}: use 'schema' or 'ai'")
    from tasks.ai.client import make_ai
    from tasks.fuzz.ai_batches import FuzzStats, generate_ai_inputs

    ai = make_ai(request.ai_model, request.ai_provider)
    if ai is None:
        raise UsageError(
            "--fuzz-generator ai needs the AI: set ANTHROPIC_API_KEY, or REPLICATE_API_TOKEN "
            "with --ai-provider replicate; or use --fuzz-generator schema"
        )
    stats = FuzzStats()
    payloads = generate_ai_inputs(
        request.input_schema,
        request.iterations,
        fixed=request.fixed,
        disabled=request.disabled,
        prompt=request.prompt,
        batch_size=request.batch_size,
        ai=ai,
        rng=random.Random(request.seed),
        stats_out=stats,
    )
    if log is not None:
        log(
            f"AI generated {stats.generated} fuzz inputs in {stats.batches} batches "
            f"({stats.reasks} re-asks); {stats.repaired} needed repair"
        )
    return payloads
