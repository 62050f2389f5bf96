"""Answers a ping (candidate) after 0.8 s of work: the same answers as live, eight times
slower (wide enough that a busy machine's jitter cannot bring it under the 3x the test
wants)."""

import time

from cog import BasePredictor, Input

WORK_SECONDS = 0.8


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="What to answer", default="ping")) -> str:
        time.sleep(WORK_SECONDS)
        return f"{text} -> pong"
