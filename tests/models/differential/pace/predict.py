"""Answers a ping (live version) after 0.1 s of work."""

import time

from cog import BasePredictor, Input

WORK_SECONDS = 0.1


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="What to answer", default="ping")) -> str:
        time.sleep(WORK_SECONDS)
        return f"{text} -> pong"
