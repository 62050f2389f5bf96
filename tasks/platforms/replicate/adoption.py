"""Finding the run a lost create made, so that an ambiguous failure never pays for two runs.

When a create fails after its request was sent (a 5xx, a read timeout, a connection dropped
before the answer), Replicate may have started the run anyway. Before creating again, the
platform lists its recent runs (newest first) and adopts one that matches the request: same
version, same input (and destination), created no earlier than the first send minus SKEW,
and not a run this platform already knows. Creates of the same request that are still
waiting for their answer are awaited first, so a concurrent twin's run is known before the
search and is never adopted by mistake; searches run one at a time, so no run is adopted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

SKEW = timedelta(seconds=30)  # clocks of this machine and Replicate's may disagree a little
MAX_PAGES = 5
TWIN_WAIT = 90.0  # seconds; a held create answers within its Prefer-wait and timeouts

Page = tuple[list[dict[str, Any]], str | None]
ListPage = Callable[[Any], Awaitable[Page]]  # cursor (... for the first page) -> items, next


def fingerprint(
    kind: str, version: str, inputs: dict[str, Any], destination: str | None = None
) -> str:
    """What makes two creates the same request."""
    return json.dumps([kind, version, inputs, destination], sort_keys=True, default=str)


def parse_time(text: object) -> datetime | None:
    """An API timestamp (ISO 8601, `Z` or offset) as an aware datetime; None if unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _version_id(value: object) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "").rsplit(":", 1)[-1]


def matches(
    item: dict[str, Any],
    *,
    version: str,
    inputs: dict[str, Any],
    since: datetime,
    known: set[str] | frozenset[str] = frozenset(),
    destination: str | None = None,
) -> bool:
    """Whether a listed run could be the one our create started."""
    created = parse_time(item.get("created_at"))
    return bool(
        item.get("id")
        and str(item["id"]) not in known
        and _version_id(item.get("version")) == version
        and _normal(item.get("input")) == _normal(inputs)
        and (destination is None or item.get("destination") in (None, destination))
        and created is not None
        and created >= since
    )


def _normal(value: Any) -> Any:
    """JSON as the server stores it (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value, default=str))


class RunLedger:
    """The runs this platform knows, and its creates still waiting for an answer.

    Lives on the platform's event loop; its asyncio primitives are made on the running loop.
    """

    def __init__(self) -> None:
        self.known: set[str] = set()
        self._pending: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None
        self._search: asyncio.Lock | None = None

    def _primitives(self) -> tuple[asyncio.Condition, asyncio.Lock]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._changed is None or self._search is None:
            self._loop, self._changed, self._search = loop, asyncio.Condition(), asyncio.Lock()
        return self._changed, self._search

    def remember(self, run_id: str) -> None:
        self.known.add(run_id)

    @contextlib.asynccontextmanager
    async def sending(self, key: str) -> AsyncIterator[None]:
        """Marks a create of `key` as sent and unanswered for the duration of the block."""
        changed, _ = self._primitives()
        self._pending[key] += 1
        try:
            yield
        finally:
            self._pending[key] -= 1
            if self._pending[key] <= 0:
                del self._pending[key]
            async with changed:
                changed.notify_all()

    async def adopt(
        self,
        key: str,
        list_page: ListPage,
        *,
        version: str,
        inputs: dict[str, Any],
        sent_at: datetime,
        destination: str | None = None,
    ) -> dict[str, Any] | None:
        """The unknown run matching this request, now known; None when there is none."""
        changed, search = self._primitives()
        async with search:
            async with changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        changed.wait_for(lambda: self._pending[key] == 0), TWIN_WAIT
                    )
            since = sent_at - SKEW
            found: list[dict[str, Any]] = []
            cursor: Any = ...
            for _ in range(MAX_PAGES):
                items, cursor = await list_page(cursor)
                found += [
                    item
                    for item in items
                    if matches(
                        item,
                        version=version,
                        inputs=inputs,
                        since=since,
                        known=self.known,
                        destination=destination,
                    )
                ]
                times = [parse_time(item.get("created_at")) for item in items]
                older = any(t is not None and t < since for t in times)
                if not cursor or not items or older:
                    break
            if not found:
                return None
            oldest = min(found, key=lambda item: parse_time(item["created_at"]) or since)
            self.remember(str(oldest["id"]))
            return oldest
