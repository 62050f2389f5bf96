"""Chatters (candidate): rewritten around random.SystemRandom, and just as random as live."""

import random
from string import ascii_letters, digits

from cog import BasePredictor, Input

ALPHABET = ascii_letters + digits


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.source = random.SystemRandom()

    def made_up_word(self) -> str:
        return "".join(self.source.choices(ALPHABET, k=self.source.randint(3, 8)))

    def predict(
        self,
        topic: str = Input(description="What to chatter about", default="the weather"),
        length: int = Input(description="How many words", default=160, ge=150, le=200),
    ) -> str:
        words = [self.made_up_word() for _ in range(length)]
        return f"{topic}: {' '.join(words)}"
