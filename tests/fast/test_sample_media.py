"""The bundled fuzz media: every file is real and small, and each file input gets the kind of
file it takes (by name, description and accepted types), and the report names it."""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import shutil
import subprocess
import tarfile
import wave
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tasks.core.results import PredictionRecord, StageResult, stage_from_records
from tasks.fuzz import sample_media
from tasks.fuzz.ai_prompt import media_catalogue_text
from tasks.fuzz.generate import generate_schema_inputs
from tasks.report.render import build_report, junit_xml, prediction_rows, short

MEDIA = sample_media.MEDIA_DIR
SPEECH = {"speech-3s.wav", "speech-5s.mp3"}
MASKS = {"mask-256.png", "mask-512x384.png"}
ARCHIVES = {"training-5-captioned.zip", "training-5.tar"}
WEBP = {"portrait-384x512.webp", "pattern-256.webp", "cutout-256.webp"}


def sample(name: str) -> sample_media.MediaSample:
    found = sample_media.by_name(name)
    assert found is not None, f"{name} is not bundled"
    return found


def names_for(name: str, prop: dict) -> set[str]:
    return {s.name for s in sample_media.samples_for_input(name, prop)}


# --- the files ----------------------------------------------------------------------------


def test_every_file_in_the_table_is_bundled_and_every_bundled_file_is_in_the_table():
    listed = {row[0] for row in sample_media._TABLE}
    on_disk = {p.name for p in MEDIA.iterdir() if p.is_file() and p.suffix != ".py"}
    assert listed == on_disk
    assert {s.name for s in sample_media.catalogue()} == listed
    assert {s.kind for s in sample_media.catalogue()} == set(sample_media.KINDS)


def test_the_folder_is_small_and_every_file_passes_as_a_data_uri():
    samples = sample_media.catalogue()
    assert sum(s.size for s in samples) < 2 * 1024 * 1024
    for item in samples:
        value = sample_media.as_input_value(item)
        assert len(value) <= sample_media.DATA_URI_LIMIT, item.name
        assert sample_media.sample_for_value(value) == item


def test_the_data_uri_limit_is_enforced(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sample_media, "DATA_URI_LIMIT", 1024)
    with pytest.raises(ValueError, match="too large"):
        sample_media.as_input_value(sample("scene-256.jpg"))


def test_cog_saves_each_file_under_its_own_extension():
    """Cog names a data URI's file from its media type (cog.types.get_filename); a model that
    checks the suffix must see .wav, .pdf, .zip... (JSON Lines has no registered type)."""
    from cog.types import get_filename

    for item in sample_media.catalogue():
        saved = get_filename(sample_media.as_input_value(item))
        expected = "file" if item.mime == sample_media.JSONL else "file" + item.path.suffix
        assert saved == expected, item.name


def test_images_open_at_their_size_with_the_alpha_and_masks_they_claim():
    for item in sample_media.catalogue():
        if item.kind != "image" or item.is_svg:
            continue
        with Image.open(item.path) as image:
            image.load()
            assert image.size == (item.width, item.height), item.name
            assert image.format.lower() in item.mime, item.name
            has_alpha = "A" in image.getbands()
            assert has_alpha == ("alpha" in item.traits), item.name
            if has_alpha:
                alpha = np.asarray(image.getchannel("A"))
                assert alpha.min() == 0 and alpha.max() == 255, item.name
            if "mask" in item.traits:
                assert image.mode == "L"
                levels = set(np.unique(np.asarray(image)).tolist())
                assert levels == {0, 255}, item.name


