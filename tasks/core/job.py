"""Everything a flow needs to know about one run, in one serialisable, secret-free value.

Built once, at the edge (the command line, or the flow for a deployment's run), and frozen:
every stage reads the same job.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict

from tasks.core.ai_provider import Provider, resolve_provider
from tasks.core.config import Config, ModeName, ModeView
from tasks.core.options import RunOptions
from tasks.core.platform_data import PlatformSpec


class Job(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    config: Config
    options: RunOptions
    spec: PlatformSpec
    cog_dir: str
    reuse_verdicts: bool = True  # an unchanged rerun may reuse a passing verdict (tasks.verdicts)

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def test_model(self) -> str:
        return self.config.resolved_test_model

    def mode(self, name: ModeName) -> ModeView:
        return self.config.mode(name)

    @property
    def ai_provider(self) -> Provider | None:
        """Where this run's AI requests go (tasks.core.ai_provider), or None: no AI."""
        return resolve_provider(self.options.ai_provider, self.spec.kind, os.environ)

    def needs_ai(self) -> bool:
        views = self.config.views
        cases = [case for view in views for case in view.test_cases]
        cases += [c for view in views for group in view.trained_predictions for c in group]
        return self.options.fuzz_generator == "ai" or any(c.match_prompt for c in cases)
