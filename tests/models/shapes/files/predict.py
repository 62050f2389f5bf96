import hashlib
import tempfile

from cog import BasePredictor, Input, Path
from PIL import Image, ImageOps


class Predictor(BasePredictor):
    def predict(
        self,
        image: Path = Input(description="An image to mirror", accept="image/*"),
        overlay: Path | None = Input(
            description="An image pasted small into the corner", default=None, accept="image/*"
        ),
        label: str = Input(description="A line written into the report", default=""),
    ) -> list[Path]:
        out = Path(tempfile.mkdtemp())
        with Image.open(image) as source:
            mirrored = ImageOps.mirror(source.convert("RGB"))
        if overlay is not None:
            with Image.open(overlay) as extra:
                small = extra.convert("RGB")
            small.thumbnail((max(1, mirrored.width // 4), max(1, mirrored.height // 4)))
            mirrored.paste(small, (0, 0))
        picture = out / "mirrored.png"
        mirrored.save(picture)
        digest = hashlib.sha256(Path(image).read_bytes()).hexdigest()[:12]
        report = out / "report.txt"
        report.write_text(f"{label}\n{mirrored.width}x{mirrored.height} {digest}\n")
        return [picture, report]
