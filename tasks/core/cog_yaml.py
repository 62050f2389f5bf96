"""Reading cog.yaml: which files hold the predictor and the trainer, and what the model asks of
its environment. The one reader: preflight, lint and the local platform all use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.core.errors import UsageError
from tasks.core.safe_yaml import load_yaml


@dataclass(frozen=True)
class CogYaml:
    path: Path
    predict: str | None  # "predict.py:Predictor"
    train: str | None  # "train.py:train"
    data: dict[str, Any] = field(default_factory=dict)  # the whole document

    def file_of(self, kind: str) -> Path:
        """The Python file behind the predict or train reference."""
        ref = self.refs().get(kind)
        if not ref:
            raise UsageError(f"{self.path} has no '{kind}' entry")
        return self.path.parent / ref.split(":", 1)[0]

    def refs(self) -> dict[str, str]:
        """{"predict": "predict.py:Predictor", "train": "train.py:train"}, for those present."""
        return {
            kind: ref for kind, ref in (("predict", self.predict), ("train", self.train)) if ref
        }

    def max_concurrency(self) -> int:
        """`concurrency: {max: N}`, 1 when absent or unreadable."""
        section = self.data.get("concurrency")
        if isinstance(section, dict):
            try:
                return max(1, int(section.get("max", 1)))
            except (TypeError, ValueError):
                return 1
        return 1

    def build(self) -> dict[str, Any]:
        section = self.data.get("build")
        return section if isinstance(section, dict) else {}

    def build_files(self) -> list[Path]:
        """The files `cog` itself reads to build an image, whatever .dockerignore says:
        cog.yaml, its python_requirements file, and the predictor and trainer files."""
        found = [self.path]
        requirements = self.build().get("python_requirements")
        if isinstance(requirements, str) and requirements.strip():
            found.append(self.path.parent / requirements.strip())
        found += [self.path.parent / ref.split(":", 1)[0] for ref in self.refs().values()]
        return found


def read_cog_yaml(cog_dir: str | Path) -> CogYaml:
    path = Path(cog_dir) / "cog.yaml"
    if not path.is_file():
        raise UsageError(f"no cog.yaml in {Path(cog_dir).resolve()}: run this in a Cog directory")
    data = load_yaml(path) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping at the top level")
    refs = {}
    for key in ("predict", "train"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or ":" not in value):
            raise UsageError(f"{path}: '{key}' must look like 'file.py:Name', got {value!r}")
        refs[key] = value
    return CogYaml(path=path, predict=refs["predict"], train=refs["train"], data=data)
