"""Names a spice level (live version): one row of its table per level, 1 to 5."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.names = {level: f"level {level}: {'*' * level}" for level in range(1, 6)}

    def predict(self, level: int = Input(description="Spice level", default=3, ge=1, le=5)) -> str:
        return self.names[level]
