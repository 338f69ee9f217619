"""Status events and the optional ``async for`` event stream of a session."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

StatusKind = Literal[
    "connected",
    "disconnected",
    "subscribed",
    "synced",
    "out_of_sync",
    "resync",
    "stale",
    "failover",
    "decode_error",
    "venue_error",
    "shutdown_notice",
]


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """Health and sync changes: ``kind``, the line (connection index), symbol and detail where they apply."""

    kind: StatusKind
    venue: str
    line: int | None = None
    symbol: str | None = None
    detail: str = ""
    ts_ns: int = field(default_factory=time.time_ns)


class EventQueue:
    """Bounded queue behind ``async for ev in md.events()``: a consumer that falls behind loses the
    oldest events (counted in ``dropped``) rather than growing memory without limit."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._q: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.closed = False

    def put(self, kind: str, value: Any) -> None:
        if self._q.full():
            self._q.get_nowait()
            self.dropped += 1
        self._q.put_nowait((kind, value))

    def close(self) -> None:
        self.closed = True
        if self._q.full():
            self._q.get_nowait()
        self._q.put_nowait(("closed", None))

    async def __aiter__(self) -> AsyncIterator[tuple[str, Any]]:
        while True:
            kind, value = await self._q.get()
            if kind == "closed":
                return
            yield kind, value
