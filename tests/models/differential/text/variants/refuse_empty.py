"""Describes a text (a first push): refuses '' on purpose, with a message naming the input;
every other text gives the live version's answer."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to describe", default="hello")) -> str:
        if not text:
            raise ValueError("text must not be empty")
        code = text.encode("utf-8").hex()[:8]
        return f"initial={text[0].upper()} bytes={code} length={len(text)}"
