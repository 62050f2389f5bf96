"""The report's pictures (tasks.report.pictures): what each one shows, measured in its pixels,
and the bounds every picture keeps (width, bytes, rows), with the same bytes for the same
inputs."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageFont

from tasks.report import pictures
from tasks.report.images import MAX_BYTES
from tasks.report.pictures import (
    LIVE,
    MAX_ROWS,
    MAX_WIDTH,
    TEST,
    data_uri,
    image_difference,
    picture_markdown,
    timing_chart,
    waveforms,
)
from tests.helpers import gradient, make_image, make_wav, tone


def pixels(png: bytes) -> np.ndarray:
    """The picture as an RGB array, after checking that it is a PNG within the bounds."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) <= MAX_BYTES
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG"
        assert img.width <= MAX_WIDTH
        return np.asarray(img.convert("RGB"))


def right_third(array: np.ndarray) -> np.ndarray:
    return array[:, array.shape[1] * 2 // 3 :]


def black_box(array: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns spanned by pure black pixels (the difference map of two equal images)."""
    ys, xs = np.nonzero((array == 0).all(axis=2))
    return slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)


def captions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text a picture draws, recorded as it is drawn."""
    drawn: list[str] = []
    draw_text = pictures._text

    def record(draw, xy, text, fill=pictures.INK):
        drawn.append(text)
        draw_text(draw, xy, text, fill)

    monkeypatch.setattr(pictures, "_text", record)
    return drawn


# --- image difference ------------------------------------------------------------------------


def test_the_difference_map_is_black_for_equal_images_and_bright_where_they_differ(tmp_path):
    live = make_image(tmp_path / "live.png", gradient(64, 48))
    changed = gradient(64, 48)
    changed[12:24, 32:48] = 255  # a white block: a quarter of the width, a quarter of the height
    test = make_image(tmp_path / "test.png", changed)

    same = right_third(pixels(image_difference(live, live)))
    rows, cols = black_box(same)
    panel = same[rows, cols]
    assert panel.shape[0] > 100 and panel.shape[1] > 150  # the map, scaled up, not a speck
    assert panel.max() == 0  # nothing differs anywhere

    differ = right_third(pixels(image_difference(live, test)))[rows, cols]
    bright = differ.astype(int).sum(axis=2) > 400
    assert 0.03 < bright.mean() < 0.09  # the block is 192 of 3072 pixels (6.25 %)
    ys, xs = np.nonzero(bright)
    assert abs(xs.mean() / differ.shape[1] - 40 / 64) < 0.05
    assert abs(ys.mean() / differ.shape[0] - 18 / 48) < 0.05
    assert (differ[~bright] == 0).all()  # and black everywhere else


def test_a_one_pixel_difference_survives_scaling_down(tmp_path):
    base = gradient(1200, 900)
    changed = base.copy()
    changed[450, 600] = 255
    live = make_image(tmp_path / "live.png", base)
    test = make_image(tmp_path / "test.png", changed)
    rows, cols = black_box(right_third(pixels(image_difference(live, live))))
    differ = right_third(pixels(image_difference(live, test)))[rows, cols]
    bright = differ.astype(int).sum(axis=2) > 400
    assert 0 < bright.sum() <= 9  # one pixel of 1200x900 still shows, as a dot
    assert (differ[~bright] == 0).all()


def test_images_of_different_sizes_are_compared_at_live_size_and_said_so(tmp_path, monkeypatch):
    live = make_image(tmp_path / "live.png", gradient(64, 48))
    test = make_image(tmp_path / "test.png", gradient(100, 200))  # tall, another aspect
    drawn = captions(monkeypatch)
    picture = pixels(image_difference(live, test))
    assert "live: 64x48" in drawn and "test: 100x200" in drawn
    assert "resized to 64x48 for the map" in drawn
    assert any(text.startswith("difference: mean ") for text in drawn)
    # the test panel keeps its own (tall) shape; the map has live's (wide) shape
    middle = picture[:, MAX_WIDTH // 3 : MAX_WIDTH * 2 // 3]
    ys, xs = np.nonzero((middle.astype(int).sum(axis=2) < 600)[:180])
    assert (ys.max() - ys.min()) > 1.5 * (xs.max() - xs.min())


def test_the_caption_gives_the_mean_difference_the_comparison_uses(tmp_path, monkeypatch):
    base = gradient(40, 40)
    live = make_image(tmp_path / "live.png", base)
    test = make_image(tmp_path / "test.png", np.clip(base.astype(int) + 51, 0, 255).astype("u1"))
    drawn = captions(monkeypatch)
    image_difference(live, test)
    from tasks.outputs.media import image_distance

    with Image.open(live) as a, Image.open(test) as b:
        expected = image_distance(a, b) * 100
    assert f"difference: mean {expected:.1f}%" in drawn
    assert "100.0% of pixels differ" in drawn


def test_alpha_grey_palette_and_16_bit_images_are_drawn(tmp_path):
    clear = np.zeros((32, 32, 4), dtype=np.uint8)  # fully transparent
    alpha = make_image(tmp_path / "alpha.png", clear)
    grey = make_image(tmp_path / "grey.png", gradient(32, 32)[:, :, 0])
    deep = make_image(tmp_path / "deep.png", (gradient(32, 32)[:, :, 1].astype(np.uint16) * 257))
    palette = tmp_path / "palette.gif"
    Image.fromarray(gradient(32, 32)).convert("P").save(palette)
    for live, test in [(alpha, grey), (grey, palette), (deep, alpha), (palette, deep)]:
        picture = pixels(image_difference(live, test))
        assert picture.shape[1] == MAX_WIDTH
    # transparency shows as a checkerboard of two light greys in the live panel
    left = pixels(image_difference(alpha, grey))[:, : MAX_WIDTH // 3]
    greys = {tuple(p) for p in left[20:200, 20:200].reshape(-1, 3)}
    assert {(204, 204, 204), (255, 255, 255)} <= greys


def test_large_busy_images_are_narrowed_until_the_picture_fits(tmp_path):
    rng = np.random.default_rng(7)
    live = make_image(tmp_path / "live.png", rng.integers(0, 256, (600, 600, 3), dtype=np.uint8))
    test = make_image(tmp_path / "test.png", rng.integers(0, 256, (600, 600, 3), dtype=np.uint8))
    png = image_difference(live, test)
    pixels(png)  # a PNG no wider than MAX_WIDTH and no larger than MAX_BYTES
    assert len(png) > MAX_BYTES // 4  # busy, so the bound was what kept it small


def test_an_unreadable_image_is_a_clear_value_error(tmp_path):
    live = make_image(tmp_path / "live.png", gradient())
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="broken.png: not a readable image"):
        image_difference(live, broken)


# --- waveforms -------------------------------------------------------------------------------


def extent(picture: np.ndarray, colour: tuple[int, int, int]) -> int:
    """The rightmost column drawn in `colour` (caption and trace), from the left edge."""
    xs = np.nonzero((picture == colour).all(axis=2).any(axis=0))[0]
    return int(xs.max()) - pictures.PAD


def test_a_twice_as_long_output_draws_a_twice_as_long_trace(tmp_path):
    short = make_wav(tmp_path / "short.wav", tone(5, 1.0))
    long = make_wav(tmp_path / "long.wav", tone(5, 2.0))
    picture = pixels(waveforms(short, long))
    assert abs(extent(picture, TEST) / extent(picture, LIVE) - 2.0) < 0.05
    same = pixels(waveforms(long, long))
    assert abs(extent(same, TEST) - extent(same, LIVE)) <= 1
    assert not np.array_equal(picture, same)


def test_a_quieter_output_draws_a_smaller_trace(tmp_path):
    loud = make_wav(tmp_path / "loud.wav", tone(5, 1.0))
    quiet = make_wav(tmp_path / "quiet.wav", tone(5, 1.0) * 0.25)
    picture = pixels(waveforms(loud, quiet))
    traces = picture[:, 400:700]  # right of the captions: only the traces are drawn here
    heights = [np.ptp(np.nonzero((traces == c).all(axis=2))[0]) for c in (LIVE, TEST)]
    assert 3.0 < heights[0] / heights[1] < 5.0


def test_stereo_silent_and_empty_audio_are_drawn(tmp_path, monkeypatch):
    stereo = make_wav(tmp_path / "stereo.wav", tone(220, 0.5, rate=8000, channels=2), 8000, 2)
    silent = make_wav(tmp_path / "silent.wav", np.zeros(8000), rate=8000, width=1)
    empty = make_wav(tmp_path / "empty.wav", np.zeros(0))
    drawn = captions(monkeypatch)
    pixels(waveforms(stereo, silent))
    pixels(waveforms(empty, empty))
    assert any("8000 Hz, stereo, peak" in text for text in drawn)
    assert any(text.endswith("mono, silent") for text in drawn)


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg")
def test_other_audio_formats_are_decoded_with_ffmpeg(tmp_path):
    short = make_wav(tmp_path / "short.wav", tone(5, 1.0))
    long = make_wav(tmp_path / "long.wav", tone(5, 2.0))
    flac = tmp_path / "long.flac"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(long), str(flac)], check=True, timeout=60)
    picture = pixels(waveforms(short, flac))
    assert abs(extent(picture, TEST) / extent(picture, LIVE) - 2.0) < 0.05


def test_undecodable_audio_is_a_clear_value_error(tmp_path):
    good = make_wav(tmp_path / "good.wav", tone(440, 0.2))
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(b"not audio at all" * 64)
    with pytest.raises(ValueError, match="noise.mp3: cannot decode as audio"):
        waveforms(good, noise)


# --- timing chart ----------------------------------------------------------------------------


def longest_run(picture: np.ndarray, colour: tuple[int, int, int]) -> int:
    """The longest horizontal run of `colour`: the longest bar of that colour."""
    best = 0
    for row in (picture == colour).all(axis=2):
        edges = np.diff(np.concatenate([[0], row.astype(int), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        best = max(best, int((ends - starts).max(initial=0)))
    return best


def bars_in_column(picture: np.ndarray, colour: tuple[int, int, int], x: int) -> int:
    column = (picture[:, x] == colour).all(axis=1).astype(int)
    return int((np.diff(np.concatenate([[0], column])) == 1).sum())


def test_a_twice_as_slow_test_run_draws_a_twice_as_long_bar():
    picture = pixels(timing_chart([("test case 1", 1.5, 3.0), ("fuzz 2", 0.4, 0.5)]))
    assert abs(longest_run(picture, TEST) / longest_run(picture, LIVE) - 2.0) < 0.02
    faster = pixels(timing_chart([("test case 1", 3.0, 1.5)]))
    assert abs(longest_run(faster, LIVE) / longest_run(faster, TEST) - 2.0) < 0.02


def test_the_chart_prints_seconds_and_flags_a_slowdown(monkeypatch):
    drawn = captions(monkeypatch)
    timing_chart([("slow", 1.0, 2.5), ("same", 1.0, 1.1), ("never ran", 0.7, None)])
    assert {"1.00 s", "2.50 s", "0.70 s", "no run"} <= set(drawn)
    assert {"live", "test", "2.50x", "1.10x"} <= set(drawn)
    colours: dict[str, tuple[int, int, int]] = {}

    def text_middle(draw, x, middle, text, fill):
        colours[text] = fill

    monkeypatch.setattr(pictures, "_text_middle", text_middle)
    timing_chart([("slow", 1.0, 2.5), ("same", 1.0, 1.1)])
    assert colours["2.50x"] == pictures.SLOWER and colours["1.10x"] == pictures.MUTED


def test_a_missing_run_draws_no_bar():
    picture = pixels(timing_chart([("live only", 2.0, None), ("odd", float("nan"), -1.0)]))
    legend_swatch = 10
    assert longest_run(picture, TEST) == legend_swatch
    assert longest_run(picture, LIVE) > 100


def test_rows_beyond_the_cap_are_counted_not_drawn(monkeypatch):
    rows = [(f"fuzz {i}", 1.0 + i / 10, 1.0 + i / 9) for i in range(MAX_ROWS + 7)]
    drawn = captions(monkeypatch)
    capped = pixels(timing_chart(rows))
    assert "+7 more input(s) not shown" in drawn
    exact = pixels(timing_chart(rows[:MAX_ROWS]))
    assert capped.shape[0] > exact.shape[0]  # one more line: the note
    assert pixels(timing_chart(rows * 3)).shape == capped.shape  # the height is bounded
    start = int(np.nonzero((capped == LIVE).all(axis=2).sum(axis=0) > 20)[0].min())
    assert bars_in_column(capped, LIVE, start) == MAX_ROWS


def test_labels_are_cut_and_made_ascii(monkeypatch):
    drawn = captions(monkeypatch)
    pixels(timing_chart([("ünïcode — " + "long " * 60, 1.0, 1.0), ("", 0.0, 0.0)]))
    label = next(text for text in drawn if text.startswith("unicode ? long"))
    assert label.endswith("...") and label.isascii()
    drawn.clear()
    pixels(timing_chart([]))
    assert "no prediction times" in drawn


# --- the same bytes, any font, embedding -----------------------------------------------------


def test_the_same_inputs_give_the_same_bytes(tmp_path):
    live = make_image(tmp_path / "live.png", gradient(80, 60))
    test = make_image(tmp_path / "test.png", gradient(80, 60, shift=30))
    short = make_wav(tmp_path / "short.wav", tone(300, 0.5))
    long = make_wav(tmp_path / "long.wav", tone(300, 0.8))
    rows = [("a", 1.0, 2.0), ("b", None, 0.3)]
    assert image_difference(live, test) == image_difference(live, test)
    assert waveforms(short, long) == waveforms(short, long)
    assert timing_chart(rows) == timing_chart(rows)


def test_pictures_draw_with_the_bitmap_font_of_a_pillow_without_freetype(tmp_path, monkeypatch):
    monkeypatch.setattr(pictures, "_font", ImageFont.load_default_imagefont)
    live = make_image(tmp_path / "live.png", gradient(80, 60))
    test = make_image(tmp_path / "test.png", gradient(50, 60, shift=30))
    short = make_wav(tmp_path / "short.wav", tone(5, 1.0))
    long = make_wav(tmp_path / "long.wav", tone(5, 2.0))
    pixels(image_difference(live, test))
    picture = pixels(waveforms(short, long))
    assert abs(extent(picture, TEST) / extent(picture, LIVE) - 2.0) < 0.05
    chart = pixels(timing_chart([("x" * 200, 1.0, 2.0)]))
    assert abs(longest_run(chart, TEST) / longest_run(chart, LIVE) - 2.0) < 0.02


def test_data_uri_embeds_a_picture_and_refuses_one_over_the_limit():
    png = timing_chart([("a", 1.0, 2.0)])
    uri = data_uri(png)
    assert uri is not None and uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
    assert data_uri(png, limit=len(png)) == uri
    assert data_uri(png, limit=len(png) - 1) is None


def test_picture_markdown_embeds_or_says_why_not():
    png = timing_chart([("a", 1.0, 2.0)])
    text = picture_markdown("Times [live](x) *vs* test", png, "bars: live vs test")
    assert "**Times \\[live\\]\\(x\\) \\*vs\\* test**" in text
    assert "![bars: live vs test](data:image/png;base64," in text
    note = picture_markdown("Times", png, "bars", limit=100)
    assert "data:" not in note and note.count("\n") == 1
    assert "picture not embedded" in note and "over the 100 bytes limit" in note


def test_a_failed_comparison_is_drawn_by_what_its_outputs_are(tmp_path, outputs_in_tmp):
    """The artifact's choice: two images -> side by side with a difference map; two audio
    files -> both waveforms; anything else (text, mixed kinds, several files) -> nothing."""
    from tasks.artifacts import comparison_picture
    from tests.helpers import gradient, make_image, make_wav, tone

    live_png = make_image(tmp_path / "live.png", gradient(64, 48))
    test_png = make_image(tmp_path / "test.png", gradient(64, 48, shift=90))
    live_wav = make_wav(tmp_path / "live.wav", tone(440, 1.0))
    test_wav = make_wav(tmp_path / "test.wav", tone(440, 2.0))

    what, png = comparison_picture(str(live_png), [str(test_png)])
    assert "difference map" in what and png == image_difference(live_png, test_png)
    what, png = comparison_picture(str(live_wav), str(test_wav))
    assert "waveforms" in what and png == waveforms(live_wav, test_wav)
    assert comparison_picture("hello", "howdy") is None
    assert comparison_picture(str(live_png), str(test_wav)) is None
    assert comparison_picture([str(live_png), str(live_png)], [str(test_png)] * 2) is None
