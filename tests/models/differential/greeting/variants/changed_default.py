"""Greets someone (candidate): the default ending changed from "!" to ".", so every caller
who never set `punctuation` gets a different greeting."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        name: str = Input(description="Who to greet"),
        punctuation: str = Input(description="How the greeting ends", default="."),
    ) -> str:
        return f"Hello, {name}{punctuation}"
