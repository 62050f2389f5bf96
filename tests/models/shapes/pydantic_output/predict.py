from cog import BasePredictor, Input
from pydantic import BaseModel


class Summary(BaseModel):
    title: str
    letter_share: dict[str, float]
    most_common: str | None = None
    revision: int = 2


class Predictor(BasePredictor):
    def predict(
        self,
        text: str = Input(description="Text to summarise"),
        letters: str = Input(description="Letters whose share is reported", default="aeiou"),
    ) -> Summary:
        total = len(text) or 1
        share = {ch: round(text.lower().count(ch) / total, 4) for ch in sorted(set(letters))}
        counts = {ch: text.lower().count(ch) for ch in share}
        best = max(counts, key=lambda ch: (counts[ch], ch)) if any(counts.values()) else None
        return Summary(title=text[:20], letter_share=share, most_common=best)
