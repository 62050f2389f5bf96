"""Run options that are not part of cog-safe-push.yaml: how to run, not what to check.

A pydantic model so that Prefect renders it as a typed form in the UI. Never holds a secret.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    no_push: bool = Field(False, description="Only test; never push to the model")
    push_official_model: bool = Field(
        False, description="Push to official_model and do nothing else"
    )
    platform: Literal["replicate", "local"] | None = Field(
        None, description="Where models live; default replicate when a token is set, else local"
    )
    seed: int | None = Field(None, description="Seed for reproducible fuzz inputs")
    fuzz_generator: Literal["schema", "ai"] | None = Field(
        None, description="Fuzz input generator; default ai when the run has an AI"
    )
    fuzz_batch_size: int = Field(10, ge=1, le=50, description="Payloads per AI request")
    refresh: bool = Field(
        False,
        description="Ignore every cache (lint, test push, schemas, predictions, fuzz inputs) "
        "and replace what it holds",
    )
    refresh_fuzz: bool = Field(
        False, description="Generate new fuzz inputs instead of the cached ones"
    )
    fail_fast: bool = Field(False, description="Stop at the first failed check")
    ai_provider: Literal["anthropic", "replicate"] | None = Field(
        None,
        description="Where the AI checks run: anthropic (ANTHROPIC_API_KEY) or replicate "
        "(Claude hosted on Replicate, REPLICATE_API_TOKEN); default: "
        "COG_SAFE_PUSH_AI_PROVIDER, else anthropic when its key is set, else replicate on "
        "the replicate platform",
    )
    ai_model: str | None = Field(
        None,
        description="Model for AI checks and fuzzing: an Anthropic model id, or owner/name "
        "of a model hosted on Replicate",
    )
    python: str | None = Field(
        None, description="Interpreter that runs models on the local platform"
    )
    report_json: str | None = Field(None, description="Write the JSON report here")
    junit_xml: str | None = Field(None, description="Write a JUnit XML report here")
    verbose: int = Field(0, ge=0, le=3, description="Log detail, 0-3")

    @property
    def official_push(self) -> bool:
        """--push-official-model, unless --no-push: as in the seed tool, --no-push wins in
        every mode (the normal checks run and nothing is pushed)."""
        return self.push_official_model and not self.no_push
