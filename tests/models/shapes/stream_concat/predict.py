import cog
from cog import BasePredictor, ConcatenateIterator, Input


class Predictor(BasePredictor):
    @cog.streaming
    def predict(
        self,
        prompt: str = Input(description="Words to echo back reversed"),
        max_tokens: int = Input(description="How many tokens to stream", default=6, ge=1, le=32),
    ) -> ConcatenateIterator[str]:
        words = prompt.split() or ["(nothing)"]
        for index in range(max_tokens):
            yield ("" if index == 0 else " ") + words[index % len(words)][::-1]
