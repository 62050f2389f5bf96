"""Comparing two output files by what they hold: images by pixels, audio by samples, video
by resolution and duration, text and JSON files as values, anything else by content hash.

The file half of tasks.outputs.compare's walk, kept apart because each media kind has rules
of its own (see the thresholds below and the compare module's docstring). A mixin: the
comparison that uses it supplies `mismatch`, `unsure`, `note`, `strict`, `value` and `text`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.core.errors import SafePushError
from tasks.outputs.files import file_format, is_file_output, kind_of_extension, resolve, sha256_file
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

IMAGE_DISTANCE_THRESHOLD = 0.02
IMAGE_HASH_BITS = 10
AUDIO_SAMPLE_THRESHOLD = 0.005
SILENCE_PEAK = 1e-4
DURATION_REL_TOL = 0.5
DETERMINISTIC_VIDEO_DURATION_TOL = 0.1
IMAGE_TIGHT_DISTANCE = 0.01  # an image the live version repeats byte for byte: re-encoding only
IMAGE_MARGIN = 0.02  # slack over live's own pixel distance


class _Missing:
    """No second live value at this spot (its structure changed between the two live runs)."""


MISSING: Any = _Missing()

# What decided a spot of a differential comparison, strongest evidence first.
_STABLE, _VARIES, _AI, _HEURISTIC = "stable", "varies", "ai", "heuristic"


class FileComparisons:
    """How two files at one spot of an output are compared, kind by kind."""

    ai: AI | None

    # Supplied by the comparison that mixes this in.
    def mismatch(self, where: str, why: str) -> None: ...
    def unsure(self, where: str, why: str) -> None: ...
    def note(self, kind: str, detail: str) -> None: ...
    def strict(self, stable: bool | None) -> bool: ...
    def value(self, old: Any, new: Any, where: str, again: Any = MISSING) -> None: ...
    def text(
        self, old: str, new: str, where: str, *, again: Any = MISSING, stable: bool | None = None
    ) -> None: ...

    def file(
        self,
        old_ref: Any,
        new_ref: Any,
        where: str,
        old_trusted: bool = False,
        *,
        again: Any = MISSING,
        stable: bool | None = None,
    ) -> None:
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
        strict = self.strict(stable)
        if stable:
            self.note(_STABLE, where)
        again_path = None
        if stable is False and is_file_output(again):
            try:
                again_path = resolve(again)
            except SafePushError:
                again_path = None
        if old_kind == "image":
            self.image(old_path, new_path, where, strict=strict, again=again_path, stable=stable)
        elif old_kind == "audio":
            self.audio(old_path, new_path, where, strict=strict)
        elif old_kind == "video":
            self.video(old_path, new_path, where, strict=strict)
        elif old_kind == "text":
            self.text_file(old_path, new_path, where, stable=stable, again=again_path)
        else:
            self.other_file(old_path, new_path, where, strict=strict)

    def image(
        self,
        old_path: Path,
        new_path: Path,
        where: str,
        *,
        strict: bool,
        again: Path | None = None,
        stable: bool | None = None,
    ) -> None:
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
            if strict:
                limit = IMAGE_TIGHT_DISTANCE if stable else IMAGE_DISTANCE_THRESHOLD
                distance = image_distance(old_img, new_img)
                if distance > limit:
                    why = (
                        "the live version gives this image every time"
                        if stable
                        else "images differ with a fixed seed"
                    )
                    self.mismatch(where, f"mean pixel distance {distance:.4f} > {limit} ({why})")
                return
            if again is not None and self._image_within_live(old_img, new_img, again, where):
                return
            if self.ai is not None and self._ai_images(old_path, new_path, where):
                self.note(_AI, where)
                return
            bits = hamming(dhash(old_img), dhash(new_img))
            if bits > IMAGE_HASH_BITS:
                self.note(_HEURISTIC, where)
                self.unsure(
                    where,
                    f"images look different (dHash distance {bits}/64) and without a seed "
                    "that may be legitimate",
                )

    def _image_within_live(self, old_img: Any, new_img: Any, again: Path, where: str) -> bool:
        """The test image is no further (mean pixel distance) from live's two images than
        they are from each other."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(again) as again_img:
                if again_img.size != old_img.size:
                    return False
                live = image_distance(old_img, again_img)
                test = min(image_distance(old_img, new_img), image_distance(again_img, new_img))
        except (UnidentifiedImageError, OSError):
            return False
        if test <= live * 1.5 + IMAGE_MARGIN:
            self.note(
                _VARIES,
                f"{where}: pixel distance {test:.3f} from live, live {live:.3f} from itself",
            )
            return True
        return False

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
            verdict, reason = self.ai.ask_yes_no_majority(prompt, images=[old_path, new_path])
        except AIError as exc:
            self.unsure(where, f"the AI could not judge the images: {exc}")
            return True
        if not verdict:
            self.mismatch(where, f"the AI judged the images not equivalent: {reason}")
        return True

    def audio(self, old_path: Path, new_path: Path, where: str, *, strict: bool) -> None:
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
                if strict:
                    self.unsure(where, "audio bytes differ and ffmpeg is not available to decode")
                else:
                    self.unsure(where, "audio not decoded (no ffmpeg); only the format was checked")
                return
        self._audio_samples(old_wav, new_wav, where, strict=strict)

    def _audio_samples(self, old: Audio, new: Audio, where: str, *, strict: bool) -> None:
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
        if strict:
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

    def video(self, old_path: Path, new_path: Path, where: str, *, strict: bool) -> None:
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
        if strict and abs(a - b) > DETERMINISTIC_VIDEO_DURATION_TOL:
            self.mismatch(where, f"video duration changed from {a:.2f}s to {b:.2f}s")
        elif not strict and max(a, b) and abs(a - b) / max(a, b) > DURATION_REL_TOL:
            self.unsure(where, f"video duration changed from {a:.2f}s to {b:.2f}s")

    def text_file(
        self,
        old_path: Path,
        new_path: Path,
        where: str,
        *,
        stable: bool | None = None,
        again: Path | None = None,
    ) -> None:
        old_text = old_path.read_text(encoding="utf-8", errors="replace")
        new_text = new_path.read_text(encoding="utf-8", errors="replace")
        again_text = again.read_text(encoding="utf-8", errors="replace") if again else MISSING
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
                again_value = MISSING
                if isinstance(again_text, str):
                    try:
                        again_value = json.loads(again_text)
                    except json.JSONDecodeError:
                        again_value = MISSING
                if stable:
                    again_value = old_value  # live gave the same bytes twice
                self.value(old_value, new_value, where, again_value)
                return
        self.text(old_text, new_text, where, again=again_text, stable=stable)

    def other_file(self, old_path: Path, new_path: Path, where: str, *, strict: bool) -> None:
        if sha256_file(old_path) == sha256_file(new_path):
            return
        if strict:
            self.mismatch(where, "file content differs with a fixed seed (sha256)")
        else:
            self.unsure(where, f"{file_format(old_path) or 'binary'} files differ; no seed")


def _dims(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"
