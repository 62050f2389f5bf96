from collections.abc import Iterator

from cog import BaseRunner, Input


class Runner(BaseRunner):
    def setup(self) -> None:
        self.prefix = "line"

    def run(
        self,
        count: int = Input(description="How many lines to yield", default=3, ge=0, le=20),
        text: str = Input(description="Text repeated on every line", default="tick"),
    ) -> Iterator[str]:
        for index in range(count):
            yield f"{self.prefix} {index + 1}: {text}"
