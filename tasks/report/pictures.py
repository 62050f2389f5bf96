"""Small PNG pictures for the report's markdown artifacts: where two images differ, two audio
waveforms on one time axis, prediction times live vs test. Pure; returns PNG bytes.

Why pictures: a difference map, a waveform cut short or a bar twice as long is seen at once,
where the same fact as a number in a table has to be read and compared. Each picture is at
most MAX_WIDTH pixels wide and at most images.MAX_BYTES encoded (narrower, then fewer colours,
until it fits), so every one of them can be embedded as a data: URI. Same inputs, same bytes.
Captions use Pillow's built-in font (no font files needed) and are ASCII only.
"""

from __future__ import annotations

import functools
import io
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont, UnidentifiedImageError

from tasks.core.config import DEFAULT_MAX_SLOWDOWN
from tasks.outputs.latency import MIN_SECONDS
from tasks.outputs.media import Audio, decode_with_ffmpeg, image_distance, read_wav
from tasks.report.images import MAX_BYTES, inline

MAX_WIDTH = 720  # pixels
WIDTHS = (MAX_WIDTH, 560, 420, 320, 240)  # tried in turn until the encoded picture fits
MAX_ROWS = 20  # timing chart rows; the rest are counted in a note
FONT_SIZE = 12
PAD = 8

WHITE = (255, 255, 255)
INK = (34, 34, 34)
MUTED = (110, 110, 110)
RULE = (200, 200, 200)
PAST_END = (236, 236, 236)
LIVE = (47, 111, 176)  # blue
TEST = (232, 125, 20)  # orange
SLOWER = (200, 30, 30)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]


# --- shared drawing --------------------------------------------------------------------------


@functools.cache
def _font() -> Font:
    """Pillow's own font: FreeType's embedded face where FreeType is built in, else the
    bitmap one; neither needs a font file on the machine."""
    return ImageFont.load_default(FONT_SIZE)


def _ascii(text: str) -> str:
    """One line of printable ASCII ("é" becomes "e", what has no ASCII form "?"): the
    built-in font may have no other glyphs."""
    letters = unicodedata.normalize("NFKD", " ".join(str(text).split()))
    letters = "".join(c for c in letters if not unicodedata.combining(c))
    return re.sub(r"[^\x20-\x7e]", "?", letters)


def _width(text: str) -> int:
    return math.ceil(_font().getlength(text))


def _line_height() -> int:
    return _font().getbbox("Ag")[3] + 3


def _fit(text: str, room: int) -> str:
    """`text` cut with "..." so that it fits in `room` pixels."""
    text = _ascii(text)
    if _width(text) <= room:
        return text
    while text and _width(text + "...") > room:
        text = text[:-1]
    return text + "..." if text else ""


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, fill: RGB = INK) -> None:
    """Text whose top-left is `xy` (the bitmap font knows no anchors, so none are used)."""
    draw.text(xy, _ascii(text), font=_font(), fill=fill)


