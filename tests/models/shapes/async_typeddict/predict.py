import asyncio
from typing import NotRequired, TypedDict

from cog import BasePredictor, Input


class TextStats(TypedDict):
    characters: int
    vowels: int
    first_word: NotRequired[str]


class Predictor(BasePredictor):
    async def predict(
        self,
        text: str = Input(description="Text to count"),
        pause: float = Input(description="Seconds to wait first", default=0.0, ge=0, le=0.2),
    ) -> TextStats:
        await asyncio.sleep(pause)
        stats: TextStats = {
            "characters": len(text),
            "vowels": sum(ch in "aeiouAEIOU" for ch in text),
        }
        if text.split():
            stats["first_word"] = text.split()[0]
        return stats
