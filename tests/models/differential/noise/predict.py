"""Paints noise (live version): a square PNG of random pixels, unseeded, so every picture is
new but every picture of a size is alike."""

import os
import tempfile

from cog import BasePredictor, Input, Path
from PIL import Image


class Predictor(BasePredictor):
    def predict(
        self,
        size: int = Input(description="Width and height in pixels", default=96, ge=64, le=128),
    ) -> Path:
        image = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
        out = Path(tempfile.mkdtemp()) / "noise.png"
        image.save(out)
        return out
