"""Is the new version's output equivalent to the live version's? Pure logic, no Prefect.

The verdict is honest: "match" only when something actually established equivalence,
"mismatch" when something established a difference, and "unverified" when nothing could
(e.g. two unseeded texts and no AI key). Every message names where (key path, list index)
and why.

Rules and thresholds (documented here because users will meet them in failure messages):

- Different types fail; booleans, integers and None compare exactly; floats must satisfy
  `math.isclose(old, new, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)`.
- Dicts: same keys, then each value. Lists: same length, then element-wise.
- Strings: exact when the run is deterministic (the inputs carry a seed). Otherwise the AI
  judges when it is available. Without AI, identical strings match, an empty answer where
  there was text (or non-JSON where there was JSON) is a mismatch, and anything else is
  "unverified" with a similarity figure (difflib ratio) — never a silent pass.
- Files (http(s) URLs, data: URIs, file:// URLs, local paths) are compared by media kind
  after extensions are normalised (jpeg -> jpg, tif -> tiff, ...):
  * images: same format and size. Deterministic: the mean absolute per-channel difference,
    as a fraction of full scale, must be at most IMAGE_DISTANCE_THRESHOLD (2% — absorbs GPU
    non-determinism and re-encoding, catches a different picture). Otherwise the AI looks
    at both; without AI a 64-bit difference hash (dHash) within IMAGE_HASH_BITS bits is a
    match, further apart is "unverified". A flat single-colour image where there was a
    picture is always a mismatch.
  * audio: same format. WAV (wave module): sample rate, channels and sample width equal;
    deterministic: duration within one frame or 10 ms and mean absolute sample difference
    at most AUDIO_SAMPLE_THRESHOLD (0.5% of full scale); unseeded: durations within
    DURATION_REL_TOL (50%) of each other, else "unverified". Silence where there was sound
    is a mismatch. Other audio formats use ffprobe/ffmpeg when on PATH (the same checks on
    decoded samples), else a content hash (deterministic) or "unverified".
  * video: same format; with ffprobe, the same resolution and a duration within 0.1 s
    (deterministic) or DURATION_REL_TOL; without ffprobe, "unverified" unless byte-identical.
  * text files: JSON files structurally, others as strings (rules above).
  * anything else: content hash when deterministic, otherwise "unverified" unless identical.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tasks.core.errors import SafePushError
from tasks.outputs.files import (
    file_format,
    is_file_output,
    kind_of_extension,
    resolve,
    sha256_file,
)
from tasks.outputs.media import (
    Audio,
    decode_with_ffmpeg,
    dhash,
    hamming,
    image_distance,
    is_flat,
    probe,
    read_wav,
)

if TYPE_CHECKING:
    from tasks.ai.client import AI

Verdict = Literal["match", "mismatch", "unverified"]

FLOAT_REL_TOL = 1e-4
FLOAT_ABS_TOL = 1e-6
IMAGE_DISTANCE_THRESHOLD = 0.02
IMAGE_HASH_BITS = 10
AUDIO_SAMPLE_THRESHOLD = 0.005
SILENCE_PEAK = 1e-4
DURATION_REL_TOL = 0.5
DETERMINISTIC_VIDEO_DURATION_TOL = 0.1
TEXT_EXCERPT = 4000  # characters of each text shown to the AI

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Comparison:
    verdict: Verdict
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Not a mismatch (an unverified comparison does not fail the push, but is reported)."""
        return self.verdict != "mismatch"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "messages": list(self.messages)}


