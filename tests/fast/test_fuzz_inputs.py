"""Fuzz input validation, repair, the offline generator and the bundled sample media."""

from __future__ import annotations

import ast
import base64
import io
import json
import random
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import wave
from pathlib import Path

import pytest
from PIL import Image

from tasks.fuzz import sample_media
from tasks.fuzz.generate import generate_schema_inputs
from tasks.fuzz.repair import repair_payload, repair_with_notes
from tasks.fuzz.text import NEGATIVE_PROMPTS, PROMPTS
from tasks.fuzz.validate import InvalidPayload, to_json_schema, validate_payload

SCHEDULERS = ["DDIM", "K_EULER", "PNDM", "DPMSolverMultistep"]

# Shaped like Cog's own Input schemas: x-order, enum via allOf, nullable, format: uri.
SCHEMA = {
    "type": "object",
    "title": "Input",
    "required": ["prompt", "image"],
    "properties": {
        "prompt": {"type": "string", "title": "Prompt", "x-order": 0, "description": "Prompt"},
        "negative_prompt": {"type": "string", "x-order": 1, "default": "", "maxLength": 500},
        "image": {"type": "string", "format": "uri", "x-order": 2, "description": "Input image"},
        "voice": {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "x-order": 3,
            "description": "A short recording of the speaker",
        },
        "num_steps": {"type": "integer", "minimum": 1, "maximum": 50, "default": 25, "x-order": 4},
        "guidance": {"type": "number", "minimum": 0, "maximum": 20, "default": 7.5, "x-order": 5},
        "strength": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "default": 0.8,
            "x-order": 6,
        },
        "scheduler": {
            "allOf": [{"enum": SCHEDULERS, "type": "string", "title": "scheduler"}],
            "default": "K_EULER",
            "x-order": 7,
        },
        "seed": {"type": "integer", "nullable": True, "x-order": 8},
        "fast": {"type": "boolean", "default": False, "x-order": 9},
        "api_key": {"type": "string", "format": "password", "x-cog-secret": True, "x-order": 10},
    },
}

SVG_SCHEMA = {
    "type": "object",
    "required": ["photo", "vector"],
    "properties": {
        "photo": {"type": "string", "format": "uri", "description": "Photo to edit"},
        "vector": {"type": "string", "format": "uri", "description": "An SVG or PNG logo"},
    },
}


# --- validation ----------------------------------------------------------------------


def test_validate_accepts_a_good_payload_and_lists_every_problem():
    image = sample_media.as_input_value(sample_media.by_name("scene-256.jpg"))
    assert validate_payload({"prompt": "a cat", "image": image}, SCHEMA) == []
    errors = validate_payload(
        {"image": "not a uri", "num_steps": 51, "scheduler": "euler", "fast": "yes"}, SCHEMA
    )
    joined = "\n".join(errors)
    assert "'prompt' is a required property" in joined
    assert "num_steps: 51 is greater than the maximum of 50" in joined
    assert "scheduler: 'euler' is not one of" in joined
    assert "fast: 'yes' is not of type 'boolean'" in joined
    assert "image: 'not a uri' is not a 'uri'" in joined
    assert len(errors) == 5


def test_openapi_flavour_is_understood():
    draft7 = to_json_schema(
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "nullable": True, "x-order": 1}
    )
    assert draft7 == {"type": ["number", "null"], "exclusiveMinimum": 0}
    schema = {"type": "object", "properties": {"x": {"type": "integer", "nullable": True}}}
    assert validate_payload({"x": None}, schema) == []
    assert validate_payload({"x": 1.5}, schema) != []
    # Messages never carry whole data URIs (they would flood logs and AI prompts).
    big = "data:image/png;base64," + "A" * 5000
    (message,) = validate_payload({"x": big}, schema)
    assert len(message) < 300 and "data:..." in message


def test_a_whole_openapi_document_is_accepted_as_schema():
    document = {"components": {"schemas": {"Input": SCHEMA}}}
    assert validate_payload({"prompt": "x"}, document) == ["'image' is a required property"]


# --- repair --------------------------------------------------------------------------


def test_repair_clamps_rounds_maps_enums_drops_nulls_and_fills_required():
    rng = random.Random(0)
    payload = {
        "prompt": "a cat",
        "num_steps": 80.6,
        "guidance": -3,
        "strength": 1.0,
        "scheduler": "ddim",
        "seed": None,
        "fast": "true",
        "unknown_input": 3,
    }
    repaired, notes = repair_with_notes(payload, SCHEMA, rng=rng)
    assert repaired["num_steps"] == 50 and isinstance(repaired["num_steps"], int)
    assert repaired["guidance"] == 0
    assert 0 < repaired["strength"] < 1
    assert repaired["scheduler"] == "DDIM"
    assert repaired["fast"] is True
    assert "seed" not in repaired and "unknown_input" not in repaired
    assert repaired["image"].startswith("data:image/")  # required, filled with a sample
    assert validate_payload(repaired, SCHEMA) == []
    assert len(notes) == 8  # 5 values fixed, a null and an unknown key dropped, image filled
    assert any("unknown_input" in n for n in notes)


