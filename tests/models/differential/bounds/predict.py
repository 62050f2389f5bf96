"""Repeats a word (live version): `num` times, between 2 and 10, 3 by default."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        word: str = Input(description="Word to repeat", default="ab"),
        num: int = Input(description="How many times", default=3, ge=2, le=10),
    ) -> str:
        return "-".join([word] * num) + f" ({num})"
