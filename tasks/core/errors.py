"""Exceptions that carry the tool's exit-code contract.

UsageError -> exit 2 (bad flags, config, schema, file, model name: nothing was pushed).
CheckFailed -> exit 1 (a model check failed: nothing was pushed).
A run whose push landed but could not be confirmed (report status "unconfirmed") -> exit 4.
TransientError -> worth retrying (network hiccup, 429, 5xx, AI overload).
"""

from __future__ import annotations

import errno
import re

# A run's report status -> the process exit code.
# "unconfirmed": the push happened, but the model's latest version could not be shown to be
# the one pushed, with the tested schema (tasks.confirm); the deployment was left alone.
# "aborted": the run could not finish (its Prefect server stopped answering, flows.server_watch)
# and pushed nothing; 3 is also the code of a run that could not start for want of a server.
EXIT_CODES = {"passed": 0, "failed": 1, "error": 2, "aborted": 3, "unconfirmed": 4}


class SafePushError(Exception):
    """Base class for every error the tool reports as one clean line."""

    exit_code = 1


class UsageError(SafePushError):
    """The user gave us something we cannot work with."""

    exit_code = 2


class CheckFailed(SafePushError):
    """A check on the model failed; the message says which and why."""

    exit_code = 1


class PlatformError(SafePushError):
    """The platform refused or failed an operation that is not a model check."""

    exit_code = 1


class TransientError(SafePushError):
    """A failure worth retrying: the next attempt may well succeed."""

    exit_code = 1

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RunFailed(CheckFailed):
    """The end of a run that did not pass; carries the full report for whoever started it."""

    def __init__(self, message: str, report: dict, exit_code: int = 1) -> None:
        super().__init__(message)
        self.report = report
        self.exit_code = exit_code

    def __reduce__(self) -> tuple:
        return (type(self), (str(self), self.report, self.exit_code))


# The machine ran out of something the tool needs (disk, quota) or may not write: a fault of
# where the run happens, never of the model under test.
_MACHINE_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}
_MACHINE_TEXT = re.compile(r"\[Errno (\d+)\]")


def machine_fault(exc: BaseException) -> str | None:
    """What the machine lacks, when `exc` is the tool's own write failing for want of space."""
    if isinstance(exc, OSError) and exc.errno in _MACHINE_ERRNOS:
        where = f" (writing {exc.filename})" if exc.filename else ""
        return f"this machine has {_MACHINE_ERRNOS[exc.errno]}{where}"
    return None


def machine_fault_in(text: str | None) -> str | None:
    """The same, read from a stage's error text (a stage that caught the exception)."""
    for found in _MACHINE_TEXT.finditer(text or ""):
        if int(found.group(1)) in _MACHINE_ERRNOS:
            return f"this machine has {_MACHINE_ERRNOS[int(found.group(1))]}"
    return None