def test_unknown_enum_value_becomes_the_default_and_numeric_strings_become_numbers():
    repaired = repair_payload(
        {"prompt": "x", "scheduler": "nonsense", "num_steps": "12", "image": "https://e.com/a.png"},
        SCHEMA,
        fixed={},
        disabled=[],
        rng=random.Random(1),
    )
    assert repaired["scheduler"] == "K_EULER"
    assert repaired["num_steps"] == 12
    assert repaired["image"] == "https://e.com/a.png"


def test_fixed_inputs_always_present_and_disabled_never():
    repaired = repair_payload(
        {"prompt": "x", "image": "https://e.com/a.png", "fast": True, "guidance": 3},
        SCHEMA,
        fixed={"num_steps": 4, "guidance": 1.5},
        disabled=["fast", "seed"],
        rng=random.Random(2),
    )
    assert repaired["num_steps"] == 4 and repaired["guidance"] == 1.5
    assert "fast" not in repaired and "seed" not in repaired


def test_what_cannot_be_repaired_raises_with_the_reasons():
    with pytest.raises(InvalidPayload) as caught:
        repair_payload(
            {"prompt": {"nested": 1}, "image": "cat.png", "num_steps": "many"},
            SCHEMA,
            fixed={},
            disabled=[],
            rng=random.Random(0),
        )
    text = str(caught.value)
    assert "prompt: {'nested': 1} is not of type 'string'" in text
    assert "num_steps: 'many' is not of type 'integer'" in text
    assert "image: 'cat.png' is not a 'uri'" in text
    assert caught.value.exit_code == 1 and isinstance(caught.value, ValueError)
    # A required input that is also disabled cannot be satisfied: said plainly.
    with pytest.raises(InvalidPayload, match="'prompt' is a required property"):
        repair_payload({}, SCHEMA, fixed={}, disabled=["prompt"], rng=random.Random(0))


# --- offline generator ----------------------------------------------------------------


def test_generator_covers_every_enum_value_and_both_bounds():
    payloads = generate_schema_inputs(SCHEMA, 20, seed=11)
    assert len(payloads) == 20
    assert all(validate_payload(p, SCHEMA) == [] for p in payloads)
    steps = [p["num_steps"] for p in payloads if "num_steps" in p]
    assert {1, 50} <= set(steps)
    assert sum(1 < s < 50 for s in steps) >= 0.75 * len(steps)  # bounds are the exception
    guidance = {p.get("guidance") for p in payloads}
    assert {0, 20} <= guidance
    strengths = [p["strength"] for p in payloads if "strength" in p]
    assert min(strengths) == pytest.approx(0.001) and max(strengths) == pytest.approx(0.999)
    assert {p.get("scheduler") for p in payloads} >= set(SCHEDULERS)
    assert {p.get("fast") for p in payloads} >= {True, False}


def test_generator_first_payload_is_the_everyday_one():
    first = generate_schema_inputs(SCHEMA, 5, seed=3)[0]
    assert first["prompt"] in PROMPTS
    assert first["num_steps"] == 25 and first["scheduler"] == "K_EULER" and first["fast"] is False
    assert "seed" not in first and "voice" not in first  # optional without default: left out


def test_generator_strings_media_and_omissions():
    payloads = generate_schema_inputs(SCHEMA, 30, seed=5)
    prompts = [p["prompt"] for p in payloads]
    assert "" not in prompts  # required: an empty prompt is not a request anyone makes
    assert any(len(text) >= 1000 for text in prompts)  # long string
    assert sum(text in PROMPTS for text in prompts) >= 20  # mostly realistic prompts
    negatives = [p["negative_prompt"] for p in payloads if "negative_prompt" in p]
    assert max(len(n) for n in negatives) == 500  # long, but within maxLength
    assert set(negatives) & set(NEGATIVE_PROMPTS)
    assert any("seed" not in p for p in payloads[1:]) and any("seed" in p for p in payloads)
    for payload in payloads:
        assert payload["image"].startswith("data:image/")
        assert not payload["image"].startswith("data:image/svg")
        if "voice" in payload:  # kind chosen from the description: a recording -> audio
            assert payload["voice"].startswith("data:audio/")
        assert "api_key" not in payload  # secrets are not fuzzed
    images = {p["image"] for p in payloads}
    assert len(images) >= 5  # different formats and sizes across the run


