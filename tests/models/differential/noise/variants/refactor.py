"""Paints noise (candidate): pixels from an unseeded random.Random instead of os.urandom,
drawn a row at a time; just as random, same size and format as live."""

import random
import tempfile

from cog import BasePredictor, Input, Path
from PIL import Image


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.rng = random.Random()

    def predict(
        self,
        size: int = Input(description="Width and height in pixels", default=96, ge=64, le=128),
    ) -> Path:
        rows = b"".join(self.rng.randbytes(size * 3) for _ in range(size))
        out = Path(tempfile.mkdtemp()) / "noise.png"
        Image.frombytes("RGB", (size, size), rows).save(out, format="PNG")
        return out