def _text_middle(draw: ImageDraw.ImageDraw, x: int, middle: int, text: str, fill: RGB) -> None:
    """Text vertically centred on `middle`."""
    top, bottom = _font().getbbox("Ag")[1::2]
    _text(draw, (x, middle - (top + bottom) // 2), text, fill)


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _bounded(render: Callable[[int], Image.Image], limit: int = MAX_BYTES) -> bytes:
    """The picture at the widest of WIDTHS whose PNG fits `limit`: full colour first, then
    256 colours. Should even the narrowest be over, it is returned as it is and data_uri
    declines it (picture_markdown then says so)."""
    data = b""
    for width in WIDTHS:
        picture = render(width)
        for candidate in (picture, picture.quantize(256)):
            data = _png(candidate)
            if len(data) <= limit:
                return data
    return data


# --- image difference ------------------------------------------------------------------------


def _has_alpha(img: Image.Image) -> bool:
    return "A" in img.getbands() or "transparency" in img.info


def _open_image(path: Path) -> Image.Image:
    """An image as RGB, or RGBA when it has transparency (palette and grey ones included);
    ValueError when it cannot be read."""
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I", "F") or img.mode.startswith("I;16"):
                return _eight_bit(img)
            return img.convert("RGBA" if _has_alpha(img) else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{path.name}: not a readable image ({type(exc).__name__})") from exc


def _eight_bit(img: Image.Image) -> Image.Image:
    """A 16-bit or float grey image as 8-bit RGB (Pillow's own conversion clips at 255)."""
    values = np.asarray(img, dtype=np.float64)
    top = 65535.0 if values.size and values.max() > 255 else 255.0
    grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _heat(level: np.ndarray) -> Image.Image:
    """A 0..255 difference as a heat map: black (same), red, yellow, white (most different).
    The square root lifts small differences so that they show."""
    v = np.sqrt(level.astype(np.float64) / 255.0)
    rgb = np.stack([v * 3, v * 3 - 1, v * 3 - 2], axis=-1)
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8))


def _max_pool(level: np.ndarray, factor: int) -> np.ndarray:
    """Shrink by `factor` keeping each block's largest value: one changed pixel still shows."""
    if factor <= 1:
        return level
    h, w = level.shape
    padded = np.zeros((-(-h // factor) * factor, -(-w // factor) * factor), level.dtype)
    padded[:h, :w] = level
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return blocks.max(axis=(1, 3))


def _fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _scaled(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resized to `size`: sharp pixels when enlarged, smooth when reduced; transparency shown
    over a checkerboard."""
    smaller = size[0] < img.width
    resample = Image.Resampling.LANCZOS if smaller else Image.Resampling.NEAREST
    out = img.resize(size, resample, reducing_gap=3.0 if smaller else None)
    if out.mode != "RGBA":
        return out.convert("RGB")
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    board = np.where((x // 8 + y // 8) % 2, 204, 255).astype(np.uint8)
    background = Image.fromarray(board).convert("RGBA")
    return Image.alpha_composite(background, out).convert("RGB")


def _difference_level(live: Image.Image, test: Image.Image) -> np.ndarray:
    """Per pixel, the largest absolute channel difference (0..255)."""
    mode = "RGBA" if "A" in live.getbands() + test.getbands() else "RGB"
    diff = ImageChops.difference(live.convert(mode), test.convert(mode))
    return np.asarray(diff).max(axis=2)


def _percent(fraction: float) -> str:
    if fraction == 0:
        return "0%"
    return "<0.1%" if fraction < 0.001 else f"{fraction * 100:.1f}%"


def _describe(label: str, img: Image.Image, size: tuple[int, int]) -> str:
    alpha = ", alpha" if img.mode == "RGBA" else ""
    return f"{label}: {size[0]}x{size[1]}{alpha}"


def image_difference(live: Path, test: Path) -> bytes:
    """Live, test and their difference map side by side, captioned (PNG).

    The map is the per-pixel largest channel difference as a heat map, black where the two
    are the same; a test image of another size is resized to live's for the map (the caption
    says so). The mean difference is tasks.outputs.media.image_distance, the number the
    comparison judged."""
    a, b = _open_image(live), _open_image(test)
    resized = a.size != b.size
    b_same = b.resize(a.size, Image.Resampling.BILINEAR) if resized else b
    level = _difference_level(a, b_same)
    mean = image_distance(a, b_same)
    captions = [
        [_describe("live", a, a.size)],
        [_describe("test", b, b.size)],
        [
            f"difference: mean {_percent(mean)}",
            f"{_percent(float((level > 0).mean()))} of pixels differ",
        ],
    ]
    if resized:
        captions[1].append(f"resized to {a.width}x{a.height} for the map")

    def render(width: int) -> Image.Image:
        room = (width - 4 * PAD) // 3
        shown_a = _fit_size(a.size, (room, room))
        panels = [
            _scaled(a, shown_a),
            _scaled(b, _fit_size(b.size, (room, room))),
            _heat(_max_pool(level, math.ceil(a.width / shown_a[0]))).resize(
                shown_a, Image.Resampling.NEAREST
            ),
        ]
        return _panels(width, room, panels, captions)

    return _bounded(render)


def _panels(
    width: int, room: int, panels: list[Image.Image], captions: list[list[str]]
) -> Image.Image:
    """Panels in a row, each `room` wide with its caption lines under it."""
    line = _line_height()
    top = max(p.height for p in panels) + PAD
    lines = max(len(c) for c in captions)
    picture = Image.new("RGB", (width, top + PAD // 2 + lines * line + PAD), WHITE)
    draw = ImageDraw.Draw(picture)
    for i, (panel, caption) in enumerate(zip(panels, captions, strict=True)):
        x = PAD + i * (room + PAD)
        picture.paste(panel, (x, PAD))
        draw.rectangle((x - 1, PAD - 1, x + panel.width, PAD + panel.height), outline=RULE)
        for j, text in enumerate(caption):
            _text(draw, (x, top + PAD // 2 + j * line), _fit(text, room), INK if j == 0 else MUTED)
    return picture


# --- waveforms -------------------------------------------------------------------------------


def _audio(path: Path) -> Audio:
    """PCM WAV with the wave module, anything else through ffmpeg; ValueError otherwise."""
    audio = read_wav(path) or decode_with_ffmpeg(path)
    if audio is None or audio.channels < 1 or audio.rate < 1:
        raise ValueError(
            f"{path.name}: cannot decode as audio (not a PCM WAV, and ffmpeg could not read it)"
        )
    return audio


def _envelope(audio: Audio, columns: int, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest sample (any channel) in each of `columns` equal slices of
    `seconds`; only the slices the audio reaches."""
    usable = len(audio.samples) - len(audio.samples) % audio.channels
    frames = audio.samples[:usable].reshape(-1, audio.channels)
    if not len(frames) or seconds <= 0:
        return np.zeros(0), np.zeros(0)
    starts = np.floor(np.arange(columns) * (seconds * audio.rate / columns)).astype(np.int64)
    starts = starts[starts < len(frames)]
    return (
        np.minimum.reduceat(frames.min(axis=1), starts),
        np.maximum.reduceat(frames.max(axis=1), starts),
    )


def _nice_step(span: float, most: int = 8) -> float:
    """The smallest 1, 2 or 5 times a power of ten that divides `span` into at most `most`."""
    power = 10.0 ** math.floor(math.log10(span / most)) if span > 0 else 1.0
    return next(power * m for m in (1, 2, 5, 10) if span / (power * m) <= most)


def _audio_caption(label: str, audio: Audio) -> str:
    layout = {1: "mono", 2: "stereo"}.get(audio.channels, f"{audio.channels} channels")
    level = f"peak {20 * math.log10(audio.peak):.1f} dBFS" if audio.peak > 0 else "silent"
    return f"{label}: {audio.duration:.2f} s, {audio.rate} Hz, {layout}, {level}"


def waveforms(live: Path, test: Path) -> bytes:
    """Live's waveform above test's, on one time axis (a length change shows as a shorter
    trace) and one amplitude scale (so does a level change), captioned (PNG)."""
    a, b = _audio(live), _audio(test)
    seconds = max(a.duration, b.duration)
    gain = 1.0 / max(a.peak, b.peak, 1e-4)

    def render(width: int) -> Image.Image:
        line, track = _line_height(), 80
        height = PAD + 2 * (line + track + PAD) + line + PAD
        picture = Image.new("RGB", (width, height), WHITE)
        draw = ImageDraw.Draw(picture)
        columns = width - 2 * PAD
        y = PAD
        for label, audio, colour in (("live", a, LIVE), ("test", b, TEST)):
            _text(draw, (PAD, y), _fit(_audio_caption(label, audio), columns), colour)
            _track(draw, audio, colour, (PAD, y + line, columns, track), seconds, gain)
            y += line + track + PAD
        _time_axis(draw, (PAD, y, columns), seconds)
        return picture

    return _bounded(render)


def _track(
    draw: ImageDraw.ImageDraw,
    audio: Audio,
    colour: RGB,
    box: tuple[int, int, int, int],
    seconds: float,
    gain: float,
) -> None:
    """One waveform as a min/max envelope per pixel column; grey past the audio's end."""
    left, top, columns, height = box
    low, high = _envelope(audio, columns, seconds)
    draw.rectangle((left, top, left + columns - 1, top + height - 1), fill=PAST_END)
    middle, half = top + height // 2, height // 2 - 2
    if len(low):
        draw.rectangle((left, top, left + len(low) - 1, top + height - 1), fill=WHITE)
    draw.line((left, middle, left + columns - 1, middle), fill=RULE)
    for x, (lo, hi) in enumerate(zip(low, high, strict=True)):
        y_hi = middle - round(float(np.clip(hi * gain, -1, 1)) * half)
        y_lo = middle - round(float(np.clip(lo * gain, -1, 1)) * half)
        draw.line((left + x, y_hi, left + x, y_lo), fill=colour)
    draw.rectangle((left - 1, top - 1, left + columns, top + height), outline=RULE)


def _time_axis(draw: ImageDraw.ImageDraw, where: tuple[int, int, int], seconds: float) -> None:
    left, top, columns = where
    if seconds <= 0:
        _text(draw, (left, top), "0 s", MUTED)
        return
    step = _nice_step(seconds)
    ticks = int(seconds / step + 1e-9) + 1
    for i in range(ticks):
        x = left + round(i * step / seconds * (columns - 1))
        label = f"{i * step:g} s"
        draw.line((x, top - PAD, x, top - PAD + 3), fill=MUTED)
        _text(draw, (min(x, left + columns - _width(label)), top), label, MUTED)


# --- timing chart ----------------------------------------------------------------------------


def _seconds(value: float | None) -> float | None:
    """A usable time, or None (no run; also for a negative or non-finite number)."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _ratio(live: float | None, test: float | None) -> float | None:
    if live is None or test is None:
        return None
    return max(test, MIN_SECONDS) / max(live, MIN_SECONDS)


def timing_chart(
    rows: Sequence[tuple[str, float | None, float | None]],
    slower: float = DEFAULT_MAX_SLOWDOWN,
) -> bytes:
    """Prediction time per input, a live bar above a test bar on one scale, seconds at the
    bar ends and test/live on the right (red from `slower`), so a slowdown is seen at once
    (PNG). The first MAX_ROWS rows are drawn, in the order given; a note counts the rest."""
    shown = [(_ascii(label), _seconds(lv), _seconds(ts)) for label, lv, ts in rows[:MAX_ROWS]]
    more = max(0, len(rows) - MAX_ROWS)
    top = max((v for _, lv, ts in shown for v in (lv, ts) if v is not None), default=0.0)
    return _bounded(lambda width: _chart(width, shown, more, top or 1.0, slower))


def _chart(
    width: int,
    rows: list[tuple[str, float | None, float | None]],
    more: int,
    top: float,
    slower: float,
) -> Image.Image:
    line = _line_height()
    bar = _font().getbbox("0")[3] - _font().getbbox("0")[1] + 1  # a digit's height
    row = 2 * bar + 1 + 6
    notes = int(bool(more)) + int(not rows)
    height = PAD + line + PAD + len(rows) * row + notes * line + PAD
    picture = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(picture)
    ratio_room = _width("test/live")
    value_room = _width("0000.00 s ")
    label_room = min(max((_width(label) for label, _, _ in rows), default=0), width // 4)
    bars_left = PAD + label_room + PAD
    bars_room = max(10, width - bars_left - value_room - ratio_room - 2 * PAD)
    _legend(draw, width, ratio_room)
    y = PAD + line + PAD
    for label, live, test in rows:
        _text_middle(draw, PAD, y + bar, _fit(label, label_room), INK)
        for i, (value, colour) in enumerate(((live, LIVE), (test, TEST))):
            middle = y + i * (bar + 1) + bar // 2
            length = 0 if value is None else max(1, round(value / top * bars_room))
            if length:
                edge = middle - bar // 2
                draw.rectangle(
                    (bars_left, edge, bars_left + length - 1, edge + bar - 1), fill=colour
                )
            text = "no run" if value is None else f"{value:.2f} s"
            _text_middle(
                draw, bars_left + length + 4, middle, text, MUTED if value is None else INK
            )
        ratio = _ratio(live, test)
        if ratio is not None:
            colour = SLOWER if ratio >= slower else MUTED
            text = f"{ratio:.2f}x"
            _text_middle(draw, width - PAD - _width(text), y + bar, text, colour)
        y += row
    if not rows:
        _text(draw, (PAD, y), "no prediction times", MUTED)
    if more:
        _text(draw, (PAD, y), f"+{more} more input(s) not shown", MUTED)
    return picture


def _legend(draw: ImageDraw.ImageDraw, width: int, ratio_room: int) -> None:
    x, line = PAD, _line_height()
    middle = PAD + line // 2
    for name, colour in (("live", LIVE), ("test", TEST)):
        draw.rectangle((x, middle - 5, x + 9, middle + 4), fill=colour)
        _text_middle(draw, x + 14, middle, name, INK)
        x += 14 + _width(name) + 2 * PAD
    _text_middle(draw, x, middle, "prediction time, seconds", MUTED)
    _text_middle(draw, width - PAD - ratio_room, middle, "test/live", MUTED)


# --- embedding -------------------------------------------------------------------------------


def data_uri(png: bytes, limit: int = MAX_BYTES) -> str | None:
    """The picture as a data: URI, or None when it is over `limit` bytes: the same bound as
    the report's thumbnails (tasks.report.images)."""
    return inline(png, "image/png", limit)


_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def _inert(text: str) -> str:
    """One line with markdown and HTML syntax escaped, so a title cannot change the page."""
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def _size(count: int) -> str:
    return f"{count // 1024} KB" if count >= 1024 else f"{count} bytes"


def picture_markdown(title: str, png: bytes, alt: str, limit: int = MAX_BYTES) -> str:
    """`**title**` over the embedded picture; a one-line note instead when it is too large."""
    uri = data_uri(png, limit)
    if uri is None:
        return (
            f"**{_inert(title)}**: picture not embedded "
            f"({_size(len(png))}, over the {_size(limit)} limit)\n"
        )
    return f"**{_inert(title)}**\n\n![{_inert(alt)}]({uri})\n"
