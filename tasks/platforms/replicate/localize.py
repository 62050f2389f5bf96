"""Bringing a finished run's output files to disk, from the places a Replicate output may
name and nowhere else.

Replicate deletes API outputs after an hour, so files are fetched as soon as a run ends and
replaced by file:// URLs of the local copies. A remote model's output is data, never an
instruction to this machine: files are downloaded only from https URLs, or from the API's own
scheme and host (the fake test server serves its files over http from there); data: URIs are
decoded. A file:// URL, a local path or an http URL on any other host stays a plain string:
it is not fetched and not read. Downloads use the project's one downloader
(tasks.core.download), on a worker thread so the event loop keeps following other runs.
"""

from __future__ import annotations

import asyncio
import os
import urllib.parse
from pathlib import Path
from typing import Any, Literal

from tasks.core import data_uri
from tasks.core.download import download
from tasks.core.errors import PlatformError
from tasks.platforms.replicate.output_schema import (
    Schema,
    collect_file_urls,
    file_name_for,
    replace_urls,
)

Source = Literal["data", "https", "api"]


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = urllib.parse.urlsplit(url)
    try:
        port = parsed.port
    except ValueError:
        port = -1  # malformed: matches nothing
    default = {"http": 80, "https": 443}.get(parsed.scheme.lower())
    return parsed.scheme.lower(), (parsed.hostname or "").lower(), port or default


def source_of(url: str, api_base: str) -> Source | None:
    """Where an output URL may be fetched from: a data: URI, an https URL, the API's own
    origin; None for anything else (it stays a string)."""
    if data_uri.is_data_uri(url):
        return "data"
    scheme, host, _ = _origin(url)
    if not host:
        return None
    if _origin(url) == _origin(api_base):
        return "api"
    return "https" if scheme == "https" else None


def fetchable_urls(output: Any, schema: Schema | None, api_base: str) -> list[str]:
    """The file URLs of an output that will be brought to disk, in order."""
    return [u for u in collect_file_urls(output, schema) if source_of(u, api_base) is not None]


def _write(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(target)


def fetch(url: str, target: Path, api_base: str) -> Path:
    """One output file to `target` (synchronous); an existing copy from the same run is kept."""
    if target.exists() and target.stat().st_size > 0:
        return target
    source = source_of(url, api_base)
    if source == "data":
        try:
            _, data = data_uri.decode(url)
        except data_uri.DataURIError as exc:
            raise PlatformError(f"output data URI does not decode: {exc}") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, data)
        return target
    if source is None:
        raise PlatformError("refusing to fetch an output file from an untrusted location")
    # From the API's own origin the scheme is the API's; anywhere else, https only.
    https_only = source == "https" or _origin(api_base)[0] == "https"
    return download(url, target, https_only=https_only)


async def localize(output: Any, schema: Schema | None, folder: Path, api_base: str) -> Any:
    """The output with each fetchable file replaced by the file:// URL of its local copy."""
    urls = fetchable_urls(output, schema, api_base)
    if not urls:
        return output
    names: list[str] = []
    for index, url in enumerate(urls):
        name = file_name_for(url, index)
        names.append(name if name not in names else f"{index}-{name}")
    paths = await asyncio.gather(
        *(
            asyncio.to_thread(fetch, url, folder / name, api_base)
            for url, name in zip(urls, names, strict=True)
        )
    )
    mapping = {url: path.resolve().as_uri() for url, path in zip(urls, paths, strict=True)}
    return replace_urls(output, mapping)
