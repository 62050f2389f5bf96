"""Regenerate the bundled sample media (run by hand, never at runtime).

    pip install -e '.[media]'   # fpdf2, for the PDF; the tool itself never needs it
    python tasks/fuzz/media/make_media.py

The files are committed as binary assets so fuzzing works offline and without ffmpeg;
this script documents how they were made and remakes them. They imitate what Cog models
take: photos (JPEG, PNG, WebP, with and without alpha), inpainting masks, speech-like audio,
short videos, a PDF with real text, a training set as ZIP and tar, plain text and JSON.
Images, WAV, ZIP and tar come from Pillow, numpy and the standard library; the MP3 and MP4
need the `ffmpeg` binary and the PDF needs fpdf2. Everything is drawn from fixed seeds and
fixed timestamps so reruns give near-identical files, and every file stays well under the
256 KB data-URI limit (checked at the end, with the folder's total).
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import wave
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
LIMIT = 190 * 1024  # base64 grows 4/3: 190 KB of bytes stays below a 256 KB data URI
TOTAL_LIMIT = 2 * 1024 * 1024  # the whole folder ships inside the package
STAMP = datetime(2024, 10, 3, 18, 30, tzinfo=UTC)  # archive and PDF dates: reruns stay equal


def _scene(width: int, height: int, seed: int, grain: float = 4.0) -> Image.Image:
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
    noise = rng.normal(0, grain, (height, width, 3))
    return Image.fromarray(
        (np.asarray(image, dtype=np.float64) + noise).clip(0, 255).astype(np.uint8)
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


def _cutout(size: int, seed: int) -> Image.Image:
    """A photo cut out on a transparent background with a soft edge, as background
    removers return it: alpha with every level from 0 to 255, not only on/off."""
    photo = _scene(size, size, seed, grain=1.5).convert("RGBA")
    y, x = np.mgrid[0:size, 0:size] / max(1, size - 1) - 0.5
    distance = np.sqrt((x / 0.42) ** 2 + (y / 0.48) ** 2)
    alpha = (255 * np.clip((1.0 - distance) / 0.12, 0.0, 1.0)).astype(np.uint8)
    photo.putalpha(Image.fromarray(alpha, "L"))
    return photo


def _mask(width: int, height: int) -> Image.Image:
    """An inpainting mask: one channel, only black (keep) and white (repaint), a blob
    over the middle of an image of the same size."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse([width * 0.3, height * 0.25, width * 0.7, height * 0.75], fill=255)
    draw.rectangle([width * 0.45, height * 0.6, width * 0.8, height * 0.85], fill=255)
    return mask


