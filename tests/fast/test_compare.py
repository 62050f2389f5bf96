"""tasks.outputs.compare: every comparison branch, with real files made in the test and the fake AI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tasks.ai.client import AI
from tasks.outputs.compare import compare_files, compare_outputs, compare_with_live
from tasks.outputs.compare_files import IMAGE_DISTANCE_THRESHOLD
from tasks.outputs.media import dhash, hamming, image_distance, read_wav
from tests.fakes.anthropic_server import FakeAnthropic
from tests.helpers import data_uri, gradient, make_image, make_wav, serve_directory, tone

pytestmark = pytest.mark.usefixtures("outputs_in_tmp")

YES = json.dumps({"verdict": "yes", "reason": "equivalent"})
NO = json.dumps({"verdict": "no", "reason": "the new one is gibberish"})
HAS_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


@pytest.fixture
def fake(fake_anthropic: FakeAnthropic) -> FakeAnthropic:
    return fake_anthropic


@pytest.fixture
def no_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def quick_ai() -> AI:
    return AI()


def only(result_messages: list[str]) -> str:
    assert len(result_messages) == 1, result_messages
    return result_messages[0]


# --- plain values ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, True, 3, 2.5, "text", [1, "a"], {"a": {"b": [1]}}])
def test_identical_values_match(value: object) -> None:
    for deterministic in (True, False):
        result = compare_outputs(value, value, deterministic=deterministic)
        assert result.verdict == "match"
        assert result.ok
        assert result.messages == []


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (1, True, "type changed from integer to boolean"),
        (True, 1, "type changed from boolean to integer"),
        (1, 1.0, "type changed from integer to number"),
        ("1", 1, "type changed from string to integer"),
        (None, "x", "type changed from null to string"),
        ([1], {"a": 1}, "type changed from list to object"),
    ],
)
def test_different_types_fail(old: object, new: object, why: str) -> None:
    result = compare_outputs(old, new, deterministic=False)
    assert result.verdict == "mismatch"
    assert not result.ok
    assert only(result.messages) == f"output: {why}"


def test_booleans_and_integers_are_exact() -> None:
    assert compare_outputs(True, False, deterministic=False).verdict == "mismatch"
    result = compare_outputs(41, 42, deterministic=False)
    assert only(result.messages) == "output: 42 differs from 41"


def test_floats_within_relative_and_absolute_tolerance() -> None:
    assert compare_outputs(1000.0, 1000.05, deterministic=True).verdict == "match"
    assert compare_outputs(0.0, 5e-7, deterministic=True).verdict == "match"
    assert compare_outputs(float("nan"), float("nan"), deterministic=True).verdict == "match"
    result = compare_outputs(1.0, 1.01, deterministic=True)
    assert result.verdict == "mismatch"
    assert "beyond tolerance" in only(result.messages)


def test_dicts_by_keys_then_recursively_with_paths() -> None:
    old = {"a": 1, "b": {"c": [1, 2, {"d": "x"}]}, "odd key": 1, "gone": 0}
    new = {"a": 1, "b": {"c": [1, 3, {"d": "y"}]}, "odd key": 2, "extra": 0}
    result = compare_outputs(old, new, deterministic=True)
    assert result.verdict == "mismatch"
    assert "output: keys missing in the new output: 'gone'" in result.messages
    assert "output: keys added in the new output: 'extra'" in result.messages
    assert "output.b.c[1]: 3 differs from 2" in result.messages
    assert any(m.startswith("output.b.c[2].d: text differs") for m in result.messages)
    assert 'output["odd key"]: 2 differs from 1' in result.messages


def test_lists_by_length_then_elementwise() -> None:
    result = compare_outputs([1, 2, 3], [1, 2], deterministic=True)
    assert only(result.messages) == "output: list length changed from 3 to 2"
    result = compare_outputs([1, 2, 3], [1, 5, 3], deterministic=True)
    assert only(result.messages) == "output[1]: 5 differs from 2"


# --- strings ---------------------------------------------------------------------------


def test_strings_exact_when_deterministic() -> None:
    result = compare_outputs("hello world", "hello there", deterministic=True)
    assert result.verdict == "mismatch"
    message = only(result.messages)
    assert "first difference at character 7" in message  # counted from 1
    assert "'hello there'" in message


def test_strings_without_seed_or_ai_are_unverified_never_passed() -> None:
    result = compare_outputs("a cat on a mat", "a cat on the mat", deterministic=False)
    assert result.verdict == "unverified"
    assert result.ok
    message = only(result.messages)
    assert "similarity" in message and message.endswith("(unverified)")


def test_heuristic_catches_empty_and_lost_json() -> None:
    empty = compare_outputs("some text", "  ", deterministic=False)
    assert empty.verdict == "mismatch"
    assert "empty" in only(empty.messages)
    lost = compare_outputs('{"a": 1}', "Sorry, I can't", deterministic=False)
    assert lost.verdict == "mismatch"
    assert "JSON" in only(lost.messages)


def test_strings_judged_by_ai(fake: FakeAnthropic) -> None:
    fake.reply(YES, YES)
    result = compare_outputs("A red apple.", "An apple, red.", deterministic=False, ai=quick_ai())
    assert result.verdict == "match"
    asked = FakeAnthropic.text_of(fake.requests[0])
    assert "A red apple." in asked and "An apple, red." in asked


def test_ai_no_is_reasked_and_the_majority_decides(fake: FakeAnthropic) -> None:
    fake.reply(NO, NO)
    result = compare_outputs("A red apple.", "zxq", deterministic=False, ai=quick_ai())
    assert result.verdict == "mismatch"
    assert "gibberish" in only(result.messages)
    assert len(fake.requests) == 2
    fake.reply(NO, YES, YES)
    assert compare_outputs("x1", "x2", deterministic=False, ai=quick_ai()).verdict == "match"


def test_ai_failure_makes_the_string_unverified(fake: FakeAnthropic) -> None:
    fake.fail_next(401)
    result = compare_outputs("a", "b", deterministic=False, ai=quick_ai())
    assert result.verdict == "unverified"
    assert "401" in only(result.messages)


def test_ai_not_asked_when_deterministic_or_identical(fake: FakeAnthropic) -> None:
    assert compare_outputs("a", "b", deterministic=True, ai=quick_ai()).verdict == "mismatch"
    assert compare_outputs("a", "a", deterministic=False, ai=quick_ai()).verdict == "match"
    assert fake.requests == []


# --- images ----------------------------------------------------------------------------


def test_identical_and_near_identical_images_match(tmp_path: Path) -> None:
    base = gradient(128, 96)
    rng = np.random.default_rng(1)
    noisy = np.clip(base.astype(int) + rng.integers(-2, 3, base.shape), 0, 255).astype(np.uint8)
    old = make_image(tmp_path / "old.png", base)
    same = make_image(tmp_path / "same.png", base)
    near = make_image(tmp_path / "near.png", noisy)
    assert compare_outputs(str(old), str(same), deterministic=True).verdict == "match"
    assert compare_outputs(str(old), near.as_uri(), deterministic=True).verdict == "match"


def test_different_image_fails_when_deterministic(tmp_path: Path) -> None:
    old = make_image(tmp_path / "old.png", gradient(128, 96))
    new = make_image(tmp_path / "new.png", gradient(128, 96, shift=100))
    result = compare_outputs([str(old)], [str(new)], deterministic=True)
    assert result.verdict == "mismatch"
    message = only(result.messages)
    assert message.startswith("output[0]: mean pixel distance")
    assert message.endswith("(images differ with a fixed seed)")
    assert f"> {IMAGE_DISTANCE_THRESHOLD}" in message


def test_image_size_and_format_must_match(tmp_path: Path) -> None:
    old = make_image(tmp_path / "old.png", gradient(64, 48))
    bigger = make_image(tmp_path / "big.png", gradient(80, 48))
    webp = make_image(tmp_path / "new.webp", gradient(64, 48), lossless=True)
    result = compare_outputs(str(old), str(bigger), deterministic=False)
    assert only(result.messages) == "output: image size changed from 64x48 to 80x48"
    result = compare_outputs(str(old), str(webp), deterministic=False)
    assert only(result.messages) == "output: file format changed from png to webp"


def test_jpeg_extension_spellings_are_the_same_format(tmp_path: Path) -> None:
    old = make_image(tmp_path / "old.jpg", gradient(64, 48), quality=95)
    new = make_image(tmp_path / "new.jpeg", gradient(64, 48), quality=90)
    assert compare_outputs(str(old), str(new), deterministic=True).verdict == "match"


def test_webp_data_uri_against_a_local_output_file(tmp_path: Path) -> None:
    old = make_image(tmp_path / "old.webp", gradient(64, 48), quality=90)
    new = make_image(tmp_path / "new.webp", gradient(64, 48), quality=90)
    result = compare_outputs(
        {"img": data_uri(old, "image/webp")}, {"img": new.as_uri()}, deterministic=True
    )
    assert result.verdict == "match", result.messages


def test_outputs_are_data_urls_and_foreign_paths_are_never_fetched_or_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform has already turned every real output file into a local copy in the
    tool's home; an http URL or a path elsewhere in an output is text the model returned."""
    served = tmp_path / "served"
    served.mkdir()
    make_image(served / "new.webp", gradient(64, 48), quality=90)
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("do not read")
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(tmp_path / "home"))
    requests: list[str] = []
    with serve_directory(served, log=requests) as base:
        url = compare_outputs("text", f"{base}/new.webp", deterministic=True)
        path = compare_outputs("a", str(secret), deterministic=True)
        file_url = compare_outputs("a", secret.as_uri(), deterministic=True)
    assert requests == []
    assert url.verdict == path.verdict == file_url.verdict == "mismatch"
    assert "do not read" not in " ".join(path.messages + file_url.messages)


