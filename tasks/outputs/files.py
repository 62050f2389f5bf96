"""Opening model outputs that are files: URLs, data: URIs, file:// URLs and local paths.

Comparison and checkers want a local file and a media kind. Models return files in many
spellings (an http URL on Replicate, a file:// URL or path from the local platform, a data:
URI from small models), so everything funnels through `resolve` and `media_kind` here.
Extensions are normalised (jpeg -> jpg, tif -> tiff, ...) so that a model whose output
changes spelling but not format is not flagged as changed.
"""

from __future__ import annotations

import atexit
import hashlib
import mimetypes
import os
import shutil
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Literal

from tasks.core import data_uri
from tasks.core.download import download
from tasks.core.errors import SafePushError
from tasks.core.home import tool_home

MediaKind = Literal["image", "audio", "video", "text", "other"]

# Spelling variants of the same format, mapped to one canonical extension.
_EXT_ALIASES = {
    "jpeg": "jpg",
    "jpe": "jpg",
    "jfif": "jpg",
    "tif": "tiff",
    "htm": "html",
    "yml": "yaml",
    "mpeg": "mpg",
    "oga": "ogg",
    "aif": "aiff",
    "markdown": "md",
    "text": "txt",
    "m4v": "mp4",
    "qt": "mov",
}

_IMAGE = {"png", "jpg", "gif", "webp", "bmp", "tiff", "ico", "heic", "avif"}
_AUDIO = {"wav", "mp3", "flac", "ogg", "opus", "m4a", "aac", "aiff", "wma"}
_VIDEO = {"mp4", "mov", "webm", "mkv", "avi", "mpg", "wmv", "flv"}
_TEXT = {"txt", "json", "md", "csv", "tsv", "html", "xml", "yaml", "srt", "vtt", "svg", "jsonl"}

_cache_lock = threading.Lock()
_cache_dir: Path | None = None


class FileRefError(SafePushError):
    """An output that should be a file could not be opened or downloaded."""

    exit_code = 1


def normalise_extension(ext: str) -> str:
    """Canonical, lower-case extension without the dot ('.JPEG' -> 'jpg')."""
    ext = ext.lower().lstrip(".")
    return _EXT_ALIASES.get(ext, ext)


def is_file_ref(value: Any) -> bool:
    """True for strings that name a file by URL: http(s)://, file:// or data: URIs."""
    if not isinstance(value, str):
        return False
    lowered = value[:16].lower()
    if lowered.startswith(("http://", "https://", "file://")):
        return True
    return data_uri.is_data_uri(value)


def trusted_roots() -> list[Path]:
    """Where output files legitimately live: the tool's home (the local registry's outputs,
    the Replicate platform's downloads) and this process's decoding cache."""
    return [tool_home(), cache_dir()]


def is_trusted(path: Path) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return any(resolved == root or root in resolved.parents for root in trusted_roots())


def is_file_output(value: Any) -> bool:
    """Whether an output value is a file the platform produced: a data: URI, or a file:// URL
    or absolute path inside the trusted roots. Outputs are data, not instructions: an http URL
    or a path elsewhere is text a model returned, never fetched or read."""
    if data_uri.is_data_uri(value):
        return True
    if isinstance(value, str) and value[:7].lower() == "file://":
        try:
            path = _file_url_path(value)
        except FileRefError:
            return False
    elif isinstance(value, Path):
        path = value
    elif isinstance(value, str) and len(value) < 4096 and os.path.isabs(value):
        path = Path(value)
    else:
        return False
    try:
        return path.is_file() and is_trusted(path)
    except OSError:
        return False


def _mime_extension(mime: str) -> str:
    mime = mime.lower()
    special = {
        "audio/wav": "wav",
        "audio/x-wav": "wav",
        "audio/wave": "wav",
        "audio/mpeg": "mp3",
        "image/jpeg": "jpg",
        "text/plain": "txt",
        "application/json": "json",
        "video/quicktime": "mov",
    }
    if mime in special:
        return special[mime]
    guessed = mimetypes.guess_extension(mime) or ""
    return normalise_extension(guessed) if guessed else ""


def extension_of(ref: str | Path) -> str:
    """Normalised extension named by a reference (URL path, data: MIME type or file name)."""
    if isinstance(ref, Path):
        return normalise_extension(ref.suffix)
    if data_uri.is_data_uri(ref):
        return _mime_extension(data_uri.mime_type(ref))
    if ref[:16].lower().startswith(("http://", "https://", "file://")):
        path = urllib.parse.urlparse(ref).path
        return normalise_extension(os.path.splitext(urllib.parse.unquote(path))[1])
    return normalise_extension(os.path.splitext(ref)[1])


