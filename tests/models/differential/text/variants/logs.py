"""Describes a text (candidate): the live version's answers, plus log lines on stdout and
stderr while it works."""

import sys

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to describe", default="hello")) -> str:
        print(f"describing {len(text)} characters")
        print("describe: encoding as UTF-8", file=sys.stderr)
        initial = text[:1].upper() or "-"
        code = text.encode("utf-8").hex()[:8] or "-"
        return f"initial={initial} bytes={code} length={len(text)}"