def test_flat_image_where_there_was_a_picture_fails(tmp_path: Path) -> None:
    old = make_image(tmp_path / "old.png", gradient(64, 48))
    black = make_image(tmp_path / "black.png", np.zeros((48, 64, 3), dtype=np.uint8))
    result = compare_outputs(str(old), str(black), deterministic=False)
    assert only(result.messages) == "output: the new image is a single flat colour"


def test_unseeded_images_without_ai_use_a_perceptual_hash(tmp_path: Path) -> None:
    old = make_image(tmp_path / "old.png", gradient(128, 96))
    recompressed = make_image(tmp_path / "re.png", gradient(128, 96) // 2 * 2)
    other = make_image(tmp_path / "other.png", gradient(128, 96)[::-1, ::-1].copy())
    assert compare_outputs(str(old), str(recompressed), deterministic=False).verdict == "match"
    result = compare_outputs(str(old), str(other), deterministic=False)
    assert result.verdict == "unverified"
    assert "dHash distance" in only(result.messages)


def test_unseeded_images_judged_by_ai_with_both_attached(
    fake: FakeAnthropic, tmp_path: Path
) -> None:
    old = make_image(tmp_path / "old.png", gradient(64, 48))
    new = make_image(tmp_path / "new.png", gradient(64, 48, shift=90))
    fake.reply(YES, YES)
    assert compare_outputs(str(old), str(new), deterministic=False, ai=quick_ai()).ok
    assert FakeAnthropic.images_in(fake.requests[0]) == 2
    fake.reply(NO, NO)
    result = compare_outputs(str(old), str(new), deterministic=False, ai=quick_ai())
    assert result.verdict == "mismatch"
    assert "AI judged the images not equivalent" in only(result.messages)


def test_image_helpers(tmp_path: Path) -> None:
    from PIL import Image

    a = Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8))
    b = Image.fromarray(np.full((4, 4, 3), 255, dtype=np.uint8))
    assert image_distance(a, a) == 0.0
    assert image_distance(a, b) == pytest.approx(1.0)
    rgba = Image.fromarray(np.zeros((4, 4, 4), dtype=np.uint8))
    assert image_distance(rgba, a) == pytest.approx(0.25)  # alpha 0 vs opaque
    picture = Image.fromarray(gradient(64, 48))
    assert hamming(dhash(picture), dhash(picture)) == 0


