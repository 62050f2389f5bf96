"""Images for the AI: attached as Claude accepts them, and combined when a model takes one.

Why here: every AI job that shows pictures (match_prompt on an image output, the comparison
judge of two images) hands over files or bytes; this module turns them into what a request
carries. Anthropic's API takes base64 blocks of PNG, JPEG, GIF or WebP up to 5 MB: anything
else is re-encoded as PNG. Claude hosted on Replicate takes a data: URI, best kept under
1 MB, and usually only one image: several are drawn side by side, each labelled above
("image 1" leftmost), and the prompt says so (tasks.ai.replicate_input).
Callers open output references themselves (tasks.outputs.files): nothing here reads a model
output by reference.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.ai.errors import AIError

# Claude accepts these image types; anything else is re-encoded as PNG.
MEDIA = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
MAX_IMAGE_BYTES = 3_500_000  # base64 grows by 4/3; the API limit is 5 MB per image
MAX_IMAGE_SIDE = 1568  # larger images are downscaled by the API anyway
MAX_DATA_URI_BYTES = 750_000  # Replicate: data URIs for files under 1 MB (base64 included)
_LABEL_HEIGHT = 28
_GAP = 12


@dataclass(frozen=True)
class Picture:
    """An image ready to send: its bytes and media type."""

    data: bytes
    media: str


def prepared(image: Path | bytes) -> Picture:
    """An image file (or its bytes) as Claude accepts it; AIError when it is no image."""
    from PIL import Image

    data = image if isinstance(image, bytes) else image.read_bytes()
    name = "the image" if isinstance(image, bytes) else image.name
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            too_big = len(data) > MAX_IMAGE_BYTES or max(img.size) > 8000
            if fmt in MEDIA and not too_big:
                return Picture(data, MEDIA[fmt])
            img.load()
            converted = img.convert("RGBA" if "A" in img.getbands() else "RGB")
            converted.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
            return Picture(_png(converted), "image/png")
    except (OSError, SyntaxError, ValueError) as exc:
        raise AIError(f"cannot attach {name} as an image: {exc}") from None


def image_block(picture: Picture) -> dict[str, Any]:
    """A base64 image content block (the Messages API's, and the neutral request's)."""
    data = base64.b64encode(picture.data).decode()
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": picture.media, "data": data},
    }


def block_picture(block: Mapping[str, Any]) -> Picture:
    """The picture inside an image block made by `image_block`."""
    source = block.get("source") or {}
    try:
        data = base64.b64decode(source.get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        raise AIError("an image block does not hold valid base64") from None
    return Picture(data, str(source.get("media_type") or "image/png"))


def data_uri(picture: Picture) -> str:
    return f"data:{picture.media};base64,{base64.b64encode(picture.data).decode()}"


def side_by_side(pictures: Sequence[Picture]) -> Picture:
    """One picture of several, left to right at one height, each labelled "image N" above:
    for a model that takes a single image. A lone picture is returned as it is."""
    from PIL import Image, ImageDraw, ImageFont

    if len(pictures) == 1:
        return pictures[0]
    images = [_rgb(picture) for picture in pictures]
    height = min(max(img.height for img in images), MAX_IMAGE_SIDE // 2)
    scaled = [
        img.resize((max(1, round(img.width * height / img.height)), height)) for img in images
    ]
    width = sum(img.width for img in scaled) + _GAP * (len(scaled) - 1)
    canvas = Image.new("RGB", (width, height + _LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=_LABEL_HEIGHT - 8)
    left = 0
    for number, img in enumerate(scaled, start=1):
        canvas.paste(img, (left, _LABEL_HEIGHT))
        draw.text((left + 4, 3), f"image {number}", fill="black", font=font)
        left += img.width + _GAP
    return Picture(_png(canvas), "image/png")


def within(picture: Picture, max_bytes: int = MAX_DATA_URI_BYTES) -> Picture:
    """The picture in at most `max_bytes`: as it is, else as JPEG, else smaller."""
    if len(picture.data) <= max_bytes:
        return picture
    img = _rgb(picture)
    while True:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        if buf.tell() <= max_bytes or max(img.size) <= 64:
            return Picture(buf.getvalue(), "image/jpeg")
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)))


def _rgb(picture: Picture) -> Any:
    """The picture decoded, transparency flattened onto white."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(picture.data)) as img:
            img.load()
            if "A" in img.getbands() or img.mode == "P":
                rgba = img.convert("RGBA")
                flat = Image.new("RGB", rgba.size, "white")
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return img.convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:
        raise AIError(f"cannot read an attached image: {exc}") from None


def _png(img: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
