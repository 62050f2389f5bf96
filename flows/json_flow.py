"""This tool's flows: Prefect flows whose run parameters pydantic turns into JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import Flow
from prefect.futures import PrefectFuture
from prefect.states import State
from pydantic_core import PydanticSerializationError, to_jsonable_python


class JsonFlow(Flow):
    """A Prefect flow whose run parameters are stored as pydantic's JSON of them.

    Prefect encodes a flow run's parameters with FastAPI's `jsonable_encoder`, and imports
    FastAPI for it on the first run of a process: a tenth of a second of every command-line
    run. For this tool's parameters (pydantic models, dataclasses, strings) pydantic gives
    the same JSON; anything it cannot encode goes Prefect's own way."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if any(isinstance(value, (PrefectFuture, State)) for value in parameters.values()):
            return super().serialize_parameters(parameters)
        try:
            return {
                key: to_jsonable_python(value, by_alias=True) for key, value in parameters.items()
            }
        except (PydanticSerializationError, TypeError, ValueError, RecursionError):
            return super().serialize_parameters(parameters)

    def with_options(self, **options: Any) -> JsonFlow:
        copy = super().with_options(**options)
        copy.__class__ = type(self)  # Prefect's copy is a plain Flow; it has no more fields
        return copy  # type: ignore[return-value]


def flow(**options: Any) -> Callable[[Callable[..., Any]], JsonFlow]:
    """`prefect.flow(**options)` for this tool's flows: a JsonFlow. (Named `flow`, as
    Prefect's tools that read a flow file without importing it look for `@flow(...)`.)"""

    def decorate(fn: Callable[..., Any]) -> JsonFlow:
        return JsonFlow(fn=fn, **options)

    return decorate