# --- audio -----------------------------------------------------------------------------


def test_wav_identical_and_near_identical_match(tmp_path: Path) -> None:
    old = make_wav(tmp_path / "old.wav", tone(440, 0.5))
    rng = np.random.default_rng(0)
    near = make_wav(tmp_path / "near.wav", tone(440, 0.5) + rng.normal(0, 1e-4, 8000))
    assert compare_outputs(str(old), str(old), deterministic=True).verdict == "match"
    assert compare_outputs(str(old), str(near), deterministic=True).verdict == "match"


def test_wav_different_samples_fail_when_deterministic(tmp_path: Path) -> None:
    old = make_wav(tmp_path / "old.wav", tone(440, 0.5))
    new = make_wav(tmp_path / "new.wav", tone(660, 0.5))
    result = compare_outputs(str(old), str(new), deterministic=True)
    assert "audio samples differ with a fixed seed" in only(result.messages)
    assert compare_outputs(str(old), str(new), deterministic=False).verdict == "match"


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"rate": 22050}, "audio sample rate changed from 16000 to 22050"),
        ({"channels": 2}, "audio channel count changed from 1 to 2"),
        ({"width": 4}, "audio sample width (bytes) changed from 2 to 4"),
    ],
)
def test_wav_format_parameters_must_match(tmp_path: Path, kwargs: dict, why: str) -> None:
    old = make_wav(tmp_path / "old.wav", tone(440, 0.25))
    channels = kwargs.get("channels", 1)
    samples = tone(440, 0.25, rate=kwargs.get("rate", 16000), channels=channels)
    new = make_wav(tmp_path / "new.wav", samples, **kwargs)
    result = compare_outputs(str(old), str(new), deterministic=False)
    assert only(result.messages) == f"output: {why}"


