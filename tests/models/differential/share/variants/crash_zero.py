"""Shares 120 out (candidate): forgets that 0 means "keep it whole", so portions=0 raises
ZeroDivisionError. Every other number gives the live version's answer."""

from cog import BasePredictor, Input

TOTAL = 120


class Predictor(BasePredictor):
    def predict(
        self,
        portions: int = Input(description="How many shares (0: keep it whole)", default=4),
    ) -> str:
        return f"{TOTAL // portions} each"
