"""Decoding media for comparison: pixel distance and perceptual hashes of images, PCM samples
of WAV files (and of other audio through ffmpeg when installed), durations and resolutions
from ffprobe. Numbers only; the verdicts built on them are in tasks.outputs.compare."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FLAT_IMAGE_STD = 1.0  # grey levels; below this an image is a single flat colour


def image_distance(a: Any, b: Any) -> float:
    """Mean absolute per-channel difference of two same-size PIL images, 0.0 .. 1.0.

    The absolute difference is taken in C (ImageChops) and its mean computed with numpy
    from the difference's per-band histogram, which avoids copying two full frames into
    numpy arrays (the copies cost more than the arithmetic for large images).
    """
    from PIL import ImageChops

    mode = "RGBA" if ("A" in a.getbands() or "A" in b.getbands()) else "RGB"
    x = a if a.mode == mode else a.convert(mode)
    y = b if b.mode == mode else b.convert(mode)
    histogram = np.asarray(ImageChops.difference(x, y).histogram(), dtype=np.float64)
    per_band = histogram.reshape(-1, 256)
    total = per_band.sum()
    return float((per_band @ np.arange(256.0)).sum() / (total * 255.0)) if total else 0.0


def _small_grey(img: Any, size: tuple[int, int]) -> np.ndarray:
    grey = img.convert("L") if img.mode != "L" else img
    return np.asarray(grey.resize(size, reducing_gap=2.0), dtype=np.float32)


def dhash(img: Any) -> int:
    """64-bit difference hash: robust to re-encoding and small changes, not to new content."""
    small = _small_grey(img, (9, 8))
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def is_flat(img: Any) -> bool:
    return float(_small_grey(img, (64, 64)).std()) < FLAT_IMAGE_STD


# --- audio and video -------------------------------------------------------------------


@dataclass
class Audio:
    rate: int
    channels: int
    width: int  # bytes per sample (0 when decoded by ffmpeg)
    samples: np.ndarray  # float32, interleaved, full scale -1 .. 1

    @property
    def duration(self) -> float:
        return len(self.samples) / self.channels / self.rate if self.rate and self.channels else 0.0

    @property
    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0


def read_wav(path: Path) -> Audio | None:
    """PCM WAV via the wave module; None when it is not a readable PCM WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError):
        return None
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw[: len(raw) - len(raw) % 3], dtype=np.uint8).reshape(-1, 3)
        ints = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8)) | (
            b[:, 2].astype(np.int8).astype(np.int32) << 16
        )
        samples = ints.astype(np.float32) / 8388608.0
    elif width == 4:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        return None
    return Audio(rate, channels, width, samples)


def decode_with_ffmpeg(path: Path) -> Audio | None:
    """Decode any audio to float samples with ffmpeg (keeping rate and channels)."""
    info = probe(path)
    ffmpeg = shutil.which("ffmpeg")
    if info is None or ffmpeg is None or not info.sample_rate or not info.channels:
        return None
    try:
        done = subprocess.run(
            [ffmpeg, "-v", "error", "-i", str(path), "-f", "f32le", "-acodec", "pcm_f32le", "-"],
            capture_output=True,
            timeout=120,
            check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    samples = np.frombuffer(done.stdout, dtype="<f4").astype(np.float32)
    return Audio(info.sample_rate, info.channels, 0, samples)


@dataclass
class MediaInfo:
    duration: float = 0.0
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    channels: int = 0


def probe(path: Path) -> MediaInfo | None:
    """Duration, resolution and audio layout from ffprobe; None without ffprobe or on error."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    try:
        done = subprocess.run(
            [
                ffprobe,
                "-v",
                "error",
                "-show_entries",
                "format=duration:stream=codec_type,width,height,sample_rate,channels,duration",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
        data = json.loads(done.stdout or b"{}")
    except (subprocess.SubprocessError, OSError, json.JSONDecodeError):
        return None
    info = MediaInfo()
    info.duration = _float(data.get("format", {}).get("duration"))
    for stream in data.get("streams", []):
        if stream.get("codec_type") == "video" and not info.width:
            info.width, info.height = int(stream.get("width") or 0), int(stream.get("height") or 0)
            info.duration = info.duration or _float(stream.get("duration"))
        elif stream.get("codec_type") == "audio" and not info.sample_rate:
            info.sample_rate = int(stream.get("sample_rate") or 0)
            info.channels = int(stream.get("channels") or 0)
            info.duration = info.duration or _float(stream.get("duration"))
    if not (info.width or info.sample_rate):
        return None
    return info


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
