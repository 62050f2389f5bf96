"""Everything a flow needs to know about one run, in one serialisable, secret-free value.

Built once, at the edge (the command line, or the flow for a deployment's run), and frozen:
every stage reads the same job.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

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

    def needs_ai(self) -> bool:
        cases = [case for view in self.config.views for case in view.test_cases]
        return self.options.fuzz_generator == "ai" or any(c.match_prompt for c in cases)
