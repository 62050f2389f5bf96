from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.greeting = "Hello"

    def predict(
        self,
        name: str = Input(description="Who to greet", default="world", max_length=200),
        punctuation: str = Input(
            description="How to end the greeting", choices=["!", ".", "?"], default="!"
        ),
        repeat: int = Input(description="How many times to greet", ge=1, le=3, default=1),
        seed: int | None = Input(
            description="Random seed (the greeting is deterministic)", default=None
        ),
    ) -> str:
        line = f"{self.greeting}, {name.strip() or 'stranger'}{punctuation}"
        return " ".join([line] * repeat)
