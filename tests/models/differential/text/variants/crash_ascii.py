"""Describes a text (candidate): encodes it as ASCII, so non-ASCII text raises
UnicodeEncodeError. Every other text gives the live version's answer."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to describe", default="hello")) -> str:
        initial = text[:1].upper() or "-"
        code = text.encode("ascii").hex()[:8] or "-"
        return f"initial={initial} bytes={code} length={len(text)}"
