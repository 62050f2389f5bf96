"""`data:` URIs, the way small files travel inline (model outputs, fuzz media inputs).

The one decoder: the local platform, the Replicate platform and output comparison all use it.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse

from tasks.core.errors import SafePushError

DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*),", re.IGNORECASE)


class DataURIError(SafePushError):
    """A value that starts like a data: URI but does not decode."""


def is_data_uri(value: object) -> bool:
    return isinstance(value, str) and bool(DATA_URI.match(value[:300]))


def mime_type(uri: str) -> str:
    """The media type a data: URI declares (text/plain when it declares none)."""
    match = DATA_URI.match(uri[:300])
    return (match.group("mime") if match else None) or "text/plain"


def decode(uri: str) -> tuple[str, bytes]:
    """(media type, bytes) of a data: URI; DataURIError when it is malformed."""
    match = DATA_URI.match(uri[:300])
    if not match:
        raise DataURIError("malformed data: URI")
    payload = uri[match.end() :]
    params = (match.group("params") or "").lower()
    try:
        if ";base64" in params:
            data = base64.b64decode(payload, validate=False)
        else:
            data = urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as exc:
        raise DataURIError(f"data: URI does not decode: {exc}") from None
    return (match.group("mime") or "text/plain"), data
