"""Echo training: writes a weights file holding the prefix predictions will use."""

from cog import Input, Path


def train(
    prefix: str = Input(description="Prefix the trained model adds"),
    fail: bool = Input(default=False, description="Raise instead of training"),
) -> Path:
    if fail:
        raise RuntimeError("training exploded")
    out = Path("weights.txt")
    out.write_text(prefix + "\n")
    return out
