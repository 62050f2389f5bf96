"""Reading cog.yaml: which file holds the predictor and the trainer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tasks.errors import UsageError


@dataclass(frozen=True)
class CogYaml:
    path: Path
    predict: str | None  # "predict.py:Predictor"
    train: str | None  # "train.py:train"

    def file_of(self, kind: str) -> Path:
        """The Python file behind the predict or train reference."""
        ref = self.predict if kind == "predict" else self.train
        if not ref:
            raise UsageError(f"{self.path} has no '{kind}' entry")
        return self.path.parent / ref.split(":", 1)[0]


def read_cog_yaml(cog_dir: str | Path) -> CogYaml:
    path = Path(cog_dir) / "cog.yaml"
    if not path.is_file():
        raise UsageError(f"no cog.yaml in {Path(cog_dir).resolve()}: run this in a Cog directory")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: malformed YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping at the top level")
    refs = {}
    for key in ("predict", "train"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or ":" not in value):
            raise UsageError(f"{path}: '{key}' must look like 'file.py:Name', got {value!r}")
        refs[key] = value
    return CogYaml(path=path, predict=refs["predict"], train=refs["train"])
