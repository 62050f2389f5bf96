import json

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def setup(self, weights: Path | None = None) -> None:
        # On Replicate a trained version receives its weights here (replicate_weights).
        self.greeting = "Hello"
        if weights:
            self.greeting = json.loads(Path(weights).read_text())["greeting"]

    def predict(
        self,
        name: str = Input(description="Who to greet", default="world"),
    ) -> str:
        return f"{self.greeting}, {name}!"
