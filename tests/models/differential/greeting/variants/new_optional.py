"""Greets someone (candidate): a new optional input whose default keeps the old greeting."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        name: str = Input(description="Who to greet"),
        punctuation: str = Input(description="How the greeting ends", default="!"),
        shout: bool = Input(description="Write the greeting in capitals", default=False),
    ) -> str:
        greeting = f"Hello, {name}{punctuation}"
        return greeting.upper() if shout else greeting
