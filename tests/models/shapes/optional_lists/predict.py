import json

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        words: list[str] = Input(description="Words to arrange", default=["alpha", "beta"]),
        counts: list[int] = Input(description="How often each word appears, cycled"),
        separator: str = Input(description="Joins the words", default=" ", max_length=3),
        case: str = Input(
            description="Letter case of the result",
            choices=["lower", "upper", "title"],
            default="lower",
        ),
        width: int = Input(description="Line width", choices=[20, 40, 80], default=40),
        limit: int | None = Input(
            description="Keep at most this many words", default=None, ge=1, le=50
        ),
        suffix: str | None = Input(description="Appended at the end, if given"),
        code: str = Input(
            description="A short lowercase code", default="abc", regex="^[a-z]+$", min_length=1
        ),
        weight: float = Input(description="Scales the score", default=1.0, ge=0, le=10),
        legacy_mode: bool = Input(description="No longer used", default=False, deprecated=True),
    ) -> str:
        repeated = []
        for index, word in enumerate(words):
            times = counts[index % len(counts)] if counts else 1
            repeated += [word] * max(0, min(int(times), 5))
        if limit is not None:
            repeated = repeated[:limit]
        text = separator.join(repeated) + (suffix or "")
        text = {"lower": text.lower(), "upper": text.upper(), "title": text.title()}[case]
        lines = [text[i : i + width] for i in range(0, len(text), width)] or [""]
        score = round(len(repeated) * weight, 3)
        return json.dumps({"code": code, "lines": lines, "score": score}, sort_keys=True)
