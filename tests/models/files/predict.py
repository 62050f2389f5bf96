"""Files model: reports an input image's size and returns it mirrored plus a text file."""

import tempfile

from cog import BasePredictor, Input, Path
from PIL import Image, ImageOps


class Predictor(BasePredictor):
    def predict(
        self,
        image: Path = Input(description="Image to mirror"),
        note: str = Input(default="", description="Text written next to the image"),
    ) -> list[Path]:
        out_dir = Path(tempfile.mkdtemp())
        with Image.open(image) as img:
            mirrored = ImageOps.mirror(img.convert("RGB"))
            size = img.size
        image_path = out_dir / "mirrored.png"
        mirrored.save(image_path)
        text_path = out_dir / "info.txt"
        text_path.write_text(f"{size[0]}x{size[1]} {note}")
        return [image_path, text_path]