def test_wav_duration(tmp_path: Path) -> None:
    old = make_wav(tmp_path / "old.wav", tone(440, 1.0))
    longer = make_wav(tmp_path / "longer.wav", tone(440, 1.2))
    much_longer = make_wav(tmp_path / "much.wav", tone(440, 3.0))
    result = compare_outputs(str(old), str(longer), deterministic=True)
    assert "duration changed from 1.000s to 1.200s" in only(result.messages)
    assert compare_outputs(str(old), str(longer), deterministic=False).verdict == "match"
    result = compare_outputs(str(old), str(much_longer), deterministic=False)
    assert result.verdict == "unverified"
    assert "duration changed" in only(result.messages)


def test_silent_audio_fails(tmp_path: Path) -> None:
    old = make_wav(tmp_path / "old.wav", tone(440, 0.5))
    silent = make_wav(tmp_path / "silent.wav", np.zeros(8000))
    result = compare_outputs(str(old), str(silent), deterministic=False)
    assert only(result.messages) == "output: the new audio is silent"


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_read_wav_sample_widths(tmp_path: Path, width: int) -> None:
    samples = tone(440, 0.1, channels=2)
    audio = read_wav(make_wav(tmp_path / "a.wav", samples, channels=2, width=width))
    assert audio is not None
    assert (audio.rate, audio.channels, audio.width) == (16000, 2, width)
    assert audio.duration == pytest.approx(0.1)
    assert np.max(np.abs(audio.samples - samples)) < 0.02


def test_read_wav_rejects_non_wav(tmp_path: Path) -> None:
    bogus = tmp_path / "x.wav"
    bogus.write_bytes(b"RIFF....WAVEjunk")
    assert read_wav(bogus) is None


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.mark.skipif(not HAS_FFMPEG, reason="ffmpeg/ffprobe not on PATH")
def test_other_audio_formats_decoded_with_ffmpeg(tmp_path: Path) -> None:
    a = make_wav(tmp_path / "a.wav", tone(440, 0.5))
    b = make_wav(tmp_path / "b.wav", tone(660, 0.5))
    for src in (a, b):
        _ffmpeg("-i", str(src), str(src.with_suffix(".flac")))
    _ffmpeg("-i", str(a), "-compression_level", "0", str(tmp_path / "a0.flac"))
    old, new = tmp_path / "a.flac", tmp_path / "b.flac"
    assert compare_outputs(str(old), str(tmp_path / "a0.flac"), deterministic=True).verdict == (
        "match"
    )
    result = compare_outputs(str(old), str(new), deterministic=True)
    assert "audio samples differ" in only(result.messages)
    assert compare_outputs(str(old), str(new), deterministic=False).verdict == "match"


def test_other_audio_without_ffmpeg_is_unverified(tmp_path: Path, no_ffmpeg: None) -> None:
    old, new = tmp_path / "a.mp3", tmp_path / "b.mp3"
    old.write_bytes(b"ID3" + b"\x00" * 64)
    new.write_bytes(b"ID3" + b"\x01" * 64)
    for deterministic in (True, False):
        result = compare_outputs(str(old), str(new), deterministic=deterministic)
        assert result.verdict == "unverified"
        assert "ffmpeg" in only(result.messages)
    assert compare_outputs(str(old), str(old), deterministic=True).verdict == "match"


# --- video -----------------------------------------------------------------------------


