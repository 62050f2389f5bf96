import json
import tempfile

from cog import BaseModel, Input, Path


class TrainingOutput(BaseModel):
    weights: Path


def train(
    greeting: str = Input(description="The greeting word the model learns", default="Hello"),
    steps: int = Input(description="Training steps (more is slower)", ge=1, le=10, default=2),
) -> TrainingOutput:
    out = Path(tempfile.mkdtemp()) / "weights.json"
    out.write_text(json.dumps({"greeting": greeting.strip() or "Hello", "steps": steps}))
    return TrainingOutput(weights=out)
