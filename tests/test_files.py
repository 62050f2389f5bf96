"""tasks.outputs.files: resolving every spelling of a file output, media kinds, extension normalisation.

The helpers at the top (real PNG/WAV files, a real HTTP file server) are shared with the
comparison, checker and AI tests.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import threading
import wave
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tasks.outputs import files
from tasks.outputs.files import FileRefError

pytestmark = pytest.mark.usefixtures("outputs_in_tmp")

# --- shared helpers --------------------------------------------------------------------


def gradient(width: int = 64, height: int = 48, shift: int = 0) -> np.ndarray:
    """A smooth RGB picture; `shift` moves it so that two pictures differ a lot."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(1, width - 1) + shift) % 256
    g = y * 255 // max(1, height - 1)
    b = ((x + y) * 4 + shift * 3) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def make_image(path: Path, pixels: np.ndarray, fmt: str | None = None, **save: object) -> Path:
    Image.fromarray(pixels).save(path, format=fmt, **save)
    return path


def tone(freq: float, seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave_ = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.repeat(wave_[:, None], channels, axis=1).reshape(-1)


def make_wav(
    path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1, width: int = 2
) -> Path:
    """Write float samples (-1..1, interleaved) as PCM WAV with the given sample width."""
    clipped = np.clip(samples, -1.0, 1.0)
    if width == 1:
        raw = (clipped * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        raw = (clipped * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = (clipped * 8388607).astype("<i4")
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        raw = (clipped * 2147483647).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(raw)
    return path


@contextlib.contextmanager
def serve_directory(directory: Path, log: list[str] | None = None) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving `directory`; yields its base URL. Paths
    requested are appended to `log` when given."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            if log is not None:
                log.append(self.path)

    handler = functools.partial(Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


# --- tests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("JPEG", "jpg"),
        (".jpg", "jpg"),
        ("jpe", "jpg"),
        ("tif", "tiff"),
        (".TIFF", "tiff"),
        ("yml", "yaml"),
        ("htm", "html"),
        ("png", "png"),
        ("", ""),
    ],
)
def test_normalise_extension(given: str, expected: str) -> None:
    assert files.normalise_extension(given) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://example.com/a.png", True),
        ("HTTPS://example.com/a", True),
        ("file:///tmp/x.wav", True),
        ("data:image/png;base64,AAAA", True),
        ("data:,hello", True),
        ("data:text/plain,hi", True),
        ("data: this is just a sentence", False),
        ("a cat sitting on a mat", False),
        ("/tmp/not-a-url.png", False),
        (42, False),
        (None, False),
    ],
)
def test_is_file_ref(value: object, expected: bool) -> None:
    assert files.is_file_ref(value) is expected


def test_is_file_output_accepts_existing_absolute_paths_only(tmp_path: Path) -> None:
    real = make_image(tmp_path / "a.png", gradient())
    assert files.is_file_output(str(real))
    assert files.is_file_output(real)
    assert files.is_file_output(real.as_uri())
    assert not files.is_file_output(str(tmp_path / "missing.png"))
    assert not files.is_file_output("a.png")  # relative text is text, not a file
    assert not files.is_file_output("https://example.com/a.png")  # text a model returned


def test_files_outside_the_tools_home_are_not_outputs(tmp_path: Path, monkeypatch) -> None:
    outside = make_image(tmp_path / "outside.png", gradient())
    monkeypatch.setenv("COG_SAFE_PUSH_HOME", str(tmp_path / "home"))
    assert not files.is_file_output(str(outside))
    assert not files.is_file_output(outside.as_uri())
    with pytest.raises(FileRefError, match="outside the tool's outputs"):
        files.resolve(str(outside))
    assert files.resolve(str(outside), trusted=True) == outside  # the user's own file


def test_resolve_plain_path_and_file_url(tmp_path: Path) -> None:
    real = make_image(tmp_path / "a b.png", gradient())
    assert files.resolve(str(real)) == real
    assert files.resolve(real.as_uri()) == real
    with pytest.raises(FileRefError, match="does not exist"):
        files.resolve(str(tmp_path / "missing.png"))
    with pytest.raises(FileRefError, match="does not exist"):
        files.resolve((tmp_path / "missing.png").as_uri())


def test_resolve_data_uris(tmp_path: Path) -> None:
    png = make_image(tmp_path / "a.png", gradient())
    resolved = files.resolve(data_uri(png, "image/png"))
    assert resolved.read_bytes() == png.read_bytes()
    assert resolved.suffix == ".png"
    assert files.media_kind(resolved) == "image"

    text = files.resolve("data:text/plain,hello%20world")
    assert text.read_text() == "hello world"
    assert text.suffix == ".txt"
    jpeg = files.resolve("data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff").decode())
    assert jpeg.suffix == ".jpg"


def test_resolve_downloads_http_once_and_caches(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    png = make_image(served / "out.png", gradient())
    noext = served / "blob"
    noext.write_bytes(png.read_bytes())
    with serve_directory(served) as base:
        first = files.resolve(f"{base}/out.png?token=secret")
        assert first.read_bytes() == png.read_bytes()
        assert first.name == "out.png"
        png.unlink()  # the second call must come from the cache
        assert files.resolve(f"{base}/out.png?token=secret") == first
        assert files.media_kind(files.resolve(f"{base}/blob")) == "image"  # sniffed
        with pytest.raises(FileRefError, match="HTTP 404") as info:
            files.resolve(f"{base}/missing.png?token=secret")
        assert "secret" not in str(info.value)


def test_resolve_rejects_non_references() -> None:
    with pytest.raises(FileRefError):
        files.resolve(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        ("https://x.test/out.JPEG", "image"),
        ("https://x.test/out.webp?sig=1", "image"),
        ("https://x.test/out.wav", "audio"),
        ("https://x.test/out.mp3", "audio"),
        ("https://x.test/out.mp4", "video"),
        ("https://x.test/out.webm", "video"),
        ("https://x.test/out.json", "text"),
        ("https://x.test/out.txt", "text"),
        ("https://x.test/out.safetensors", "other"),
        ("data:audio/wav;base64,AAAA", "audio"),
        ("data:image/webp;base64,AAAA", "image"),
        ("data:application/json,{}", "text"),
    ],
)
def test_media_kind_from_names(ref: str, kind: str) -> None:
    assert files.media_kind(ref) == kind


def test_media_kind_sniffs_files_without_extension(tmp_path: Path) -> None:
    png = make_image(tmp_path / "p", gradient(), fmt="PNG")
    webp = make_image(tmp_path / "w", gradient(), fmt="WEBP")
    jpeg = make_image(tmp_path / "j", gradient(), fmt="JPEG")
    wav = make_wav(tmp_path / "s", tone(440, 0.1))
    blob = tmp_path / "b"
    blob.write_bytes(bytes(range(256)))
    assert files.media_kind(png) == "image"
    assert files.file_format(png) == "png"
    assert files.file_format(webp) == "webp"
    assert files.file_format(jpeg) == "jpg"
    assert files.media_kind(str(wav)) == "audio"
    assert files.file_format(wav) == "wav"
    assert files.media_kind(wav.as_uri()) == "audio"
    assert files.media_kind(blob) == "other"


def test_extension_of_ignores_query_strings() -> None:
    assert files.extension_of("https://x.test/a/b.JPEG?x=1.png") == "jpg"
    assert files.extension_of("file:///tmp/a%20b.tif") == "tiff"
    assert files.extension_of("/tmp/a.Yml") == "yaml"