def _sniff(path: Path) -> str:
    """Extension guessed from the first bytes, for files whose name does not say."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return ""
    signatures: list[tuple[int, bytes, str]] = [
        (0, b"\x89PNG\r\n\x1a\n", "png"),
        (0, b"\xff\xd8\xff", "jpg"),
        (0, b"GIF8", "gif"),
        (0, b"BM", "bmp"),
        (0, b"II*\x00", "tiff"),
        (0, b"MM\x00*", "tiff"),
        (0, b"fLaC", "flac"),
        (0, b"OggS", "ogg"),
        (0, b"ID3", "mp3"),
        (0, b"\x1a\x45\xdf\xa3", "webm"),
        (0, b"%PDF", "pdf"),
    ]
    for offset, magic, ext in signatures:
        if head[offset : offset + len(magic)] == magic:
            return ext
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12], "")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "m4a"
        if brand in (b"qt  ",):
            return "mov"
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"mif1"):
            return "heic"
        return "mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mp3"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "json"
    return "txt" if head and _looks_like_text(head) else ""


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut at the end
            return False
        text = head[: exc.start].decode("utf-8")
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


def kind_of_extension(ext: str) -> MediaKind:
    ext = normalise_extension(ext)
    if ext in _IMAGE:
        return "image"
    if ext in _AUDIO:
        return "audio"
    if ext in _VIDEO:
        return "video"
    if ext in _TEXT:
        return "text"
    return "other"


def file_format(path: str | Path) -> str:
    """Normalised format of a local file: its extension, or sniffed content when it has none."""
    path = Path(path)
    ext = normalise_extension(path.suffix)
    if ext and kind_of_extension(ext) != "other":
        return ext
    return _sniff(path) or ext


def media_kind(ref_or_path: str | Path) -> MediaKind:
    """'image' | 'audio' | 'video' | 'text' | 'other', from the name, or content for bare files."""
    if isinstance(ref_or_path, str) and is_file_ref(ref_or_path):
        if not ref_or_path.lower().startswith("file://"):
            return kind_of_extension(extension_of(ref_or_path))
        ref_or_path = _file_url_path(ref_or_path)
    path = Path(ref_or_path)
    ext = normalise_extension(path.suffix)
    if (not ext or kind_of_extension(ext) == "other") and path.is_file():
        ext = _sniff(path) or ext
    return kind_of_extension(ext)


def _file_url_path(url: str) -> Path:
    parsed = urllib.parse.urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise FileRefError(f"file URL with a remote host is not supported: {url[:200]}")
    return Path(urllib.request.url2pathname(parsed.path))


def cache_dir() -> Path:
    """A per-process directory for downloaded and decoded files, removed at exit."""
    global _cache_dir
    with _cache_lock:
        if _cache_dir is None:
            _cache_dir = Path(tempfile.mkdtemp(prefix="cog-safe-push-files-"))
            atexit.register(shutil.rmtree, _cache_dir, True)
        return _cache_dir


def _write_cached(name: str, data: bytes) -> Path:
    target = cache_dir() / name
    if not target.exists():
        tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def _decode_data_uri(uri: str) -> Path:
    try:
        mime, data = data_uri.decode(uri)
    except data_uri.DataURIError as exc:
        raise FileRefError(str(exc)) from None
    ext = _mime_extension(mime)
    digest = hashlib.sha256(data).hexdigest()[:24]
    return _write_cached(f"data-{digest}.{ext}" if ext else f"data-{digest}", data)


def _download(url: str, timeout: float) -> Path:
    """A downloaded copy in the cache (the name keeps the URL's file name: it tells the media)."""
    name = os.path.basename(urllib.parse.unquote(urllib.parse.urlparse(url).path)) or "download"
    digest = hashlib.sha256(url.encode()).hexdigest()[:24]
    target = cache_dir() / f"url-{digest}" / name
    if target.exists():
        return target
    try:
        return download(url, target, timeout=timeout)
    except SafePushError as exc:
        raise FileRefError(str(exc)) from None


def resolve(ref: str | Path, *, timeout: float = 60.0, trusted: bool = False) -> Path:
    """A local path for a file reference; downloads and data: URIs land in a temp cache.

    A local path or file:// URL is read only inside the trusted roots, unless the caller
    says the reference is its own (`trusted`: an expected file from the user's config).
    """
    if isinstance(ref, Path):
        path = ref
    elif not isinstance(ref, str):
        raise FileRefError(f"not a file reference: {type(ref).__name__}")
    elif ref[:8].lower().startswith(("http://", "https://")):
        return _download(ref, timeout)
    elif ref[:7].lower() == "file://":
        path = _file_url_path(ref)
    elif ref[:5].lower() == "data:":
        return _decode_data_uri(ref)
    else:
        path = Path(ref)
    if not path.is_file():
        raise FileRefError(f"output file does not exist: {path}")
    if not trusted and not is_trusted(path):
        raise FileRefError(f"not reading {path}: outside the tool's outputs")
    return path


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_keyed(value: Any) -> Any:
    """`value` with every file reference replaced by its content's digest, for cache keys:
    a file:// URL, path or http URL whose file changed is then a different key. The files
    are the user's or generated inputs (trusted), fetched once per process."""
    if isinstance(value, dict):
        return {k: content_keyed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [content_keyed(v) for v in value]
    if isinstance(value, str) and (
        value[:8].lower().startswith(("http://", "https://", "file://"))
        or (len(value) < 4096 and os.path.isabs(value) and Path(value).is_file())
    ):
        return {"file-sha256": sha256_file(resolve(value, trusted=True))}
    return value