def test_generator_is_reproducible_by_seed():
    first = generate_schema_inputs(SCHEMA, 15, seed=42)
    assert first == generate_schema_inputs(SCHEMA, 15, seed=42)
    assert first != generate_schema_inputs(SCHEMA, 15, seed=43)
    assert generate_schema_inputs(SCHEMA, 15, seed=None) != generate_schema_inputs(
        SCHEMA, 15, seed=None
    )


def test_generator_honours_fixed_and_disabled():
    payloads = generate_schema_inputs(
        SCHEMA, 12, fixed={"num_steps": 3, "scheduler": "PNDM"}, disabled=["fast", "voice"], seed=1
    )
    assert all(p["num_steps"] == 3 and p["scheduler"] == "PNDM" for p in payloads)
    assert not any("fast" in p or "voice" in p for p in payloads)


def test_svg_only_where_the_input_says_so():
    payloads = generate_schema_inputs(SVG_SCHEMA, 40, seed=9)
    assert not any(p["photo"].startswith("data:image/svg+xml") for p in payloads)
    assert any(p["vector"].startswith("data:image/svg+xml") for p in payloads)


def test_tiny_and_degenerate_schemas():
    assert generate_schema_inputs({"type": "object", "properties": {}}, 3, seed=1) == [{}] * 3
    assert generate_schema_inputs(SCHEMA, 0, seed=1) == []
    one = generate_schema_inputs(
        {
            "type": "object",
            "required": ["n"],
            "properties": {
                "n": {"type": "integer", "minimum": 5, "maximum": 5},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                "images": {"type": "array", "items": {"type": "string", "format": "uri"}},
            },
        },
        10,
        seed=2,
    )
    assert all(p["n"] == 5 for p in one)
    assert all(len(p.get("tags", [])) <= 2 for p in one)
    assert any(len(p.get("images", [])) >= 2 for p in one)


# --- the package keeps no state between runs ---------------------------------------------

FUZZ_DIR = Path(__file__).resolve().parents[2] / "tasks" / "fuzz"
_MUTABLE_LITERALS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
_MUTABLE_CALLS = {"list", "dict", "set", "defaultdict", "Counter", "deque", "OrderedDict"}
_CACHES = {"cache", "lru_cache", "cached_property"}


def _callee(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return getattr(target, "id", None) or getattr(target, "attr", "")


def module_state(source: str) -> list[str]:
    """Module-level mutable values, memo caches and `global` writes in one module's source."""
    found = []
    tree = ast.parse(source)
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, _MUTABLE_LITERALS) or (
            isinstance(value, ast.Call) and _callee(value) in _MUTABLE_CALLS
        ):
            found.append(f"line {node.lineno}: mutable module global")
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                if _callee(decorator) in _CACHES:
                    found.append(f"line {node.lineno}: {node.name} caches across runs")
    found += [
        f"line {n.lineno}: global statement" for n in ast.walk(tree) if isinstance(n, ast.Global)
    ]
    return found


def test_fuzz_modules_keep_no_module_level_mutable_state():
    """Per-run state lives in arguments and return values, never in module globals."""
    problems = {
        path.name: module_state(path.read_text(encoding="utf-8")) for path in FUZZ_DIR.glob("*.py")
    }
    assert {name: found for name, found in problems.items() if found} == {}
    # The check itself notices each kind of state.
    assert len(module_state("SEEN = {}\nA: list[int] = []\nB = set()\n")) == 3
    assert module_state("import functools\n@functools.cache\ndef f():\n    return 1\n")
    assert module_state("N = 0\ndef bump():\n    global N\n    N += 1\n")
    assert module_state("WORDS = ('a', 'b')\nLIMIT = 3\nKINDS = frozenset({'x'})\n") == []


# --- sample media ------------------------------------------------------------------------


