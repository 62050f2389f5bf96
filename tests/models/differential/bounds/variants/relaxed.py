"""Repeats a word (candidate): the upper bound relaxed from 10 to 20; everything live
accepted still gives the same answer."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        word: str = Input(description="Word to repeat", default="ab"),
        num: int = Input(description="How many times", default=3, ge=2, le=20),
    ) -> str:
        return "-".join([word] * num) + f" ({num})"
