"""Describes a text (candidate): the live version rewritten as small named steps; every
answer is the same."""

from cog import BasePredictor, Input


def first_letter(text: str) -> str:
    return text[:1].upper() or "-"


def leading_bytes(text: str, count: int = 4) -> str:
    return text.encode("utf-8")[:count].hex() or "-"


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to describe", default="hello")) -> str:
        fields = {"initial": first_letter(text), "bytes": leading_bytes(text), "length": len(text)}
        return " ".join(f"{key}={value}" for key, value in fields.items())
