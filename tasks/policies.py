"""Prefect cache policies for the stages: what a cached answer depends on, and when there is none.

A stage's answer may be reused only when it cannot have changed: the key is built from the
inputs that decide the answer plus the task's source code (so changing how a stage works
invalidates what it cached before). A stage that must not be cached for some inputs (an
unseeded prediction, a training) returns no key at all; Prefect's compound policies would
instead fall back to a key made of the remaining parts, which would cache it wrongly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect.cache_policies import TASK_SOURCE, CachePolicy
from prefect.context import TaskRunContext

from tasks.core.openapi import schema_hash


@dataclass
class KeyedBy(CachePolicy):
    """Cache by `material(parameters)` and the task's source; None from `material`: no cache."""

    material: Callable[[dict[str, Any]], Any] | None = None
    prefix: str = ""  # names the entries in result storage, for a person browsing it

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        assert self.material is not None
        material = self.material(inputs)
        if material is None:
            return None
        source = TASK_SOURCE.compute_key(task_ctx, inputs, flow_parameters, **kwargs)
        key = schema_hash([material, source])
        return f"{self.prefix}-{key[:40]}" if self.prefix else key


def where(spec: Any) -> list[Any]:
    """The part of a key that names the platform instance (kind and URL or registry)."""
    return [spec.kind, spec.base_url or spec.registry or spec.kind]
