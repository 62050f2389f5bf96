"""Names a spice level (candidate): the table became a list built one row short, so the
top level (5) raises IndexError. Every other level gives the live version's answer."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.names = [f"level {level}: {'*' * level}" for level in range(1, 5)]

    def predict(self, level: int = Input(description="Spice level", default=3, ge=1, le=5)) -> str:
        return self.names[level - 1]
