import json
import tempfile
from collections import Counter

from cog import BaseModel, Input, Path


class TrainingOutput(BaseModel):
    weights: Path
    vocabulary_size: int


def train(
    corpus: str = Input(description="Text the vocabulary is learned from"),
    min_count: int = Input(
        description="Keep words seen at least this often", default=1, ge=1, le=5
    ),
    lowercase: bool = Input(description="Learn words case-insensitively", default=True),
) -> TrainingOutput:
    words = (corpus.lower() if lowercase else corpus).split()
    vocabulary = sorted(word for word, n in Counter(words).items() if n >= min_count)
    weights = Path(tempfile.mkdtemp()) / "vocabulary.json"
    weights.write_text(json.dumps({"words": vocabulary, "lowercase": lowercase}))
    return TrainingOutput(weights=weights, vocabulary_size=len(vocabulary))