def _video(path: Path, size: str, seconds: float, pattern: str = "testsrc") -> Path:
    _ffmpeg(
        "-f", "lavfi", "-i", f"{pattern}=size={size}:rate=10:duration={seconds}",
        "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


@pytest.mark.skipif(not HAS_FFMPEG, reason="ffmpeg/ffprobe not on PATH")
def test_video_resolution_and_duration(tmp_path: Path) -> None:
    old = _video(tmp_path / "old.mp4", "64x48", 1)
    same = _video(tmp_path / "same.mp4", "64x48", 1, pattern="testsrc2")
    wider = _video(tmp_path / "wide.mp4", "96x48", 1)
    longer = _video(tmp_path / "long.mp4", "64x48", 2)
    assert compare_outputs(str(old), str(same), deterministic=True).verdict == "match"
    result = compare_outputs(str(old), str(wider), deterministic=False)
    assert only(result.messages) == "output: video resolution changed from 64x48 to 96x48"
    result = compare_outputs(str(old), str(longer), deterministic=True)
    assert "video duration changed from 1.00s to 2.00s" in only(result.messages)
    webm = tmp_path / "old.webm"
    webm.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 32)
    result = compare_outputs(str(old), str(webm), deterministic=False)
    assert only(result.messages) == "output: file format changed from mp4 to webm"


def test_video_without_ffprobe_is_unverified(tmp_path: Path, no_ffmpeg: None) -> None:
    old, new = tmp_path / "a.mp4", tmp_path / "b.mp4"
    old.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 32)
    new.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x01" * 32)
    result = compare_outputs(str(old), str(new), deterministic=True)
    assert result.verdict == "unverified"
    assert "ffprobe" in only(result.messages)
    assert compare_outputs(str(old), str(old), deterministic=True).verdict == "match"


# --- text and other files --------------------------------------------------------------


def test_json_files_compared_structurally(tmp_path: Path) -> None:
    old, new, broken = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    old.write_text(json.dumps({"boxes": [{"label": "cat"}]}))
    new.write_text(json.dumps({"boxes": [{"label": "dog"}]}, indent=2))
    broken.write_text("{oops")
    result = compare_outputs(str(old), str(new), deterministic=True)
    assert any(m.startswith("output.boxes[0].label: text differs") for m in result.messages)
    respaced = tmp_path / "d.json"
    respaced.write_text(json.dumps({"boxes": [{"label": "cat"}]}, indent=4))
    assert compare_outputs(str(old), str(respaced), deterministic=True).verdict == "match"
    result = compare_outputs(str(old), str(broken), deterministic=True)
    assert only(result.messages) == "output: the new JSON file does not parse"


def test_text_files_follow_string_rules(tmp_path: Path) -> None:
    old, new = tmp_path / "a.txt", tmp_path / "b.txt"
    old.write_text("hello")
    new.write_text("hullo")
    assert compare_outputs(str(old), str(new), deterministic=True).verdict == "mismatch"
    assert compare_outputs(str(old), str(new), deterministic=False).verdict == "unverified"


def test_other_files_by_content_hash(tmp_path: Path) -> None:
    old, same, new = tmp_path / "a.bin", tmp_path / "b.bin", tmp_path / "c.bin"
    old.write_bytes(b"\x00\x01weights")
    same.write_bytes(b"\x00\x01weights")
    new.write_bytes(b"\x00\x02weights")
    assert compare_outputs(str(old), str(same), deterministic=True).verdict == "match"
    result = compare_outputs(str(old), str(new), deterministic=True)
    assert "content differs" in only(result.messages)
    assert compare_outputs(str(old), str(new), deterministic=False).verdict == "unverified"


def test_file_kind_changes_and_missing_files(tmp_path: Path) -> None:
    png = make_image(tmp_path / "a.png", gradient())
    wav = make_wav(tmp_path / "a.wav", tone(440, 0.1))
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")
    result = compare_outputs(str(png), str(wav), deterministic=False)
    assert only(result.messages) == "output: file kind changed from image to audio"
    result = compare_outputs(str(png), "a caption", deterministic=False)
    assert only(result.messages) == "output: type changed from file to string"
    result = compare_outputs(str(png), str(empty), deterministic=False)
    assert only(result.messages) == "output: the new output file is empty"
    with serve_directory(tmp_path) as base:
        result = compare_files(str(png), f"{base}/gone.png", deterministic=True)
        assert result.verdict == "mismatch"
        assert "cannot be opened" in only(result.messages)
        assert "HTTP 404" in only(result.messages)
        result = compare_files(f"{base}/gone.png", str(png), deterministic=True)
        assert result.verdict == "unverified"  # the live output vanished: not the new one's fault


def test_mismatch_outranks_unverified_and_keeps_both_messages(tmp_path: Path) -> None:
    result = compare_outputs({"a": "x", "b": 1}, {"a": "y", "b": 2}, deterministic=False)
    assert result.verdict == "mismatch"
    assert len(result.messages) == 2
    assert result.to_dict()["verdict"] == "mismatch"


