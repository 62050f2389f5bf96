"""Everything a flow needs to know about one run, in one serialisable, secret-free value."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tasks.core.config import Config, TestCase
from tasks.core.options import RunOptions
from tasks.core.platform_data import PlatformSpec


class Job(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: Config
    options: RunOptions
    spec: PlatformSpec
    cog_dir: str

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def test_model(self) -> str:
        return self.config.resolved_test_model

    def test_cases(self, mode: str) -> list[TestCase]:
        section = self.config.train if mode == "train" else self.config.predict
        return list(section.test_cases) if section else []

    def needs_ai(self) -> bool:
        cases = self.test_cases("predict") + self.test_cases("train")
        return self.options.fuzz_generator == "ai" or any(c.match_prompt for c in cases)
