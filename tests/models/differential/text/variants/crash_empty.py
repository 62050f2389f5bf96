"""Describes a text (candidate): takes the first letter with text[0], so '' raises
IndexError. Every other text gives the live version's answer."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to describe", default="hello")) -> str:
        initial = text[0].upper()
        code = text.encode("utf-8").hex()[:8] or "-"
        return f"initial={initial} bytes={code} length={len(text)}"
