import json

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def setup(self, weights: Path | None = None) -> None:
        self.words, self.lowercase = {"hello"}, True
        if weights:
            learned = json.loads(Path(weights).read_text())
            self.words, self.lowercase = set(learned["words"]), learned["lowercase"]

    def predict(
        self,
        text: str = Input(description="Text whose known words are marked"),
        marker: str = Input(description="Wraps every known word", default="*", max_length=2),
    ) -> str:
        marked = []
        for word in text.split():
            key = word.lower() if self.lowercase else word
            marked.append(f"{marker}{word}{marker}" if key in self.words else word)
        return " ".join(marked)
