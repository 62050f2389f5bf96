"""Chatters (live version): made-up words, unseeded, so no two answers are alike."""

import random
import string

from cog import BasePredictor, Input

ALPHABET = string.ascii_letters + string.digits


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.rng = random.Random()  # seeded from the OS: different words on every call

    def word(self) -> str:
        size = self.rng.randint(3, 8)
        return "".join(self.rng.choice(ALPHABET) for _ in range(size))

    def predict(
        self,
        topic: str = Input(description="What to chatter about", default="the weather"),
        length: int = Input(description="How many words", default=160, ge=150, le=200),
    ) -> str:
        return f"{topic}: " + " ".join(self.word() for _ in range(length))