class _Collector:
    """Walks two outputs and records every difference and every unverifiable spot."""

    def __init__(self, deterministic: bool, ai: AI | None) -> None:
        self.deterministic = deterministic
        self.ai = ai
        self.mismatches: list[str] = []
        self.unverified: list[str] = []

    def mismatch(self, where: str, why: str) -> None:
        self.mismatches.append(f"{where}: {why}")

    def unsure(self, where: str, why: str) -> None:
        self.unverified.append(f"{where}: {why} (unverified)")

    def result(self) -> Comparison:
        if self.mismatches:
            return Comparison("mismatch", self.mismatches + self.unverified)
        if self.unverified:
            return Comparison("unverified", self.unverified)
        return Comparison("match", [])

    # --- structure -------------------------------------------------------------------

    def value(self, old: Any, new: Any, where: str) -> None:
        old_file, new_file = is_file_output(old), is_file_output(new)
        if old_file or new_file:
            if old_file and new_file:
                self.file(old, new, where)
            else:
                was, now = _type_name(old, old_file), _type_name(new, new_file)
                self.mismatch(where, f"type changed from {was} to {now}")
            return
        if type(old) is not type(new):
            self.mismatch(
                where, f"type changed from {_type_name(old, False)} to {_type_name(new, False)}"
            )
            return
        if isinstance(old, dict):
            self.mapping(old, new, where)
        elif isinstance(old, list | tuple):
            if len(old) != len(new):
                self.mismatch(where, f"list length changed from {len(old)} to {len(new)}")
                return
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                self.value(a, b, f"{where}[{index}]")
        elif isinstance(old, float):
            if not (
                math.isclose(old, new, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)
                or (math.isnan(old) and math.isnan(new))
            ):
                self.mismatch(where, f"{new!r} differs from {old!r} beyond tolerance")
        elif isinstance(old, str):
            self.text(old, new, where)
        elif old != new:
            self.mismatch(where, f"{_short(new)} differs from {_short(old)}")

    def mapping(self, old: dict[Any, Any], new: dict[Any, Any], where: str) -> None:
        missing = [k for k in old if k not in new]
        added = [k for k in new if k not in old]
        if missing:
            self.mismatch(where, f"keys missing in the new output: {_keys(missing)}")
        if added:
            self.mismatch(where, f"keys added in the new output: {_keys(added)}")
        for key in old:
            if key in new:
                self.value(old[key], new[key], _child(where, key))

    # --- text ------------------------------------------------------------------------

    def text(self, old: str, new: str, where: str) -> None:
        if old == new:
            return
        if self.deterministic:
            self.mismatch(where, f"text differs with a fixed seed: {_first_difference(old, new)}")
            return
        if self.ai is not None:
            self._ai_text(old, new, where)
            return
        self._heuristic_text(old, new, where)

    def _ai_text(self, old: str, new: str, where: str) -> None:
        from tasks.ai.client import DATA_NOTE, AIError, fenced

        prompt = (
            "Two versions of the same machine-learning model were run on identical inputs "
            "without a fixed random seed, so their outputs may legitimately differ in wording "
            f"or detail. {DATA_NOTE}\n\n"
            f"Output of the current version:\n{fenced(old[:TEXT_EXCERPT])}\n\n"
            f"Output of the new version:\n{fenced(new[:TEXT_EXCERPT])}\n\n"
            "Is the new output an acceptable equivalent of the current one: the same kind of "
            "answer, the same language and format, of comparable quality, and not broken "
            "(empty, garbled, truncated, an error message)?"
        )
        assert self.ai is not None
        try:
            same, reason = self.ai.ask_yes_no_majority(prompt)
        except AIError as exc:
            self.unsure(where, f"texts differ and the AI could not judge them: {exc}")
            return
        if not same:
            self.mismatch(where, f"the AI judged the texts not equivalent: {reason}")

    def _heuristic_text(self, old: str, new: str, where: str) -> None:
        if old.strip() and not new.strip():
            self.mismatch(where, "the new output is empty where the current one has text")
            return
        if _is_json_text(old) and not _is_json_text(new):
            self.mismatch(where, "the current output is JSON text, the new one is not")
            return
        ratio = difflib.SequenceMatcher(None, old[:2000], new[:2000], autojunk=False).ratio()
        self.unsure(
            where,
            f"texts differ (similarity {ratio:.2f}, {len(old)} vs {len(new)} characters) "
            "and there is neither a seed nor an AI key to judge them",
        )

    # --- files -----------------------------------------------------------------------

    def file(self, old_ref: Any, new_ref: Any, where: str, old_trusted: bool = False) -> None:
        try:
            old_path = resolve(old_ref, trusted=old_trusted)
        except SafePushError as exc:
            self.unsure(where, f"the current version's output file cannot be opened: {exc}")
            return
        try:
            new_path = resolve(new_ref)
        except SafePushError as exc:
            self.mismatch(where, f"the new output file cannot be opened: {exc}")
            return
        old_fmt, new_fmt = file_format(old_path), file_format(new_path)
        old_kind, new_kind = kind_of_extension(old_fmt), kind_of_extension(new_fmt)
        if old_kind != new_kind:
            self.mismatch(where, f"file kind changed from {old_kind} to {new_kind}")
            return
        if old_fmt != new_fmt:
            self.mismatch(where, f"file format changed from {old_fmt or '?'} to {new_fmt or '?'}")
            return
        old_size, new_size = old_path.stat().st_size, new_path.stat().st_size
        if old_size and not new_size:
            self.mismatch(where, "the new output file is empty")
            return
        handler = {
            "image": self.image,
            "audio": self.audio,
            "video": self.video,
            "text": self.text_file,
        }.get(old_kind, self.other_file)
        handler(old_path, new_path, where)

    def image(self, old_path: Path, new_path: Path, where: str) -> None:
        from PIL import Image, UnidentifiedImageError

        try:
            old_img = Image.open(old_path)
        except (UnidentifiedImageError, OSError) as exc:
            self.unsure(where, f"the current image cannot be decoded: {exc}")
            return
        try:
            new_img = Image.open(new_path)
        except (UnidentifiedImageError, OSError) as exc:
            self.mismatch(where, f"the new image cannot be decoded: {exc}")
            return
        with old_img, new_img:
            if old_img.format != new_img.format:
                self.mismatch(
                    where, f"image format changed from {old_img.format} to {new_img.format}"
                )
                return
            if old_img.size != new_img.size:
                self.mismatch(
                    where,
                    f"image size changed from {_dims(old_img.size)} to {_dims(new_img.size)}",
                )
                return
            if is_flat(new_img) and not is_flat(old_img):
                self.mismatch(where, "the new image is a single flat colour")
                return
            if self.deterministic:
                distance = image_distance(old_img, new_img)
                if distance > IMAGE_DISTANCE_THRESHOLD:
                    self.mismatch(
                        where,
                        f"images differ with a fixed seed: mean pixel distance {distance:.4f} "
                        f"> {IMAGE_DISTANCE_THRESHOLD}",
                    )
                return
            if self.ai is not None and self._ai_images(old_path, new_path, where):
                return
            bits = hamming(dhash(old_img), dhash(new_img))
            if bits > IMAGE_HASH_BITS:
                self.unsure(
                    where,
                    f"images look different (dHash distance {bits}/64) and without a seed "
                    "that may be legitimate",
                )

    def _ai_images(self, old_path: Path, new_path: Path, where: str) -> bool:
        """True when the AI gave a verdict (recorded); False to fall back to hashing."""
        from tasks.ai.client import AIError

        prompt = (
            "The first image is the output of the current version of a machine-learning "
            "model; the second is the output of a new version for identical inputs, without "
            "a fixed random seed, so details may legitimately differ. Are they plausibly "
            "outputs of the same working model: the same kind of subject and style, "
            "comparable quality, and no corruption (noise, blank, garbled or broken image)?"
        )
        assert self.ai is not None
        try:
            same, reason = self.ai.ask_yes_no_majority(prompt, images=[old_path, new_path])
        except AIError as exc:
            self.unsure(where, f"the AI could not judge the images: {exc}")
            return True
        if not same:
            self.mismatch(where, f"the AI judged the images not equivalent: {reason}")
        return True

    def audio(self, old_path: Path, new_path: Path, where: str) -> None:
        if sha256_file(old_path) == sha256_file(new_path):
            return
        old_wav = read_wav(old_path) if file_format(old_path) == "wav" else None
        new_wav = read_wav(new_path) if old_wav is not None else None
        if old_wav is not None and new_wav is None:
            self.mismatch(where, "the new WAV file cannot be read")
            return
        if old_wav is None or new_wav is None:
            old_wav = decode_with_ffmpeg(old_path)
            new_wav = decode_with_ffmpeg(new_path) if old_wav is not None else None
            if old_wav is None or new_wav is None:
                if self.deterministic:
                    self.unsure(where, "audio bytes differ and ffmpeg is not available to decode")
                else:
                    self.unsure(where, "audio not decoded (no ffmpeg); only the format was checked")
                return
        self._audio_samples(old_wav, new_wav, where)

    def _audio_samples(self, old: Audio, new: Audio, where: str) -> None:
        for label, a, b in (
            ("sample rate", old.rate, new.rate),
            ("channel count", old.channels, new.channels),
            ("sample width (bytes)", old.width, new.width),
        ):
            if a != b:
                self.mismatch(where, f"audio {label} changed from {a} to {b}")
                return
        if old.peak > SILENCE_PEAK * 10 and new.peak <= SILENCE_PEAK:
            self.mismatch(where, "the new audio is silent")
            return
        if self.deterministic:
            tolerance = max(1.0 / old.rate, 0.01)
            if abs(old.duration - new.duration) > tolerance:
                self.mismatch(
                    where,
                    f"audio duration changed from {old.duration:.3f}s to {new.duration:.3f}s "
                    "with a fixed seed",
                )
                return
            n = min(len(old.samples), len(new.samples))
            diff = float(np.mean(np.abs(old.samples[:n] - new.samples[:n]))) if n else 0.0
            if diff > AUDIO_SAMPLE_THRESHOLD:
                self.mismatch(
                    where,
                    f"audio samples differ with a fixed seed: mean difference {diff:.4f} "
                    f"> {AUDIO_SAMPLE_THRESHOLD}",
                )
            return
        longest = max(old.duration, new.duration)
        if longest and abs(old.duration - new.duration) / longest > DURATION_REL_TOL:
            self.unsure(
                where,
                f"audio duration changed from {old.duration:.2f}s to {new.duration:.2f}s",
            )

    def video(self, old_path: Path, new_path: Path, where: str) -> None:
        if sha256_file(old_path) == sha256_file(new_path):
            return
        old_info, new_info = probe(old_path), probe(new_path)
        if old_info is None:
            self.unsure(where, "video bytes differ and ffprobe is not available (or failed)")
            return
        if new_info is None:
            self.mismatch(where, "the new video cannot be read by ffprobe")
            return
        if (old_info.width, old_info.height) != (new_info.width, new_info.height):
            self.mismatch(
                where,
                f"video resolution changed from {old_info.width}x{old_info.height} to "
                f"{new_info.width}x{new_info.height}",
            )
            return
        a, b = old_info.duration, new_info.duration
        if self.deterministic and abs(a - b) > DETERMINISTIC_VIDEO_DURATION_TOL:
            self.mismatch(where, f"video duration changed from {a:.2f}s to {b:.2f}s")
        elif not self.deterministic and max(a, b) and abs(a - b) / max(a, b) > DURATION_REL_TOL:
            self.unsure(where, f"video duration changed from {a:.2f}s to {b:.2f}s")

    def text_file(self, old_path: Path, new_path: Path, where: str) -> None:
        old_text = old_path.read_text(encoding="utf-8", errors="replace")
        new_text = new_path.read_text(encoding="utf-8", errors="replace")
        if file_format(old_path) in ("json",):
            try:
                old_value = json.loads(old_text)
            except json.JSONDecodeError:
                old_value = None
            else:
                try:
                    new_value = json.loads(new_text)
                except json.JSONDecodeError:
                    self.mismatch(where, "the new JSON file does not parse")
                    return
                self.value(old_value, new_value, where)
                return
        self.text(old_text, new_text, where)

    def other_file(self, old_path: Path, new_path: Path, where: str) -> None:
        if sha256_file(old_path) == sha256_file(new_path):
            return
        if self.deterministic:
            self.mismatch(where, "file content differs with a fixed seed (sha256)")
        else:
            self.unsure(where, f"{file_format(old_path) or 'binary'} files differ; no seed")


