"""Image outputs kept inside the report itself, as small inline thumbnails.

Why: Replicate deletes output files an hour after a prediction, so an artifact that links to
them shows broken images the next day. A thumbnail embedded as a data: URI lives as long as
the artifact. Bounded in size and count, so a run with many large images cannot bloat the
server's database; what is not kept is said so.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_SIDE = 320  # pixels
MAX_BYTES = 96 * 1024  # per thumbnail, encoded
MAX_IMAGES = 8


@dataclass
class Thumbnail:
    caption: str
    data_uri: str | None  # None when the image could not be kept
    note: str = ""


def inline(data: bytes, mime: str, limit: int = MAX_BYTES) -> str | None:
    """`data` as a data: URI, or None when it is over `limit` bytes (before base64): the one
    bound on what a report embeds, shared by thumbnails and tasks.report.pictures."""
    if len(data) > limit:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def thumbnail(path: Path) -> tuple[str | None, str]:
    """(data URI, note): a JPEG (PNG when it has transparency) no larger than the bounds."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            alpha = "A" in img.getbands()
            small = img.convert("RGBA" if alpha else "RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return None, f"not kept: unreadable image ({type(exc).__name__})"
    small.thumbnail((MAX_SIDE, MAX_SIDE))
    for quality in (85, 60, 35):
        buffer = io.BytesIO()
        if alpha:
            small.save(buffer, format="PNG", optimize=True)
            mime = "image/png"
        else:
            small.save(buffer, format="JPEG", quality=quality, optimize=True)
            mime = "image/jpeg"
        uri = inline(buffer.getvalue(), mime)
        if uri is not None:
            return uri, ""
        if alpha:
            break
    return None, f"not kept: over {MAX_BYTES // 1024} KB even as a thumbnail"


def thumbnails(items: list[tuple[str, Path]]) -> tuple[list[Thumbnail], int]:
    """Thumbnails for the first MAX_IMAGES (caption, image file) pairs; and how many more
    images there were."""
    kept = [Thumbnail(caption, *thumbnail(path)) for caption, path in items[:MAX_IMAGES]]
    return kept, max(0, len(items) - MAX_IMAGES)


def images_markdown(kept: list[Thumbnail], more: int, escape: Any) -> str:
    lines = ["# Image outputs", ""]
    for item in kept:
        lines.append(f"**{escape(item.caption)}**")
        lines.append("")
        lines.append(f"![{escape(item.caption)}]({item.data_uri})" if item.data_uri else item.note)
        lines.append("")
    if more:
        lines.append(f"{more} more image(s) not kept (at most {MAX_IMAGES} per run).")
    return "\n".join(lines) + "\n"
