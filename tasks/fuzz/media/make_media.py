"""Regenerate the bundled sample media (run by hand, never at runtime).

    python tasks/fuzz/media/make_media.py

The files are committed as binary assets so fuzzing works offline and without ffmpeg;
this script only documents how they were made. Images and WAV come from Pillow, numpy
and the `wave` module; the MP3 and MP4 need the `ffmpeg` binary. Everything is drawn
from a fixed seed so reruns give near-identical files, and every file stays well under
the 256 KB data-URI limit (checked at the end).
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
LIMIT = 190 * 1024  # base64 grows 4/3: 190 KB of bytes stays below a 256 KB data URI


def _scene(width: int, height: int, seed: int) -> Image.Image:
    """A soft landscape-like picture: sky gradient, hills, a sun, a little grain."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    sky = np.stack(
        [90 + 120 * y + 0 * x, 140 + 80 * y + 0 * x, 230 - 60 * y + 0 * x], axis=-1
    ).clip(0, 255)
    image = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    sun = (int(width * 0.75), int(height * 0.25), max(4, width // 10))
    draw.ellipse(
        [sun[0] - sun[2], sun[1] - sun[2], sun[0] + sun[2], sun[1] + sun[2]], fill=(250, 220, 90)
    )
    for layer, colour in enumerate([(70, 130, 70), (50, 105, 55), (35, 80, 40)]):
        base = height * (0.55 + 0.12 * layer)
        amp = height * 0.08
        phase = rng.uniform(0, 6.28)
        points = [
            (px, base - amp * np.sin(px / width * 6.28 * (1 + layer * 0.5) + phase))
            for px in range(0, width + 8, 8)
        ]
        draw.polygon([(0, height), *points, (width, height)], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(radius=0.6))
    grain = rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(
        (np.asarray(image, dtype=np.float64) + grain).clip(0, 255).astype(np.uint8)
    )


def _shapes(size: int) -> Image.Image:
    """Transparent background with a few flat shapes: exercises the alpha channel."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle([size * 0.1, size * 0.1, size * 0.5, size * 0.5], fill=(220, 60, 60, 255))
    draw.ellipse([size * 0.4, size * 0.35, size * 0.9, size * 0.85], fill=(60, 90, 220, 200))
    draw.polygon(
        [(size * 0.2, size * 0.9), (size * 0.5, size * 0.55), (size * 0.8, size * 0.95)],
        fill=(40, 180, 90, 160),
    )
    return image


def _gradient(size: int) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size] / max(1, size - 1)
    rgb = np.stack([255 * x, 255 * y, 255 * (1 - x) * (1 - y)], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def _pattern(size: int) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size]
    value = 127 + 120 * np.sin(x / 9.0) * np.cos(y / 13.0)
    rgb = np.stack([value, 255 - value, (value + 80) % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def _write_wav(path: Path, rate: int, seconds: float, channels: int, freqs: list[float]) -> None:
    t = np.arange(int(rate * seconds)) / rate
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) * 20)  # no clicks at the ends
    tracks = []
    for channel in range(channels):
        signal = sum(np.sin(2 * np.pi * f * (1 + 0.01 * channel) * t) for f in freqs)
        tracks.append(0.3 * envelope * signal / len(freqs))
    frames = (np.stack(tracks, axis=-1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(frames.tobytes())


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _write_mp4(path: Path, width: int, height: int, fps: int, seconds: float) -> None:
    """A ball bouncing over the landscape scene, encoded H.264 yuv420p (plays everywhere)."""
    background = np.asarray(_scene(width, height, seed=7), dtype=np.uint8)
    frames = []
    count = int(fps * seconds)
    for index in range(count):
        frame = Image.fromarray(background.copy())
        draw = ImageDraw.Draw(frame)
        cx = int(width * (0.1 + 0.8 * index / max(1, count - 1)))
        cy = int(height * (0.6 - 0.4 * abs(np.sin(index / count * 3 * np.pi))))
        r = max(3, width // 16)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(230, 40, 40))
        frames.append(np.asarray(frame).tobytes())
    raw = path.with_suffix(".rgb")
    raw.write_bytes(b"".join(frames))
    try:
        _ffmpeg(
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps),
            "-i", str(raw), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "30",
            "-movflags", "+faststart", str(path),
        )  # fmt: skip
    finally:
        raw.unlink(missing_ok=True)


SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <rect width="64" height="64" rx="12" fill="#2b6cb0"/>
  <circle cx="32" cy="32" r="16" fill="#f6e05e"/>
</svg>
"""

TEXT = """The lighthouse keeper wrote in his log every evening, noting the wind, the colour of
the sea and the ships that passed. Most nights were quiet. On the third of October a
small sailing boat rounded the point just before dusk, its red sail patched in two
places, and anchored in the lee of the island until morning.
"""


def main() -> None:
    _gradient(64).save(HERE / "gradient-64.png", optimize=True)
    _shapes(256).save(HERE / "shapes-256.png", optimize=True)
    _scene(256, 256, seed=1).save(HERE / "scene-256.jpg", quality=85)
    _scene(512, 384, seed=2).save(HERE / "landscape-512x384.jpg", quality=82)
    _scene(384, 512, seed=3).save(HERE / "portrait-384x512.webp", quality=80)
    _pattern(256).save(HERE / "pattern-256.webp", quality=80)
    _scene(128, 128, seed=4).convert("L").save(HERE / "grayscale-128.jpg", quality=85)
    (HERE / "logo.svg").write_text(SVG)
    _write_wav(HERE / "tone-1s.wav", 16000, 1.0, 1, [440.0])
    _write_wav(HERE / "chord-stereo-1.5s.wav", 22050, 1.5, 2, [261.6, 329.6, 392.0])
    chord = HERE / "chord.tmp.wav"
    _write_wav(chord, 44100, 3.0, 1, [220.0, 277.2, 329.6])
    try:
        _ffmpeg("-i", str(chord), "-c:a", "libmp3lame", "-b:a", "64k", str(HERE / "chord-3s.mp3"))
    finally:
        chord.unlink(missing_ok=True)
    _write_mp4(HERE / "bounce-2s-160x120.mp4", 160, 120, 12, 2.0)
    _write_mp4(HERE / "bounce-1s-320x240.mp4", 320, 240, 12, 1.0)
    (HERE / "sample.txt").write_text(TEXT)
    for path in sorted(HERE.iterdir()):
        if path.suffix != ".py" and path.is_file():
            size = path.stat().st_size
            assert size < LIMIT, f"{path.name} is {size} bytes"
            print(f"{path.name:28} {size:8d}")


if __name__ == "__main__":
    main()
