"""Variants: several cog-safe-push configs checked in one invocation (sizes, hardware,
fine-tunes of one model). Pure: which files, what each variant is called, and whether the
set can run side by side; every problem a UsageError (exit 2) found before any side effect.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tasks.core.config import Config, load_config
from tasks.core.errors import UsageError

CONFIG_SUFFIXES = (".yaml", ".yml")


class Variant(BaseModel):
    """One config of an invocation, named so that a person can tell the variants apart."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="What the variant is called in tables and run names")
    config: Config = Field(description="The variant's cog-safe-push.yaml")
    path: str | None = Field(None, description="The file it was read from, if any")


def config_paths(values: list[str], cwd: str | Path = ".") -> list[Path]:
    """The config files `--config` names: a file as it is, a folder as its *.yaml and *.yml
    files in name order; each file once. A folder with none of them is a mistake, not an
    empty run."""
    found: list[Path] = []
    for value in values:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else Path(cwd) / path
        if path.is_dir():
            inside = sorted(
                p for p in path.iterdir() if p.suffix in CONFIG_SUFFIXES and p.is_file()
            )
            if not inside:
                raise UsageError(f"--config {value}: the folder holds no *.yaml or *.yml file")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"config file not found: {value}")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def variant_names(paths: list[Path]) -> list[str]:
    """Each file's stem (`configs/large.yaml` is `large`); where two stems clash, the
    files' paths below their common folder, without the suffix."""
    stems = [path.stem for path in paths]
    if len(set(stems)) == len(stems):
        return stems
    resolved = [path.resolve() for path in paths]
    common = Path(*_common_parts(resolved))
    return [str(path.relative_to(common).with_suffix("")) for path in resolved]


def _common_parts(paths: list[Path]) -> tuple[str, ...]:
    parts = [path.parent.parts for path in paths]
    shared: list[str] = []
    for column in zip(*parts, strict=False):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    return tuple(shared)


def load_variants(values: list[str], cwd: str | Path = ".") -> list[Variant]:
    """Every config `--config` names, loaded and named; all problems before any run."""
    paths = config_paths(values, cwd)
    names = variant_names(paths)
    return [
        Variant(name=name, config=load_config(path), path=str(path))
        for name, path in zip(names, paths, strict=True)
    ]


def check_variants(variants: list[Variant]) -> None:
    """Variants run at once and each pushes its own models: two that write to one model
    (its model, test model, destination or official model) would race each other's
    pushes and wait on each other's lease, so they are refused before anything starts."""
    owners: dict[str, str] = {}
    clashes: list[str] = []
    for variant in variants:
        config = variant.config
        written = {config.model, config.resolved_test_model}
        if config.train is not None:
            written.add(config.resolved_destination)
        if config.official_model:
            written.add(config.official_model)
        for ref in sorted(written):
            other = owners.setdefault(ref, variant.name)
            if other != variant.name:
                clashes.append(f"{ref} ({other} and {variant.name})")
    if clashes:
        raise UsageError(
            "variants must not share a model, test model, destination or official model: "
            + ", ".join(clashes)
        )
    names = [variant.name for variant in variants]
    if len(set(names)) != len(names):
        raise UsageError(f"two variants have the same name: {', '.join(names)}")
