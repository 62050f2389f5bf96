from cog import BaseModel, BasePredictor, Input


class Analysis(BaseModel):
    word_count: int
    longest: str
    words: list[str]
    note: str | None
    ratio: float = 1.0


class Predictor(BasePredictor):
    def predict(
        self,
        text: str = Input(description="Text to analyse"),
        top: int = Input(description="How many distinct words to list", default=3, ge=1, le=10),
    ) -> Analysis:
        words = text.split()
        distinct = sorted(set(words), key=lambda w: (-len(w), w))[:top]
        longest = distinct[0] if distinct else ""
        note = None if words else "no words"
        ratio = round(len(set(words)) / len(words), 4) if words else 1.0
        return Analysis(
            word_count=len(words), longest=longest, words=distinct, note=note, ratio=ratio
        )
