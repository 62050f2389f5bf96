"""Environments for the processes the tool starts: an allowlist, never a copy of ours.

The model under test is someone else's code, and the managed Prefect server outlives the run:
neither may see a token, key or secret of ours. So a child gets the variables a process
legitimately needs (PATH, HOME, locale, temporary directories, Python, Cog and GPU settings)
plus what its purpose needs and what the user allows by name in COG_SAFE_PUSH_MODEL_ENV.
A name that looks like a credential is dropped unless the user named it exactly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

ALLOW_ENV = "COG_SAFE_PUSH_MODEL_ENV"

BASE_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "TMPDIR",
        "TEMP",
        "TMP",
        "LD_LIBRARY_PATH",
        "VIRTUAL_ENV",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
BASE_PREFIXES = ("LC_", "XDG_", "PYTHON", "COG_", "CUDA_", "NVIDIA_", "OMP_", "MKL_")

# Any variable whose name contains one of these words is treated as a credential.
SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE")
_SECRET_NAME = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def user_allowed(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names (or `PREFIX*` patterns) the user lets through, from COG_SAFE_PUSH_MODEL_ENV."""
    text = (environ if environ is not None else os.environ).get(ALLOW_ENV, "")
    return [part for part in re.split(r"[\s,]+", text) if part]


def _matches(name: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*") and name.startswith(pattern[:-1]):
            return True
        if name == pattern:
            return True
    return False


def allowlisted(
    environ: Mapping[str, str] | None = None,
    *,
    names: Iterable[str] = (),
    prefixes: Iterable[str] = (),
    user: bool = True,
) -> dict[str, str]:
    """The allowlisted subset of `environ` (default: ours).

    `names`/`prefixes` add what a particular child needs; `user` honours COG_SAFE_PUSH_MODEL_ENV,
    whose exact names pass even when they look like credentials (the user chose them).
    """
    source = os.environ if environ is None else environ
    wanted_names = BASE_NAMES | set(names)
    wanted_prefixes = (*BASE_PREFIXES, *prefixes)
    chosen = user_allowed(source) if user else []
    exact = {p for p in chosen if not p.endswith("*")}
    out: dict[str, str] = {}
    for name, value in source.items():
        if name in exact:
            out[name] = value
        elif looks_secret(name):
            continue
        elif name in wanted_names or name.startswith(wanted_prefixes) or _matches(name, chosen):
            out[name] = value
    return out