def _lighthouse(width: int, height: int, seed: int) -> Image.Image:
    """One picture of a training set: the same subject (a striped lighthouse) at another
    place, size and time of day, as a fine-tuning set shows one concept many ways."""
    rng = np.random.default_rng(seed)
    image = _scene(width, height, seed=100 + seed, grain=3.0)
    if seed % 2:  # dusk: a warmer, darker picture
        tint = np.array([1.05, 0.8, 0.7])
        image = Image.fromarray((np.asarray(image) * tint).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    tall = height * rng.uniform(0.35, 0.6)
    cx, base = width * rng.uniform(0.25, 0.75), height * rng.uniform(0.75, 0.9)
    bottom, top = width * 0.06 * tall / height * 2, width * 0.035 * tall / height * 2
    for band in range(6):
        y0, y1 = base - tall * band / 6, base - tall * (band + 1) / 6
        w0 = bottom + (top - bottom) * band / 6
        w1 = bottom + (top - bottom) * (band + 1) / 6
        colour = (200, 30, 40) if band % 2 == 0 else (245, 245, 240)
        draw.polygon([(cx - w0, y0), (cx + w0, y0), (cx + w1, y1), (cx - w1, y1)], fill=colour)
    lamp = base - tall
    draw.rectangle([cx - top, lamp - top * 1.6, cx + top, lamp], fill=(250, 230, 120))
    draw.polygon([(cx - top * 1.3, lamp - top * 1.6), (cx + top * 1.3, lamp - top * 1.6),
                  (cx, lamp - top * 2.8)], fill=(40, 40, 45))  # fmt: skip
    return image


TRAINING_CAPTIONS = (  # odd pictures are at dusk (see _lighthouse)
    "a photo of TOK lighthouse at dusk in front of a setting sun",
    "a photo of TOK lighthouse on green hills under a clear blue sky",
    "TOK lighthouse at dusk seen from afar, small among the hills",
    "a photo of TOK lighthouse standing tall on a sunny day",
    "a photo of TOK lighthouse at dusk beside rolling hills",
)


def _training_files() -> list[tuple[str, bytes]]:
    """Five 512x512 JPEGs of one subject, each with a caption file of the same stem
    (photo-01.jpg + photo-01.txt), the layout LoRA trainers read."""
    files = []
    for index, caption in enumerate(TRAINING_CAPTIONS, start=1):
        buffer = io.BytesIO()
        _lighthouse(512, 512, seed=index).save(buffer, "JPEG", quality=80)
        files.append((f"photo-{index:02d}.jpg", buffer.getvalue()))
        files.append((f"photo-{index:02d}.txt", (caption + "\n").encode()))
    return files


def _write_zip(path: Path, files: list[tuple[str, bytes]]) -> None:
    """Stored, not deflated (JPEGs do not shrink) and dated STAMP, so reruns are equal."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=STAMP.timetuple()[:6])
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def _write_tar(path: Path, files: list[tuple[str, bytes]]) -> None:
    """A plain ustar file owned by nobody in particular and dated STAMP."""
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(STAMP.timestamp()), 0o644
            archive.addfile(info, io.BytesIO(data))


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


# Formants (F1, F2, F3 in Hz) of five vowels in an adult male voice, after Peterson and
# Barney (1952); with a glottal source they make the vowel sounds of speech.
VOWELS = {
    "a": (730, 1090, 2440),
    "e": (530, 1840, 2480),
    "i": (270, 2290, 3010),
    "o": (570, 840, 2410),
    "u": (300, 870, 2240),
}
NASAL = (250, 1200, 2400)  # m, n, l: voiced, quiet, a low first formant
BANDWIDTHS = (90.0, 110.0, 170.0)
Segment = tuple[str, float, str]  # (sound, seconds, vowel)


def _speech_plan(rng: np.random.Generator, seconds: float) -> list[Segment]:
    """Segments of made-up speech: (sound, seconds, vowel) where sound is 'vowel',
    'nasal', 'fricative', 'burst' or 'pause'. Words of one to three syllables, short
    pauses between words and a longer one between phrases, until `seconds` is used."""
    plan: list[Segment] = [("pause", 0.25, "a")]
    used, words = 0.25, 0
    for _ in range(200):  # a word too long for the time left is redrawn, not the end
        word: list[Segment] = []
        for _ in range(int(rng.integers(1, 4))):
            vowel = str(rng.choice(list(VOWELS)))
            onset = rng.choice(["none", "nasal", "fricative", "plosive"], p=[0.2, 0.3, 0.2, 0.3])
            if onset == "nasal":
                word.append(("nasal", rng.uniform(0.05, 0.08), vowel))
            elif onset == "fricative":
                word.append(("fricative", rng.uniform(0.07, 0.12), vowel))
            elif onset == "plosive":
                word += [("pause", 0.05, vowel), ("burst", 0.015, vowel)]
            word.append(("vowel", rng.uniform(0.11, 0.22), vowel))
        gap = 0.45 if words % 3 == 2 else rng.uniform(0.06, 0.2)
        length = sum(part[1] for part in word) + gap
        if used + length > seconds - 0.2:
            continue
        plan += [*word, ("pause", gap, "a")]
        used, words = used + length, words + 1
    return plan


def _tracks(
    plan: list[Segment], rate: int, pitch: float, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample formant targets, voicing and noise levels, and pitch, from the plan.

    Formants and levels are smoothed (about 25 ms and 8 ms) so sounds glide into each
    other; pitch falls across each phrase and rises a little on every syllable."""
    formants, voicing, noise, f0 = [], [], [], []
    for sound, seconds, vowel in plan:
        count = int(rate * seconds)
        target = NASAL if sound == "nasal" else VOWELS[vowel]
        formants.append(np.tile(np.array(target, dtype=float) * scale, (count, 1)))
        level = {"vowel": 1.0, "nasal": 0.35}.get(sound, 0.0)
        voicing.append(np.full(count, level))
        hiss = {"fricative": 0.25, "burst": 0.6}.get(sound, 0.0)
        noise.append(np.full(count, hiss))
        bump = np.sin(np.linspace(0, np.pi, count)) * (0.12 if sound == "vowel" else 0.0)
        f0.append(pitch * (1.0 + bump))
    formants_all = np.concatenate(formants)
    for column in range(3):
        formants_all[:, column] = _smooth(formants_all[:, column], int(rate * 0.025))
    declination = 1.15 - 0.3 * ((np.arange(len(formants_all)) / rate) % 1.6) / 1.6
    pitch_track = _smooth(np.concatenate(f0), int(rate * 0.03)) * declination
    return (
        formants_all,
        _smooth(np.concatenate(voicing), int(rate * 0.008)),
        _smooth(np.concatenate(noise), int(rate * 0.004)),
        pitch_track,
    )


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width < 2:
        return values
    kernel = np.ones(width) / width
    return np.convolve(np.pad(values, (width, width), mode="edge"), kernel, "same")[width:-width]


def _glottal(f0: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """The voice source: Rosenberg glottal pulses (open 60%, closing 20%, closed 20% of a
    period) with a little jitter, through a first difference for the lips' radiation."""
    jitter = 1.0 + 0.01 * _smooth(rng.normal(0, 1, len(f0)), rate // 100)
    phase = np.cumsum(f0 * jitter / rate) % 1.0
    flow = np.where(
        phase < 0.6,
        0.5 * (1 - np.cos(np.pi * phase / 0.6)),
        np.where(phase < 0.8, np.cos(np.pi * (phase - 0.6) / 0.4).clip(0, None), 0.0),
    )
    return flow - 0.9 * np.concatenate(([0.0], flow[:-1]))


def _resonate(source: np.ndarray, formants: np.ndarray, rate: int) -> np.ndarray:
    """Klatt's cascade of three second-order resonators, with time-varying formants."""
    out = source.copy()
    for column, bandwidth in enumerate(BANDWIDTHS):
        r = np.exp(-np.pi * bandwidth / rate)
        b = 2 * r * np.cos(2 * np.pi * formants[:, column] / rate)
        c = -(r**2)
        a = 1 - b - c
        y1 = y2 = 0.0
        result = np.empty_like(out)
        for n, x in enumerate(out):
            y = a[n] * x + b[n] * y1 + c * y2
            result[n], y2, y1 = y, y1, y
        out = result
    return out


def _speech(rate: int, seconds: float, seed: int, pitch: float, scale: float) -> np.ndarray:
    """Speech-like audio, exactly `seconds` long: voiced syllables with formant glides,
    hissed and burst consonants, pauses between words, and a quiet room-noise floor.
    Not words of any language, but what a voice model's front end expects to hear."""
    rng = np.random.default_rng(seed)
    formants, voicing, noise_level, f0 = _tracks(_speech_plan(rng, seconds), rate, pitch, scale)
    voiced = _resonate(_glottal(f0, rate, rng) * voicing, formants, rate)
    hiss = np.diff(rng.normal(0, 1, len(f0)), prepend=0.0) * noise_level
    signal = voiced / (np.abs(voiced).max() or 1.0) + 0.35 * hiss
    signal = 0.6 * signal / np.abs(signal).max()
    total = int(rate * seconds)
    padded = np.zeros(total)
    padded[: min(total, len(signal))] = signal[:total]
    return padded + rng.normal(0, 0.001, total)


def _write_mono(path: Path, rate: int, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((samples.clip(-1, 1) * 32767).astype("<i2").tobytes())


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

PDF_TITLE = "Harbour Light: Keeper's Log, October"
PDF_PAGES = (
    (
        "Week one",
        TEXT.replace("\n", " ")
        + "\n\nThe lamp was lit at 18:42 and put out at 07:05. Wind from the south-west, "
        "force four, backing south by midnight. Visibility good until the rain came in "
        "from the west a little after two in the morning.",
        (("Date", "Wind", "Sea", "Ships"), ("1 Oct", "SW 4", "moderate", "3"),
         ("2 Oct", "S 5", "rough", "1"), ("3 Oct", "SW 3", "slight", "4")),
    ),
    (
        "Week two",
        "Fog for most of the week. The horn was sounded every thirty seconds for eleven "
        "hours on the ninth. A fishing boat, the Margaret Ann, reported her nets fouled on "
        "the rocks below the north light; the lifeboat stood by until the tide turned.\n\n"
        "Stores received: forty gallons of paraffin, two dozen wicks, one new lens cloth.",
        (("Date", "Wind", "Sea", "Ships"), ("8 Oct", "calm", "smooth", "0"),
         ("9 Oct", "E 2", "smooth", "2"), ("10 Oct", "NE 3", "slight", "5")),
    ),
)  # fmt: skip


def _write_pdf(path: Path) -> None:
    """Two A4 pages of real, extractable text (a title, paragraphs, a small table), the
    kind of born-digital PDF that document and OCR models read. Needs fpdf2 (the `media`
    extra): imported here so the rest of the script runs without it."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)  # each page's text fits; the footer must not spill over
    pdf.set_creation_date(STAMP)
    pdf.set_title(PDF_TITLE)
    pdf.set_author("cog-safe-push sample media")
    pdf.set_lang("en")
    for heading, body, table in PDF_PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 12, PDF_TITLE, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, body)
        pdf.ln(4)
        with pdf.table(col_widths=(30, 30, 40, 20), width=120, align="LEFT") as grid:
            for row in table:
                grid.row(row)
        pdf.set_y(-20)
        pdf.set_font("Helvetica", "I", 9)
        pdf.cell(0, 10, f"Page {pdf.page_no()} of {len(PDF_PAGES)}", align="C")
    pdf.output(str(path))


METADATA = {
    "id": "sample-0001",
    "title": "Lighthouse at dusk",
    "tags": ["lighthouse", "sea", "dusk", "landscape"],
    "width": 512,
    "height": 384,
    "created": "2024-10-03T18:30:00Z",
    "camera": {"make": "Example", "focal_length_mm": 35, "iso": 200},
    "captions": {
        "landscape-512x384.jpg": "rolling green hills under a pale sky with a low sun",
        "scene-256.jpg": "a small landscape with hills and a yellow sun",
    },
}

DATASET = (
    {"prompt": "What does the keeper note every evening?",
     "completion": "The wind, the colour of the sea and the ships that passed."},
    {"prompt": "When did the sailing boat arrive?",
     "completion": "On the third of October, just before dusk."},
    {"prompt": "What colour was the boat's sail?", "completion": "Red, patched in two places."},
    {"prompt": "Where did the boat anchor?", "completion": "In the lee of the island."},
    {"prompt": "How long was the fog horn sounded on the ninth?",
     "completion": "For eleven hours, every thirty seconds."},
)  # fmt: skip


def _report() -> None:
    """Print every file with its size, and fail if one or the folder is too big."""
    total = 0
    for path in sorted(HERE.iterdir()):
        if path.suffix != ".py" and path.is_file():
            size = path.stat().st_size
            total += size
            assert size < LIMIT, f"{path.name} is {size} bytes"
            print(f"{path.name:28} {size:8d}")
    assert total < TOTAL_LIMIT, f"the media folder holds {total} bytes"
    print(f"{'total':28} {total:8d}")


def _make_images() -> None:
    _gradient(64).save(HERE / "gradient-64.png", optimize=True)
    _shapes(256).save(HERE / "shapes-256.png", optimize=True)
    _scene(256, 256, seed=1).save(HERE / "scene-256.jpg", quality=85)
    _scene(512, 384, seed=2).save(HERE / "landscape-512x384.jpg", quality=82)
    _scene(384, 512, seed=3).save(HERE / "portrait-384x512.webp", quality=80)
    _pattern(256).save(HERE / "pattern-256.webp", quality=80)
    _scene(128, 128, seed=4).convert("L").save(HERE / "grayscale-128.jpg", quality=85)
    _scene(320, 240, seed=5, grain=1.5).save(HERE / "scene-320x240.png", optimize=True)
    _cutout(256, seed=6).save(HERE / "cutout-256.png", optimize=True)
    _cutout(256, seed=6).save(HERE / "cutout-256.webp", quality=80)
    _mask(256, 256).save(HERE / "mask-256.png", optimize=True)
    _mask(512, 384).save(HERE / "mask-512x384.png", optimize=True)
    (HERE / "logo.svg").write_text(SVG)


def _make_audio() -> None:
    _write_wav(HERE / "tone-1s.wav", 16000, 1.0, 1, [440.0])
    _write_wav(HERE / "chord-stereo-1.5s.wav", 22050, 1.5, 2, [261.6, 329.6, 392.0])
    _write_mono(HERE / "speech-3s.wav", 16000, _speech(16000, 3.0, seed=11, pitch=120, scale=1.0))
    temporary = HERE / "audio.tmp.wav"
    try:
        _write_wav(temporary, 44100, 3.0, 1, [220.0, 277.2, 329.6])
        _ffmpeg(
            "-i", str(temporary), "-c:a", "libmp3lame", "-b:a", "64k", str(HERE / "chord-3s.mp3")
        )
        _write_mono(temporary, 22050, _speech(22050, 5.0, seed=12, pitch=205, scale=1.15))
        _ffmpeg(
            "-i", str(temporary), "-c:a", "libmp3lame", "-b:a", "48k", str(HERE / "speech-5s.mp3")
        )
    finally:
        temporary.unlink(missing_ok=True)


def _make_files() -> None:
    (HERE / "sample.txt").write_text(TEXT)
    _write_pdf(HERE / "logbook-2p.pdf")
    training = _training_files()
    _write_zip(HERE / "training-5-captioned.zip", training)
    _write_tar(HERE / "training-5.tar", [f for f in training if f[0].endswith(".jpg")])
    (HERE / "metadata.json").write_text(json.dumps(METADATA, indent=2) + "\n")
    (HERE / "dataset.jsonl").write_text("".join(json.dumps(row) + "\n" for row in DATASET))


def main() -> None:
    _make_images()
    _make_audio()
    _write_mp4(HERE / "bounce-2s-160x120.mp4", 160, 120, 12, 2.0)
    _write_mp4(HERE / "bounce-1s-320x240.mp4", 320, 240, 12, 1.0)
    _make_files()
    _report()


if __name__ == "__main__":
    main()