# --- differential comparison: determinism from evidence --------------------------------


def test_identical_outputs_need_no_second_live_run() -> None:
    result = compare_with_live({"a": [1, "x"]}, {"a": [1, "x"]})
    assert result.verdict == "match" and "identical" in result.evidence


def test_without_a_second_live_run_a_difference_is_unverified() -> None:
    result = compare_with_live("a", "b")
    assert result.verdict == "unverified"


def test_a_text_live_repeats_must_match_exactly_without_asking_the_ai() -> None:
    """The streamed answer that lost its last word: no seed, yet live repeats itself."""
    live = "the quick brown fox jumps over the lazy dog"
    result = compare_with_live(live, live.rsplit(" ", 1)[0], live)
    assert result.verdict == "mismatch"
    assert "the live version gives this text every time" in result.messages[0]
    assert "same output twice" in result.evidence


def test_a_varying_text_within_live_variation_matches() -> None:
    result = compare_with_live(
        "red green blue amber", "red green teal amber", "red pink blue amber"
    )
    assert result.verdict == "match"
    assert "varies from run to run" in result.evidence


def test_a_varying_text_far_beyond_live_variation_is_not_a_match() -> None:
    live, again = "a sunny day at the beach #12", "a sunny day at the beach #97"
    result = compare_with_live(live, "ERROR: model weights not found", again)
    assert result.verdict != "match"


def test_a_varying_text_beyond_live_variation_goes_to_the_ai(fake: FakeAnthropic) -> None:
    fake.reply(NO, NO)
    live, again = "a sunny day at the beach #12", "a sunny day at the beach #97"
    result = compare_with_live(
        live, "a completely different sentence about mountains", again, ai=quick_ai()
    )
    assert result.verdict == "mismatch" and "the AI judged" in result.messages[0]
    assert "AI judged" in result.evidence


def test_only_the_spots_live_varies_at_are_judged_leniently() -> None:
    live = {"model": "v1", "caption": "a cat on a mat #1"}
    again = {"model": "v1", "caption": "a cat on a mat #2"}
    same_model = compare_with_live(live, {"model": "v1", "caption": "a cat on a mat #3"}, again)
    assert same_model.verdict == "match"
    new_model = compare_with_live(live, {"model": "v2", "caption": "a cat on a mat #3"}, again)
    assert new_model.verdict == "mismatch"
    assert any(m.startswith("output.model:") for m in new_model.messages)


def test_numbers_are_judged_by_live_spread() -> None:
    assert compare_with_live(1.0, 1.0 + 1e-3, 1.0).verdict == "mismatch"  # live is stable
    assert compare_with_live(1.0, 1.05, 1.1).verdict == "match"  # within the spread
    assert compare_with_live(1.0, 5.0, 1.1).verdict == "unverified"  # far beyond it
    assert compare_with_live(3, 5, 7).verdict == "match"  # a varying integer
    assert compare_with_live(3, 4, 3).verdict == "mismatch"  # a stable integer


def test_lists_whose_length_live_varies_are_judged_by_that_range() -> None:
    live, again = ["a", "b"], ["a", "b", "c", "d"]
    assert compare_with_live(live, ["x", "y", "z"], again).verdict == "match"
    assert compare_with_live(live, ["x"] * 12, again).verdict == "unverified"
    assert compare_with_live(["a", "b"], ["a"], ["a", "b"]).verdict == "mismatch"  # stable


def test_images_live_repeats_must_match_tightly(tmp_path: Path) -> None:
    base = make_image(tmp_path / "a.png", gradient())
    same = make_image(tmp_path / "b.png", gradient())
    shifted = make_image(tmp_path / "c.png", gradient(shift=30))
    assert compare_with_live(str(base), str(same), str(base)).verdict == "match"
    result = compare_with_live(str(base), str(shifted), str(base))
    assert result.verdict == "mismatch" and "every time" in result.messages[0]


def test_random_images_are_judged_by_live_own_pixel_distance(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def noise(name: str) -> str:
        pixels = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
        return str(make_image(tmp_path / name, pixels))

    live, again, test = noise("a.png"), noise("b.png"), noise("c.png")
    result = compare_with_live(live, test, again)
    assert result.verdict == "match" and "pixel distance" in result.evidence
    flat = str(make_image(tmp_path / "flat.png", np.full((48, 64, 3), 128, dtype=np.uint8)))
    assert compare_with_live(live, flat, again).verdict == "mismatch"
