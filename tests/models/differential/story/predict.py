"""Tells a one-line story (live version), streamed word by word; no randomness, so the same
inputs always stream the same text."""

from cog import BasePredictor, ConcatenateIterator, Input


class Predictor(BasePredictor):
    def predict(
        self,
        subject: str = Input(description="Who the story is about", default="fox"),
        style: str = Input(description="Letter case", choices=["plain", "title"], default="plain"),
    ) -> ConcatenateIterator[str]:
        words = f"the quick brown {subject} jumps over the lazy dog".split(" ")
        for index, word in enumerate(words):
            word = word.title() if style == "title" else word
            yield word if index == 0 else " " + word
