"""Does the interpreter that runs a model have what the model's cog.yaml asks for?

`cog build` installs build.python_version, build.python_packages and the file named by
build.python_requirements into the image. The local platform runs the model in an
interpreter that already exists, so a mismatch would surface later as a puzzling ImportError
or a quietly different output. These are one-line warnings naming the requirement, what the
interpreter has instead, and the fix (`--python`).

Pure: `requirement_lines` and `unmet_requirements` compare plain data. I/O:
`interpreter_facts` asks the interpreter once (a short supervised script), and
`environment_warnings` reads the Cog directory and puts the two together. Version specifiers
and markers are PEP 440/508, read with `packaging`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tasks.core import supervise
from tasks.core.cog_yaml import read_cog_yaml
from tasks.core.environment import allowlisted
from tasks.core.errors import UsageError


@dataclass(frozen=True)
class InterpreterFacts:
    """What an interpreter is and has: enough to check cog.yaml's build section."""

    python: str  # the interpreter, as the user named it
    version: str  # "3.11.7"
    distributions: Mapping[str, str]  # installed distribution name -> version
    markers: Mapping[str, str] = field(default_factory=dict)  # PEP 508 environment

    def installed(self, name: str) -> str | None:
        wanted = canonicalize_name(name)
        for dist, version in self.distributions.items():
            if canonicalize_name(dist) == wanted:
                return version
        return None


# ---------------------------------------------------------------- pure


def requested_python(value: Any) -> str | None:
    """build.python_version as text. YAML reads an unquoted 3.10 as the float 3.1; Cog
    (whose reader keeps the text) means 3.10 by it, so that one float is read back as such."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        text = repr(value)
        return "3.10" if text == "3.1" else text
    return str(value).strip()


def python_mismatch(requested: str, actual: str) -> bool:
    """Whether `actual` misses `requested`: 3.12 takes any 3.12.x, 3.12.1 only that one."""
    wanted = requested.split(".")
    return actual.split(".")[: len(wanted)] != wanted


def requirement_lines(text: str) -> list[str]:
    """The requirements in a requirements.txt: no comments, pip options, paths or bare URLs."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-"):
            continue
        line = line.split(" --", 1)[0].strip()  # trailing per-requirement options (--hash)
        if line.startswith((".", "/", "~")) or ("://" in line and "@" not in line):
            continue  # a local path or a URL without a name: nothing to compare by name
        lines.append(line)
    return lines


def _unmet(line: str, source: str, facts: InterpreterFacts) -> str | None:
    """A warning for one requirement, or None when the interpreter meets it."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return f"{source} lists {line!r}, which is not a requirement we can read: not checked"
    if requirement.marker is not None and facts.markers:
        try:
            if not requirement.marker.evaluate({**facts.markers, "extra": ""}):
                return None  # not meant for this interpreter
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            pass
    wanted = str(requirement.specifier) or ""
    asked = f"{requirement.name}{wanted}" if not requirement.url else line
    installed = facts.installed(requirement.name)
    if installed is None:
        return (
            f"{source} asks for {asked} but {facts.python} has no {requirement.name}: "
            f"pass --python with an interpreter that has {asked}"
        )
    if not wanted:
        return None
    try:
        ok = requirement.specifier.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        return None  # a version pip itself could not order: do not guess
    if ok:
        return None
    return (
        f"{source} asks for {asked} but {facts.python} has {requirement.name} {installed}: "
        f"pass --python with an interpreter that has {asked}"
    )


def unmet_requirements(
    build: Mapping[str, Any], facts: InterpreterFacts, requirements_text: str | None = None
) -> list[str]:
    """One warning per requirement of cog.yaml's `build` section the interpreter does not meet.

    `requirements_text` is the content of the file build.python_requirements names (None when
    that file does not exist).
    """
    warnings: list[str] = []
    python = requested_python(build.get("python_version"))
    if python and python_mismatch(python, facts.version):
        warnings.append(
            f"cog.yaml asks for Python {python} but the model runs on {facts.version}: "
            f"pass --python with a {python} interpreter"
        )
    packages = build.get("python_packages") or []
    if isinstance(packages, str):
        packages = [packages]
    for package in packages:
        found = _unmet(str(package).strip(), "cog.yaml build.python_packages", facts)
        if found:
            warnings.append(found)
    named = build.get("python_requirements")
    if named:
        if requirements_text is None:
            warnings.append(
                f"cog.yaml build.python_requirements names {named}, which is not in the Cog "
                "directory: its packages were not checked"
            )
        else:
            source = f"{named} (cog.yaml build.python_requirements)"
            for line in requirement_lines(requirements_text):
                found = _unmet(line, source, facts)
                if found:
                    warnings.append(found)
    return warnings


# ---------------------------------------------------------------- I/O

# Runs in the model's interpreter (any Python 3.8+, standard library only).
_FACTS_SCRIPT = r"""
import json, os, platform, sys
from importlib import metadata
dists = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name and name not in dists:
        dists[name] = dist.version
impl = sys.implementation.version
impl_version = "%d.%d.%d" % (impl.major, impl.minor, impl.micro)
if impl.releaselevel != "final":
    impl_version += impl.releaselevel[0] + str(impl.serial)
markers = {
    "implementation_name": sys.implementation.name,
    "implementation_version": impl_version,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
print(json.dumps({"version": platform.python_version(), "distributions": dists, "markers": markers}))
"""


def interpreter_facts(python: str | None = None, timeout: float = 60.0) -> InterpreterFacts:
    """Ask `python` (default: this interpreter) for its version and installed distributions.

    Raises UsageError when it cannot be run or does not answer.
    """
    python = python or sys.executable
    if shutil.which(python) is None:
        raise UsageError(f"the model interpreter {python!r} is not an executable")
    try:
        done = supervise.run([python, "-c", _FACTS_SCRIPT], timeout=timeout, env=allowlisted())
    except subprocess.TimeoutExpired:
        raise UsageError(f"{python} did not list its packages within {timeout:.0f}s") from None
    except OSError as exc:
        raise UsageError(f"cannot run the model interpreter {python!r}: {exc}") from None
    # The answer is the script's last line (anything the interpreter's start-up prints comes
    # before it).
    lines = (done.stdout or "").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        tail = " | ".join((done.stderr or "").strip().splitlines()[-3:])
        raise UsageError(f"{python} could not list its packages: {tail or 'no answer'}")
    return InterpreterFacts(
        python=python,
        version=str(answer.get("version", "")),
        distributions=dict(answer.get("distributions") or {}),
        markers=dict(answer.get("markers") or {}),
    )


def environment_warnings(cog_dir: str, python: str | None = None) -> list[str]:
    """Warnings for what `cog_dir`'s cog.yaml asks of the build that `python` lacks.

    Never raises for the interpreter: if it cannot be asked, that is the one warning.
    """
    build = read_cog_yaml(cog_dir).build()
    if not any(build.get(k) for k in ("python_version", "python_packages", "python_requirements")):
        return []
    requirements_text = None
    named = build.get("python_requirements")
    if isinstance(named, str) and named:
        path = Path(cog_dir) / named
        if path.is_file():
            requirements_text = path.read_text(encoding="utf-8", errors="replace")
    try:
        facts = interpreter_facts(python)
    except UsageError as exc:
        return [f"cannot check cog.yaml's build section against the model's interpreter: {exc}"]
    return unmet_requirements(build, facts, requirements_text)
