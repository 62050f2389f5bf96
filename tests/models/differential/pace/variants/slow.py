"""Answers a ping (candidate) after 0.3 s of work: the same answers as live, six times
slower."""

import time

from cog import BasePredictor, Input

WORK_SECONDS = 0.3


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="What to answer", default="ping")) -> str:
        time.sleep(WORK_SECONDS)
        return f"{text} -> pong"
