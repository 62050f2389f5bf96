"""argparse for every command of the tool: a usage mistake is one line and exit 2.

Its own module so that each command (the main CLI, schema-diff, server, the deployment
scripts) parses the same way without importing the others.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tasks.core.errors import UsageError


class UsageParser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line, exit 2) instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def typed(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """Let a parser's UsageError surface through argparse as an 'invalid value' message."""

    def wrapper(text: str) -> Any:
        try:
            return fn(text)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    wrapper.__name__ = fn.__name__
    return wrapper
