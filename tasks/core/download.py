"""Downloading a file to disk: the one downloader, for outputs and expected files alike.

Streams to a temporary file and renames it into place (no whole body in memory, no half file
left behind), and never sends credentials: file URLs live on other hosts. Each download is a
repeatable request (tasks.core.retry.retried): in a run, Prefect retries it on the transient
failures of tasks.core.retry (its statuses, dropped connections).
`https_only` refuses anything but https, for URLs a remote model chose.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from pathlib import Path

import requests

from tasks.core.errors import PlatformError, SafePushError, TransientError
from tasks.core.retry import TRANSIENT_STATUS, retried

CHUNK = 1 << 16


class DownloadError(PlatformError):
    """A file could not be fetched; the message names the URL without its query string."""


def shown(url: str) -> str:
    """A URL for messages: signed URLs carry their tokens in the query string."""
    parsed = urllib.parse.urlparse(url)
    return urllib.parse.urlunparse(parsed._replace(query="", fragment=""))


def download(
    url: str,
    target: Path,
    *,
    timeout: float = 60.0,
    https_only: bool = False,
) -> Path:
    """Fetch `url` into `target` (created with its parents); returns `target`."""
    scheme = urllib.parse.urlparse(url).scheme.lower()
    allowed = ("https",) if https_only else ("http", "https")
    if scheme not in allowed:
        raise DownloadError(f"refusing to download {shown(url)}: only {'/'.join(allowed)} URLs")
    target.parent.mkdir(parents=True, exist_ok=True)
    return retried(f"download {_short(url)}", lambda: _attempt(url, target, timeout, https_only))


def _short(url: str) -> str:
    """A download's name in the Prefect UI: the URL's host and file name, no query."""
    parsed = urllib.parse.urlparse(url)
    name = parsed.path.rstrip("/").rsplit("/", 1)[-1]
    return f"{parsed.netloc}/…/{name}"[:80] if name else parsed.netloc[:80]


def _attempt(url: str, target: Path, timeout: float, https_only: bool) -> Path:
    """One attempt: the file in place, or the (transient or final) error raised."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        error = _fetch(url, target, partial, timeout, https_only)
    finally:
        partial.unlink(missing_ok=True)
    if error is not None:
        raise error
    return target


def _fetch(
    url: str, target: Path, partial: Path, timeout: float, https_only: bool
) -> SafePushError | None:
    """One attempt: None when the file is in place, the transient error otherwise."""
    with requests.Session() as session:
        # No credentials from ~/.netrc or elsewhere: file URLs are on other hosts. Proxies
        # from the environment still apply.
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(url))
        try:
            with session.get(url, stream=True, timeout=timeout, allow_redirects=True) as response:
                if https_only and not response.url.lower().startswith("https://"):
                    raise DownloadError(f"refusing {shown(url)}: it redirects away from https")
                status = response.status_code
                if status >= 400:
                    if status not in TRANSIENT_STATUS:
                        raise DownloadError(f"could not download {shown(url)}: HTTP {status}")
                    return TransientError(f"could not download {shown(url)}: HTTP {status}")
                with partial.open("wb") as handle:
                    for chunk in response.iter_content(CHUNK):
                        handle.write(chunk)
        except requests.RequestException as exc:
            return TransientError(f"could not download {shown(url)}: {type(exc).__name__}")
    os.replace(partial, target)
    return None
