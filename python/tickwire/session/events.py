"""Status events and the optional ``async for`` event stream of a session."""

from __future__ import annotations

import asyncio
import collections
import time
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
    "internal_error",
    "venue_error",
    "shutdown_notice",
    "renewed",
    # Market data dropped before it was read (a remote consumer's bus backlog full): detail says what.
    "dropped",
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
    oldest events (counted in ``dropped``) rather than growing memory without limit.

    Lean on purpose (a deque and one waiter, not ``asyncio.Queue``): ``put`` runs inside the frame
    callback, and a consumer that finds events waiting takes them without a trip through the loop.
    One consumer at a time."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._q: collections.deque[tuple[str, Any]] = collections.deque()
        self.maxsize = maxsize
        self.dropped = 0
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None

    def put(self, kind: str, value: Any) -> None:
        q = self._q
        if len(q) >= self.maxsize:
            q.popleft()
            self.dropped += 1
        q.append((kind, value))
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def close(self) -> None:
        self.closed = True
        self.put("closed", None)

    def __aiter__(self) -> EventQueue:
        return self

    async def __anext__(self) -> tuple[str, Any]:
        q = self._q
        while not q:
            w = self._waiter = asyncio.get_running_loop().create_future()
            await w
        kind, value = q.popleft()
        if kind == "closed":
            raise StopAsyncIteration
        return kind, value
