"""Shares 120 out (live version): into `portions` equal shares; 0 means "keep it whole"."""

from cog import BasePredictor, Input

TOTAL = 120


class Predictor(BasePredictor):
    def predict(
        self,
        portions: int = Input(description="How many shares (0: keep it whole)", default=4),
    ) -> str:
        share = TOTAL // portions if portions else TOTAL
        return f"{share} each"
