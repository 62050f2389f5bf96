"""Describes a text (live version): its first letter, first bytes and length; '' and
non-ASCII text work like any other."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to describe", default="hello")) -> str:
        initial = text[:1].upper() or "-"
        code = text.encode("utf-8").hex()[:8] or "-"
        return f"initial={initial} bytes={code} length={len(text)}"