def _frames(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as handle:
        rate, channels = handle.getframerate(), handle.getnchannels()
        data = np.frombuffer(handle.readframes(handle.getnframes()), "<i2") / 32768.0
    return data.reshape(-1, channels).mean(axis=1), rate


def _speech_measures(signal: np.ndarray, rate: int) -> tuple[float, int]:
    """(share of 20 ms frames that are pauses, how many different strongest frequencies the
    loud frames have): speech has both pauses and a moving spectrum; a tone has neither."""
    size = rate // 50
    frames = signal[: len(signal) // size * size].reshape(-1, size)
    loudness = np.sqrt((frames**2).mean(axis=1))
    quiet = loudness < loudness.max() * 0.05
    peaks = {int(np.argmax(np.abs(np.fft.rfft(f * np.hanning(size))))) for f in frames[~quiet]}
    return float(quiet.mean()), len(peaks)


def test_wav_files_have_their_length_and_the_speech_sounds_like_speech():
    for item in sample_media.catalogue():
        if item.mime == sample_media.WAV:
            signal, rate = _frames(item.path)
            assert len(signal) / rate == pytest.approx(item.duration, abs=0.01), item.name
    speech, rate = _frames(sample("speech-3s.wav").path)
    assert rate == 16000
    pauses, peaks = _speech_measures(speech, rate)
    assert 0.15 < pauses < 0.7  # words with gaps between them, not one long sound
    assert peaks >= 4  # formants and pitch move
    tone_pauses, tone_peaks = _speech_measures(*_frames(sample("tone-1s.wav").path))
    assert tone_pauses < 0.1 and tone_peaks == 1  # the measure tells a tone apart


def test_mp3_and_mp4_files_are_what_they_say():
    for item in sample_media.catalogue():
        data = item.path.read_bytes()
        if item.mime == "audio/mpeg":
            assert data[:3] == b"ID3" or data[0] == 0xFF, item.name
        if item.mime == "video/mp4":
            assert data[4:8] == b"ftyp", item.name
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed")
    for item in sample_media.catalogue():
        if item.mime in ("audio/mpeg", "video/mp4"):
            seconds = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]
                + [str(item.path)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert float(seconds) == pytest.approx(item.duration, abs=0.1), item.name


def _pdf_text(data: bytes) -> str:
    """The text a reader extracts from a simple PDF: the strings shown by Tj in its
    (Flate-compressed or plain) content streams."""
    shown = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        body = match.group(1)
        with contextlib.suppress(zlib.error):  # a plain stream stays as it is
            body = zlib.decompress(body)
        for text in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", body):
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return "\n".join(shown)


def test_the_pdf_has_two_pages_of_extractable_text():
    data = sample("logbook-2p.pdf").path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 2
    text = _pdf_text(data)
    assert "Harbour Light: Keeper's Log, October" in text
    assert "The lighthouse keeper wrote in his log every evening" in text
    assert "Margaret Ann" in text  # page two
    assert _pdf_text(b"stream\n(hidden) Tj\nendstream") == "hidden"  # the parse itself works


def _check_training_images(files: dict[str, bytes]) -> None:
    images = sorted(name for name in files if name.endswith(".jpg"))
    assert 4 <= len(images) <= 6
    for name in images:
        with Image.open(io.BytesIO(files[name])) as image:
            assert image.format == "JPEG" and image.size == (512, 512), name


def test_the_training_archives_hold_jpegs_and_the_zip_their_captions():
    with zipfile.ZipFile(sample("training-5-captioned.zip").path) as archive:
        assert archive.testzip() is None
        files = {name: archive.read(name) for name in archive.namelist()}
    _check_training_images(files)
    stems = {Path(name).stem for name in files}
    assert {Path(name).stem for name in files if name.endswith(".txt")} == stems
    assert all(b"TOK" in files[name] for name in files if name.endswith(".txt"))
    with tarfile.open(sample("training-5.tar").path) as archive:
        members = archive.getmembers()
        files = {m.name: archive.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    assert all(m.isfile() and "/" not in m.name for m in members)
    _check_training_images(files)


def test_text_json_and_json_lines_parse():
    assert "lighthouse" in sample("sample.txt").path.read_text(encoding="utf-8")
    assert isinstance(json.loads(sample("metadata.json").path.read_text()), dict)
    lines = sample("dataset.jsonl").path.read_text().splitlines()
    assert len(lines) >= 3 and all(isinstance(json.loads(line), dict) for line in lines)


# --- which file an input gets ---------------------------------------------------------------

LIST_OF_FILES = {"type": "array", "items": {"type": "string", "format": "uri"}}
FLUX_TRAINER = (  # as a well-known LoRA trainer describes its one file input
    "A zip file containing the images that will be used for training. If you include "
    "captions, include them as one .txt file per image, e.g. my-photo.jpg should have a "
    "caption file named my-photo.txt."
)


@pytest.mark.parametrize(
    ("name", "prop", "expected"),
    [
        ("pdf", {}, {"logbook-2p.pdf"}),
        ("document", {"description": "The document to summarise"}, {"logbook-2p.pdf"}),
        ("file", {"description": "A PDF file to read"}, {"logbook-2p.pdf"}),
        ("file", {"contentMediaType": "application/pdf"}, {"logbook-2p.pdf"}),
        ("mask", {"description": "Mask for inpainting: white pixels are repainted"}, MASKS),
        ("mask_image", {}, MASKS),
        ("file", {"description": "Black and white mask of the area to change"}, MASKS),
        ("image", {"description": "A PNG with transparency"}, {"shapes-256.png", "cutout-256.png"}),
        ("image", {"description": "Photo with an alpha channel"}, {"shapes-256.png", "cutout-256.png", "cutout-256.webp"}),
        ("image", {"description": "Accepts .webp only"}, WEBP),
        ("file", {"description": "Accepts .webp only"}, WEBP),
        ("image", {"x-accept": ["image/webp"]}, WEBP),
        ("picture", {"x-cog-accept": ".webp"}, WEBP),
        ("file", {"x-cog-accept": "application/pdf"}, {"logbook-2p.pdf"}),
        ("upload", {"x-cog-accept": ".zip,.tar"}, ARCHIVES),
        ("sound", {"x-cog-accept": "audio/mp3"}, {"chord-3s.mp3", "speech-5s.mp3"}),
        ("logo", {"description": "An SVG logo"}, {"logo.svg"}),
        ("speech", {}, SPEECH),
        ("voice", {"description": "Reference voice"}, SPEECH),
        ("audio_file", {"description": "Speech to transcribe"}, SPEECH),
        ("audio", {"description": "A WAV recording of someone speaking"}, {"speech-3s.wav"}),
        ("audio", {"contentMediaType": "audio/wav"}, {"tone-1s.wav", "chord-stereo-1.5s.wav", "speech-3s.wav"}),
        ("song", {}, {"chord-stereo-1.5s.wav", "chord-3s.mp3"}),
        ("input_images", {"description": "A zip file containing the images for training"}, {"training-5-captioned.zip"}),
        ("input_images", {}, ARCHIVES),
        ("input_images", {"title": "Input Images", "description": FLUX_TRAINER}, {"training-5-captioned.zip"}),
        ("training_data", {}, ARCHIVES),
        ("training_data", {"description": "A tar of JPEG images"}, {"training-5.tar"}),
        ("zip", {}, {"training-5-captioned.zip"}),
        ("file", {"description": "Images in a .zip or .tar"}, ARCHIVES),
        ("json", {}, {"metadata.json"}),
        ("metadata", {"description": "Extra information"}, {"metadata.json"}),
        ("training_data", {"description": "A JSONL dataset"}, {"dataset.jsonl"}),
        ("text_file", {}, {"sample.txt"}),
        ("file", {"description": "A .txt file, one prompt per line"}, {"sample.txt"}),
        ("input_video", {}, {"bounce-2s-160x120.mp4", "bounce-1s-320x240.mp4"}),
    ],
)  # fmt: skip
def test_an_input_gets_the_file_it_takes(name: str, prop: dict, expected: set[str]):
    assert names_for(name, prop) == expected


ORDINARY_IMAGES = {s.name for s in sample_media.catalogue() if s.kind == "image" and not s.shy}


@pytest.mark.parametrize(
    ("name", "prop"),
    [
        ("file", {}),
        ("image", {"description": "Image to inpaint; the mask input marks what changes"}),
        ("images", {**LIST_OF_FILES, "description": "Images to blend"}),
        ("training_images", LIST_OF_FILES),
        ("files", LIST_OF_FILES),
    ],
)
def test_image_is_the_fallback_and_a_list_of_images_is_no_archive(name: str, prop: dict):
    assert names_for(name, prop) == ORDINARY_IMAGES
    assert "logo.svg" not in ORDINARY_IMAGES and not MASKS & ORDINARY_IMAGES


def test_a_wish_records_kind_types_and_traits():
    wish = sample_media.wish_for_input("image", {"description": "A PNG or JPG with transparency"})
    assert wish == sample_media.Wish(
        "image", frozenset({"image/png", "image/jpeg"}), frozenset({"alpha"})
    )
    hinted = sample_media.wish_for_input("upload", {"accept": "image/*, .zip"})
    assert hinted.kind == "archive" and hinted.accepted == {"image/*", "application/zip"}
    assert sample_media.accepts_svg("vector", {"description": "An SVG or PNG logo"})
    assert not sample_media.accepts_svg("image", {"description": "A photo"})
    assert names_for("vector", {"description": "An SVG or PNG logo"}) >= {
        "logo.svg",
        "cutout-256.png",
    }


def test_values_and_choices_agree_and_shy_samples_stay_out_of_plain_kinds():
    rng = random.Random(3)
    prop = {"description": "Mask for inpainting"}
    choices = sample_media.choices_for_input("mask", prop)
    assert {sample_media.sample_for_value(v).name for v in choices} == MASKS  # type: ignore[union-attr]
    assert all(sample_media.for_input("mask", prop, rng) in choices for _ in range(20))
    for kind in sample_media.KINDS:
        assert not any(
            s.shy and not s.is_svg for s in sample_media.candidates(kind, allow_svg=True)
        )
    assert sample_media.fits_input(sample("tone-1s.wav"), "voice", {})  # any audio may go
    assert not sample_media.fits_input(sample("logbook-2p.pdf"), "image", {})
    assert not sample_media.fits_input(sample("mask-256.png"), "image", {})
    assert sample_media.fits_input(sample("logo.svg"), "logo", {"description": "SVG"})


def test_the_offline_generator_sends_each_input_its_kind_of_file():
    schema = {
        "type": "object",
        "required": ["document", "mask", "input_images", "images"],
        "properties": {
            "document": {"type": "string", "format": "uri", "description": "PDF to summarise"},
            "mask": {"type": "string", "format": "uri", "description": "Inpainting mask"},
            "input_images": {"type": "string", "format": "uri", "description": "Training set"},
            "images": {**LIST_OF_FILES, "description": "Reference images", "maxItems": 3},
            "voice": {"type": "string", "format": "uri", "description": "Speaker sample"},
        },
    }
    payloads = generate_schema_inputs(schema, 12, seed=7)

    def names(key: str) -> set[str]:
        values = [p[key] for p in payloads if key in p]
        flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
        return {sample_media.sample_for_value(v).name for v in flat}  # type: ignore[union-attr]

    assert names("document") == {"logbook-2p.pdf"}
    assert names("mask") == MASKS
    assert names("input_images") == ARCHIVES
    assert names("images") <= ORDINARY_IMAGES and len(names("images")) > 2
    assert names("voice") <= SPEECH


def test_the_ai_is_shown_the_samples_that_fit_each_input():
    schema = {
        "type": "object",
        "properties": {
            "document": {"type": "string", "format": "uri", "description": "A PDF"},
            "mask": {"type": "string", "format": "uri"},
            "images": {**LIST_OF_FILES, "description": "Photos"},
        },
    }
    text = media_catalogue_text(schema)
    document, mask, images = (
        text.split(f'- "{key}"')[1].split('- "')[0] for key in ("document", "mask", "images")
    )
    assert "takes document files" in document and "@media:logbook-2p.pdf" in document
    assert "@media:mask-256.png" in mask and "scene-256.jpg" not in mask
    assert "takes image files" in images and "@media:scene-256.jpg" in images


# --- the report names the file ------------------------------------------------------------


def test_the_report_names_bundled_samples_and_shortens_other_data_uris():
    scene = sample_media.as_input_value(sample("scene-256.jpg"))
    pdf = sample_media.as_input_value(sample("logbook-2p.pdf"))
    other = "data:image/png;base64," + "A" * 400
    shown = short({"image": scene, "document": pdf, "mask": other, "refs": [scene]}, 300)
    assert "scene-256.jpg (bundled sample)" in shown
    assert "logbook-2p.pdf (bundled sample)" in shown
    assert "data:image/png;base64,…" in shown and "AAAA" not in shown
    assert "base64" not in shown.replace("data:image/png;base64,…", "")
    assert short(scene) == "scene-256.jpg (bundled sample)"


def test_report_rows_and_junit_say_which_file_each_input_got():
    record = PredictionRecord(
        stage="fuzz",
        label="fuzz 1",
        inputs={"prompt": "a cat", "mask": sample_media.as_input_value(sample("mask-256.png"))},
        verdict="failed",
        status="failed",
        seconds=1.0,
        message="error: bad mask",
    )
    stages = [StageResult("preflight", "passed"), stage_from_records("fuzz", [record], 1.0)]
    report = build_report(
        status="failed",
        pushed=False,
        version=None,
        stages=stages,
        model="acme/inpaint",
        test_model="acme/inpaint-test",
        platform="local",
    )
    (row,) = prediction_rows(report)
    assert "mask-256.png (bundled sample)" in row["inputs"]
    assert "mask-256.png (bundled sample)" in junit_xml(report)
