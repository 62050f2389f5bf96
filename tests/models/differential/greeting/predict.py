"""Greets someone (live version): the greeting ends with "!" unless told otherwise."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        name: str = Input(description="Who to greet"),
        punctuation: str = Input(description="How the greeting ends", default="!"),
    ) -> str:
        return f"Hello, {name}{punctuation}"
