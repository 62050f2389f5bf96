"""Tells a one-line story (candidate): an off-by-one in the loop drops the last word, which
a lenient judge of similar-looking text would let through."""

from cog import BasePredictor, ConcatenateIterator, Input


class Predictor(BasePredictor):
    def predict(
        self,
        subject: str = Input(description="Who the story is about", default="fox"),
        style: str = Input(description="Letter case", choices=["plain", "title"], default="plain"),
    ) -> ConcatenateIterator[str]:
        words = f"the quick brown {subject} jumps over the lazy dog".split(" ")
        for index in range(len(words) - 1):
            word = words[index].title() if style == "title" else words[index]
            yield word if index == 0 else " " + word