def test_catalogue_files_are_real_and_small():
    samples = sample_media.catalogue()
    kinds = {s.kind for s in samples}
    assert kinds == set(sample_media.KINDS)
    mimes = {s.mime for s in samples}
    assert {"image/png", "image/jpeg", "image/webp", "audio/x-wav", "audio/mpeg", "video/mp4"} <= (
        mimes
    )
    for sample in samples:
        data = sample.path.read_bytes()
        assert len(data) == sample.size
        uri = sample_media.as_input_value(sample)
        assert len(uri) < 256 * 1024, sample.name
        assert base64.b64decode(uri.split(",", 1)[1]) == data
        assert uri.startswith(f"data:{sample.mime};base64,")
        if sample.kind == "image" and not sample.is_svg:
            with Image.open(io.BytesIO(data)) as image:
                assert image.size == (sample.width, sample.height), sample.name
        if sample.mime == "audio/x-wav":
            with wave.open(str(sample.path)) as handle:
                duration = handle.getnframes() / handle.getframerate()
                assert duration == pytest.approx(sample.duration, abs=0.01)
        if sample.mime == "audio/mpeg":
            assert data[:3] == b"ID3" or data[0] == 0xFF
        if sample.mime == "video/mp4":
            assert data[4:8] == b"ftyp"
    sizes = {(s.width, s.height) for s in samples if s.kind == "image"}
    assert {(64, 64), (256, 256), (512, 384)} <= sizes


@pytest.mark.parametrize(
    ("name", "prop", "kind"),
    [
        ("input_image", {}, "image"),
        ("mask", {}, "image"),
        ("audio_file", {}, "audio"),
        ("file", {"description": "Speech to transcribe"}, "audio"),
        ("input_video", {}, "video"),
        ("clip", {"description": "An mp4 movie"}, "video"),
        ("document", {}, "document"),
        ("training_data", {"description": "A JSONL dataset"}, "data"),
        ("training_data", {}, "archive"),
        ("transcript", {}, "text"),
        ("file", {}, "image"),
    ],
)
def test_kind_for_input(name, prop, kind):
    assert sample_media.kind_for_input(name, prop) == kind


def test_pick_never_gives_svg_unless_allowed():
    rng = random.Random(0)
    assert not any(sample_media.pick("image", rng).is_svg for _ in range(200))
    assert any(sample_media.pick("image", rng, allow_svg=True).is_svg for _ in range(200))
    assert sample_media.accepts_svg("logo", {"description": "SVG file"})
    assert not sample_media.accepts_svg("image", {"description": "A photo"})
    sample = sample_media.by_name("tone-1s.wav")
    assert sample_media.sample_for_value(sample_media.as_input_value(sample)) == sample


# --- the Cog runtime accepts what we generate -------------------------------------------

PREDICTOR = textwrap.dedent(
    """
    from typing import Optional
    from cog import BasePredictor, Input, Path
    from PIL import Image


    class Predictor(BasePredictor):
        def predict(
            self,
            image: Path = Input(description="Input image"),
            voice: Optional[Path] = Input(description="A recording", default=None),
            steps: int = Input(description="Steps", default=4, ge=1, le=8),
            mode: str = Input(description="Mode", default="a", choices=["a", "b", "c"]),
            prompt: str = Input(description="Prompt", default="hello"),
        ) -> str:
            with Image.open(image) as im:
                im.load()
                size = im.size
            extra = voice.stat().st_size if voice else 0
            return f"{size[0]}x{size[1]} {extra} {steps} {mode} {len(prompt)}"
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post_when_idle(request: urllib.request.Request) -> dict:
    """POST a prediction; coglet answers 409 while its one slot is still being released."""
    for _ in range(100):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise AssertionError(exc.read()[:500]) from None
            time.sleep(0.05)
    raise AssertionError("coglet stayed busy")


def test_cog_runtime_accepts_generated_payloads_with_data_uris(tmp_path: Path):
    """Coglet, enforcing the model's schema, takes every generated payload (data: URIs too)."""
    from tasks.platforms.local.cog_schema import generate_schema, write_schema

    (tmp_path / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
    )
    (tmp_path / "predict.py").write_text(PREDICTOR)
    document = generate_schema(tmp_path, sys.executable)
    write_schema(tmp_path, document)
    payloads = generate_schema_inputs(document, 8, seed=4)
    port = _free_port()
    env = {
        **__import__("os").environ,
        "PORT": str(port),
        "COG_PREDICT_TYPE_STUB": "predict.py:Predictor",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cog.server.http", "--host", "127.0.0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health-check", timeout=2) as response:
                    if json.load(response).get("status") == "READY":
                        break
            except (OSError, ValueError):
                pass
            assert time.monotonic() < deadline, "coglet did not become ready"
            time.sleep(0.2)
        for payload in payloads:
            request = urllib.request.Request(
                f"{base}/predictions",
                data=json.dumps({"input": payload}).encode(),
                headers={"content-type": "application/json"},
            )
            result = _post_when_idle(request)
            assert result["status"] == "succeeded", (result.get("error"), list(payload))
            width, height = (int(v) for v in result["output"].split()[0].split("x"))
            assert width >= 64 and height >= 64
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
