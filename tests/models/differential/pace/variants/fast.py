"""Answers a ping (candidate) after 0.01 s of work: the same answers, faster than live."""

import time

from cog import BasePredictor, Input

WORK_SECONDS = 0.01


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="What to answer", default="ping")) -> str:
        time.sleep(WORK_SECONDS)
        return f"{text} -> pong"
