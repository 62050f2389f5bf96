"""Pushing a Cog directory to Replicate with the `cog` CLI.

`cog push` builds the image and uploads it; the only machine-readable result is in its
output: the registry digest line of a docker push (`latest: digest: sha256:<hex> size: N`)
or, for fast pushes, `New Version: r8.im/<owner>/<name>@sha256:<hex>`. The hex digest is
the new version id. Command building and line parsing are pure; `push` runs the process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Mapping

from tasks.core.errors import PlatformError, UsageError
from tasks.core.platform_data import PushOptions
from tasks.core.secrets import scrub

REGISTRY = "r8.im"
TAIL_LINES = 20

_HEX64 = r"[0-9a-f]{64}"
_DIGEST_LINE = re.compile(rf"\bdigest:\s*sha256:({_HEX64})\b")
_NEW_VERSION_LINE = re.compile(rf"New Version:\s*(?:\S*?[:@])?({_HEX64})\s*$")


def image_name(ref: str) -> str:
    """`owner/name` -> `r8.im/owner/name` (the registry name cog pushes to)."""
    return ref if ref.startswith(f"{REGISTRY}/") else f"{REGISTRY}/{ref}"


def build_command(image: str, options: PushOptions, executable: str = "cog") -> list[str]:
    """The argv of `cog push` for these options (the same flags the seed tool passes)."""
    cmd = [executable, "push", image]
    if options.dockerfile:
        cmd += ["--dockerfile", options.dockerfile]
    if options.fast_push:
        cmd.append("--x-fast")
    if options.use_cog_base_image is False:
        cmd.append("--use-cog-base-image=false")
    return cmd


def parse_version_id(line: str) -> str | None:
    """The version id announced by one line of `cog push` output, if any."""
    text = line.strip()
    match = _NEW_VERSION_LINE.search(text) or _DIGEST_LINE.search(text)
    return match.group(1) if match else None


def version_from_output(lines: Iterable[str]) -> str | None:
    """The last version id printed (a fast push may print a digest before New Version)."""
    found = None
    for line in lines:
        found = parse_version_id(line) or found
    return found


def cli_version(executable: str | None = None) -> str:
    """`cog --version`'s first line, with the executable's path: an upgraded cog may build
    a different image from the same directory, so the test-push cache must see it. An
    executable that is missing or silent gives a stable "unknown" (the push names the fault)."""
    exe = executable or shutil.which("cog")
    if not exe:
        return "cog: not found"
    try:
        done = subprocess.run(
            [exe, "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return f"{exe}: version unknown"
    first = (done.stdout.strip() or done.stderr.strip() or "version unknown").splitlines()[0]
    return f"{exe}: {first}"


def push(
    image: str,
    cog_dir: str,
    options: PushOptions,
    *,
    stream: bool = False,
    executable: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `cog push <image>` in `cog_dir`; return the new version id.

    Output is streamed line by line to stderr when `stream` is set (-v). A missing
    executable is a usage problem (exit 2); a failed push or one that never names its
    version is a PlatformError carrying the command and the last lines of output.
    """
    process_env = dict(os.environ if env is None else env)
    exe = executable or shutil.which("cog", path=process_env.get("PATH"))
    if not exe or not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise UsageError("cog executable not found on PATH; install Cog (https://cog.run)")
    if not os.path.isdir(cog_dir):
        raise UsageError(f"Cog directory {cog_dir} does not exist")

    cmd = build_command(image_name(image), options, executable=exe)
    shown = " ".join(["cog", *cmd[1:]])
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    version_id: str | None = None
    try:
        process = subprocess.Popen(
            cmd,
            cwd=cog_dir,
            env=process_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            bufsize=1,
        )
    except OSError as exc:
        raise UsageError(f"could not run {shown}: {exc.strerror or exc}") from None

    assert process.stdout is not None
    try:
        for raw in process.stdout:
            line = scrub(raw.rstrip("\r\n"), process_env)
            tail.append(line)
            version_id = parse_version_id(line) or version_id
            if stream:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        returncode = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        process.stdout.close()

    last = "\n".join(tail) or "(no output)"
    if returncode != 0:
        raise PlatformError(
            f"`{shown}` failed with exit code {returncode} in {cog_dir}. Last output:\n{last}"
        )
    if not version_id:
        raise PlatformError(
            f"`{shown}` succeeded but printed no version id (no digest or "
            f"'New Version' line). Last output:\n{last}"
        )
    return version_id
