"""Push stage: the tested Cog directory becomes a new version of the model users run.

Never cached: the real push happens only after every check passed, once per run.
"""

from __future__ import annotations

from prefect import task

from tasks.core.platform_data import PlatformSpec, PushOptions
from tasks.test_model import push


@task(name="push model", task_run_name="push model")
def push_version(spec: PlatformSpec, ref: str, cog_dir: str, options: PushOptions) -> str:
    return push(spec, ref, cog_dir, options)
