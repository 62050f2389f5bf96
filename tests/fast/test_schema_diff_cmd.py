"""The schema-diff command: inputs it reads, exit codes, text and JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flows.schema_diff_command import main
from tasks.core.errors import UsageError
from tasks.core.platform_data import VersionInfo

ROOT = Path(__file__).resolve().parents[2]


def cog_doc(
    inputs: dict[str, Any],
    required: list[str] | None = None,
    output: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Cog-shaped OpenAPI document (choices as allOf[$ref], x-order, titles)."""
    props = {
        name: {"title": name.title(), "x-order": i, "description": f"The {name}.", **schema}
        for i, (name, schema) in enumerate(inputs.items())
    }
    schemas: dict[str, Any] = {
        "Input": {"type": "object", "title": "Input", "properties": props},
        "Output": {"title": "Output", **(output or {"type": "string", "format": "uri"})},
        "aspect_ratio": {
            "title": "aspect_ratio",
            "description": "An enumeration.",
            "enum": ["1:1", "16:9"],
            "type": "string",
        },
    }
    if required:
        schemas["Input"]["required"] = required
    if training is not None:
        schemas["TrainingInput"] = {"type": "object", "title": "TrainingInput", **training}
        schemas["TrainingOutput"] = {
            "title": "TrainingOutput",
            "type": "object",
            "properties": {"weights": {"type": "string", "format": "uri", "title": "Weights"}},
        }
    return {"openapi": "3.0.2", "info": {"title": "Cog"}, "components": {"schemas": schemas}}


OLD = cog_doc(
    {
        "prompt": {"type": "string"},
        "aspect_ratio": {
            "allOf": [{"$ref": "#/components/schemas/aspect_ratio"}],
            "default": "1:1",
        },
        "steps": {"type": "integer", "default": 28, "minimum": 1, "maximum": 50},
    },
    required=["prompt"],
)
COMPATIBLE = cog_doc(
    {
        "prompt": {"type": "string"},
        "aspect_ratio": {
            "allOf": [{"$ref": "#/components/schemas/aspect_ratio"}],
            "default": "1:1",
        },
        "steps": {"type": "integer", "default": 28, "minimum": 1, "maximum": 100},
        "seed": {"type": "integer"},
    },
    required=["prompt"],
)
BREAKING = cog_doc(
    {"prompt": {"type": "string"}, "steps": {"type": "integer", "default": 28, "maximum": 20}},
    required=["prompt"],
)


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def test_compatible_schemas_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([write(tmp_path, "old.json", OLD), write(tmp_path, "new.json", COMPATIBLE)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert len(out) == 2 and all(line.startswith("ok") for line in out)
    assert any("input.seed" in line for line in out)


def test_breaking_schemas_exit_1_and_list_breaking_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([write(tmp_path, "old.json", OLD), write(tmp_path, "new.json", BREAKING)])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert code == 1
    marks = [line.split()[0] for line in lines]
    assert marks == sorted(marks)  # "BREAKING" < "ok": breaking lines first
    text = captured.out
    assert "input.aspect_ratio" in text and "input.steps" in text
    assert "2 breaking change(s)" in captured.err


def test_identical_schemas_exit_0_with_no_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "old.json", OLD)
    assert main([path, path]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "compatible" in captured.err


def test_json_output_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--json", write(tmp_path, "old.json", OLD), write(tmp_path, "new.json", BREAKING)])
    findings = json.loads(capsys.readouterr().out)
    assert code == 1
    assert isinstance(findings, list) and findings
    for item in findings:
        assert set(item) == {"rule", "path", "message", "breaking"}
        assert isinstance(item["breaking"], bool)
    rules = {item["rule"]: item["breaking"] for item in findings}
    assert rules["input-removed"] is True
    assert rules["maximum-tightened"] is True
    assert rules["minimum-relaxed"] is False  # dropped minimum: a relaxed bound is listed too
    flags = [item["breaking"] for item in findings]
    assert flags == sorted(flags, reverse=True)


def test_json_output_of_compatible_pair_is_an_array(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "old.json", OLD)
    assert main([path, path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_version_object_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = {"id": "a" * 64, "created_at": "2024-01-01T00:00:00Z", "openapi_schema": OLD}
    new = {"latest_version": {"id": "b" * 64, "openapi_schema": BREAKING}, "name": "flux"}
    code = main([write(tmp_path, "old.json", old), write(tmp_path, "new.json", new), "--json"])
    assert code == 1
    assert any(item["path"] == "input.aspect_ratio" for item in json.loads(capsys.readouterr().out))


def test_train_compares_training_schemas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = {"type": "integer", "default": 1000}
    old = cog_doc({"prompt": {"type": "string"}}, training={"properties": {"steps": steps}})
    new = cog_doc(
        {},  # the predict input changed a lot; --train must not care
        training={"properties": {"steps": steps, "lr": {"type": "number"}}, "required": ["lr"]},
    )
    old_path, new_path = write(tmp_path, "old.json", old), write(tmp_path, "new.json", new)
    assert main([old_path, new_path, "--train", "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["path"]) for f in findings] == [
        ("input-added-required", "training_input.lr")
    ]
    assert main([old_path, new_path, "--json"]) == 1
    assert {f["path"] for f in json.loads(capsys.readouterr().out)} == {"input.prompt"}


def test_train_without_training_schemas_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "old.json", OLD)
    assert main([path, path, "--train"]) == 2
    err = capsys.readouterr().err
    assert "TrainingInput" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"hello": "world"}', "not an OpenAPI schema"),
        ("[1, 2, 3]", "not an OpenAPI schema"),
        ('{"openapi_schema": "oops"}', "openapi_schema is not an OpenAPI document"),
    ],
)
def test_unreadable_or_non_schema_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert main([str(bad), write(tmp_path, "new.json", OLD)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "OLD" in lines[0]


def test_binary_file_and_directory_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)))
    good = write(tmp_path, "good.json", OLD)
    assert main([good, str(binary)]) == 2
    assert "NEW" in capsys.readouterr().err
    assert main([str(tmp_path), good]) == 2
    assert "directory" in capsys.readouterr().err


