from collections import Counter

from cog import Input


def run(
    text: str = Input(description="Text whose words are counted"),
    lowercase: bool = Input(description="Count words case-insensitively", default=True),
    minimum: int = Input(description="Leave out words seen fewer times", default=1, ge=1),
) -> dict[str, int]:
    words = (text.lower() if lowercase else text).split()
    kept = {word: n for word, n in sorted(Counter(words).items()) if n >= minimum}
    return {**kept, "_total": len(words)}
