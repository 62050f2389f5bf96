"""Describes a text (candidate over a live version that already crashes on ''): tidied up,
still IndexError on '' exactly as live; every other text gives live's answer."""

from cog import BasePredictor, Input


def leading_bytes(text: str) -> str:
    return text.encode("utf-8")[:4].hex() or "-"


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to describe", default="hello")) -> str:
        initial = text[0].upper()  # the bug the live version has too
        return f"initial={initial} bytes={leading_bytes(text)} length={len(text)}"