def test_missing_path_that_is_not_a_model_ref_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.json")
    assert main([missing, write(tmp_path, "new.json", OLD)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no such file" in err and len(err.splitlines()) == 1


def test_broken_ref_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = cog_doc({"size": {"allOf": [{"$ref": "#/components/schemas/Missing"}]}})
    assert main([write(tmp_path, "old.json", broken), write(tmp_path, "new.json", OLD)]) == 2
    assert "points nowhere" in capsys.readouterr().err


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["only-one-argument.json"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "schema-diff: error: the following arguments are required: NEW"
    ]
    assert main(["a", "b", "--platform", "mars"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "invalid choice: 'mars'" in line


class FakePlatform:
    """Just the two look-ups the command makes; versions keyed by (ref, id)."""

    def __init__(self, versions: dict[tuple[str, str], dict[str, Any]], latest: str) -> None:
        self.versions = versions
        self.latest = latest
        self.calls: list[tuple[str, str | None]] = []

    def latest_version(self, ref: str) -> VersionInfo | None:
        self.calls.append((ref, None))
        if ref != "acme/flux":
            return None
        return VersionInfo(id=self.latest, openapi_schema=self.versions[(ref, self.latest)])

    def get_version(self, ref: str, version_id: str) -> VersionInfo:
        self.calls.append((ref, version_id))
        if (ref, version_id) not in self.versions:
            raise UsageError(f"version {version_id} of {ref} does not exist")
        return VersionInfo(id=version_id, openapi_schema=self.versions[(ref, version_id)])


def test_model_references_use_the_platform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakePlatform({("acme/flux", "v1"): OLD, ("acme/flux", "v2"): BREAKING}, latest="v2")
    assert main(["acme/flux:v1", "acme/flux"], platform=fake) == 1  # type: ignore[arg-type]
    assert fake.calls == [("acme/flux", "v1"), ("acme/flux", None)]
    assert "input.aspect_ratio" in capsys.readouterr().out
    # A file on one side and a reference on the other.
    assert main([write(tmp_path, "old.json", OLD), "acme/flux:v1"], platform=fake) == 0  # type: ignore[arg-type]


def test_model_reference_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakePlatform({("acme/flux", "v1"): OLD}, latest="v1")
    assert main(["acme/flux:v9", "acme/flux"], platform=fake) == 2  # type: ignore[arg-type]
    assert "does not exist" in capsys.readouterr().err
    assert main(["acme/empty", "acme/flux"], platform=fake) == 2  # type: ignore[arg-type]
    assert "has no versions" in capsys.readouterr().err


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REPLICATE_API_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "flows.schema_diff_command", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_module_entry_point_exit_codes_without_traceback(tmp_path: Path) -> None:
    old, new = write(tmp_path, "old.json", OLD), write(tmp_path, "new.json", BREAKING)
    broken = run_module(old, new)
    assert broken.returncode == 1 and broken.stdout.startswith("BREAKING")
    fine = run_module(old, old)
    assert fine.returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    unreadable = run_module(str(bad), new)
    assert unreadable.returncode == 2
    assert "Traceback" not in unreadable.stderr
    assert len(unreadable.stderr.strip().splitlines()) == 1
