"""Repeats a word (candidate): the default became 1 while the lower bound stayed 2, a
default that breaks its own constraints (cog build refuses it)."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        word: str = Input(description="Word to repeat", default="ab"),
        num: int = Input(description="How many times", default=1, ge=2, le=10),
    ) -> str:
        return "-".join([word] * num) + f" ({num})"