def compare_outputs(old: Any, new: Any, *, deterministic: bool, ai: AI | None = None) -> Comparison:
    """Compare the live version's output (`old`) with the new version's (`new`)."""
    collector = _Collector(deterministic, ai)
    collector.value(old, new, "output")
    return collector.result()


def compare_files(
    old_ref: Any, new_ref: Any, *, deterministic: bool, ai: AI | None = None, where: str = "output"
) -> Comparison:
    """Compare a file the user named (`old_ref`: the match_url checker's expected file) with an
    output file."""
    collector = _Collector(deterministic, ai)
    collector.file(old_ref, new_ref, where, old_trusted=True)
    return collector.result()


# --- small helpers ---------------------------------------------------------------------


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _type_name(value: Any, is_file: bool) -> str:
    if is_file:
        return "file"
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        tuple: "list",
        dict: "object",
    }.get(type(value), type(value).__name__)


def _child(where: str, key: Any) -> str:
    if isinstance(key, str) and _IDENT.match(key):
        return f"{where}.{key}"
    shown = json.dumps(key) if isinstance(key, str) else repr(key)
    return f"{where}[{shown}]"


def _keys(keys: list[Any]) -> str:
    return ", ".join(repr(k) for k in sorted(keys, key=str))


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dims(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _first_difference(old: str, new: str) -> str:
    index = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    start = max(0, index - 20)
    return (
        f"first difference at character {index}: "
        f"{old[start : index + 20]!r} became {new[start : index + 20]!r}"
    )


def _is_json_text(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return False
    try:
        json.loads(stripped)
    except json.JSONDecodeError:
        return False
    return True
