"""Models and versions on Replicate: read, created when asked, and the official-model case.

Official models do not list their versions (404): for them the model's `latest_version` is
the only version there is, and predictions go to the model-scoped endpoint. Which models are
"model-scoped" is learned here and asked by the run code. A version's schema cannot change,
so versions are cached by id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import replicate
from replicate.version import Versions

from tasks.core import openapi
from tasks.core.errors import UsageError
from tasks.core.platform_data import ModelInfo, VersionInfo
from tasks.core.refs import split_ref
from tasks.platforms.replicate import calls
from tasks.platforms.replicate.errors import ReplicateAPIError


def version_info(data: dict[str, Any]) -> VersionInfo:
    """A version as the tool keeps it: id, dereferenced OpenAPI schema, creation time."""
    schema = data.get("openapi_schema") or {}
    document = openapi.dereference(schema) if isinstance(schema, dict) else {}
    return VersionInfo(
        id=str(data["id"]), openapi_schema=document, created_at=data.get("created_at")
    )


def model_info(data: dict[str, Any]) -> ModelInfo:
    latest = data.get("latest_version") or {}
    return ModelInfo(
        owner=data["owner"],
        name=data["name"],
        visibility=data.get("visibility") or "private",
        hardware=data.get("hardware"),
        latest_version_id=latest.get("id"),
        url=data.get("url"),
    )


async def _or_none(call: Any) -> Any:
    """The call's answer, or None when the API says 404."""
    try:
        return await call
    except ReplicateAPIError as exc:
        if exc.status == 404:
            return None
        raise


class Catalog:
    """Models and versions of one client, with what was learned about them."""

    def __init__(self, client: Callable[[], replicate.Client]) -> None:
        self._client = client
        self._versions: dict[str, VersionInfo] = {}
        self.model_scoped: set[str] = set()
        self.ensured: set[str] = set()

    async def check_account(self) -> None:
        await calls.call(lambda: self._client().accounts.async_current(), "GET /v1/account")

    async def model_json(self, ref: str) -> dict[str, Any] | None:
        split_ref(ref)
        found = await _or_none(
            calls.call(lambda: self._client().models.async_get(ref), f"GET /v1/models/{ref}")
        )
        return None if found is None else found.dict()

    async def get_model(self, ref: str) -> ModelInfo | None:
        data = await self.model_json(ref)
        return None if data is None else model_info(data)

    async def create_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        owner, name = split_ref(ref)
        if not hardware:
            raise UsageError(
                f"model {ref} does not exist and no hardware was given to create it "
                "(set test_hardware / destination_hardware)"
            )
        visibility = "private" if private else "public"
        try:
            # Retrying is safe: a create that did land shows up as 409 and is fetched instead.
            created = await calls.call(
                lambda: self._client().models.async_create(
                    owner, name, visibility=visibility, hardware=hardware
                ),
                "POST /v1/models",
            )
        except ReplicateAPIError as exc:
            if exc.status != 409:
                raise
            existing = await self.get_model(ref)
            if existing is None:
                raise ReplicateAPIError(
                    f"Replicate says model {ref} exists but cannot read it", 409
                ) from None
            return existing
        self.ensured.add(ref)
        return model_info(created.dict())

    async def ensure_model(self, ref: str, hardware: str, private: bool = True) -> ModelInfo:
        found = await self.get_model(ref)
        if found is None:
            found = await self.create_model(ref, hardware, private)
        self.ensured.add(ref)
        return found

    def _versions_of(self, ref: str) -> Versions:
        # The client's public Versions namespace for a model, without first fetching the
        # model (what `client.models.get(ref).versions` would cost: one more request).
        owner, name = split_ref(ref)
        return Versions(client=self._client(), model=(owner, name))

    async def latest_version(self, ref: str) -> VersionInfo | None:
        versions = self._versions_of(ref)
        page = await _or_none(calls.call(versions.async_list, f"GET /v1/models/{ref}/versions"))
        if page is None:
            # Official models don't list versions: use the model's latest_version and
            # model-scoped predictions.
            model = await self.model_json(ref)
            if model is None or not model.get("latest_version"):
                return None
            self.model_scoped.add(ref)
            info = version_info(model["latest_version"])
        else:
            if not page.results:
                return None
            info = version_info(page.results[0].dict())  # the first page lists the newest first
        self._versions[info.id] = info
        return info

    async def get_version(self, ref: str, version_id: str) -> VersionInfo:
        cached = self._versions.get(version_id)
        if cached is not None:
            return cached
        versions = self._versions_of(ref)
        found = await _or_none(
            calls.call(
                lambda: versions.async_get(version_id),
                f"GET /v1/models/{ref}/versions/{version_id}",
            )
        )
        if found is None:
            model = await self.model_json(ref)
            latest = (model or {}).get("latest_version") or {}
            if latest.get("id") != version_id:
                raise UsageError(f"version {version_id} of {ref} does not exist on Replicate")
            self.model_scoped.add(ref)
            info = version_info(latest)
        else:
            info = version_info(found.dict())
        self._versions[version_id] = info
        return info
