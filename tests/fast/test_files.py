"""tasks.outputs.files: resolving every spelling of a file output, media kinds, extension normalisation."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tasks.outputs import files
from tasks.outputs.files import FileRefError
from tests.helpers import data_uri, gradient, make_image, make_wav, serve_directory, tone

pytestmark = pytest.mark.usefixtures("outputs_in_tmp")

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
