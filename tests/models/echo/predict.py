"""Echo model: repeats text; can fail or sleep on request (for failure/timeout tests)."""

import os
import time

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self, weights: str | None = None) -> None:
        self.prefix = ""
        if weights:
            with open(weights, encoding="utf-8") as handle:
                self.prefix = handle.read().strip()
        self.pid = os.getpid()

    def predict(
        self,
        text: str = Input(description="Text to echo"),
        repeat: int = Input(default=1, ge=1, le=5, description="How many times"),
        mode: str = Input(default="same", choices=["same", "upper"], description="Case"),
        sleep: float = Input(default=0.0, ge=0.0, description="Seconds to sleep first"),
        fail: bool = Input(default=False, description="Raise instead of answering"),
        show_pid: bool = Input(default=False, description="Append the worker's pid"),
    ) -> str:
        print(f"echo: predicting {text!r}", flush=True)  # tests wait for this line
        deadline = time.monotonic() + sleep
        while time.monotonic() < deadline:  # short naps so that cancellation lands quickly
            time.sleep(0.02)
        if fail:
            raise ValueError("boom!")
        out = (text.upper() if mode == "upper" else text) * repeat
        if show_pid:
            out += f" pid={self.pid}"
        return self.prefix + out
