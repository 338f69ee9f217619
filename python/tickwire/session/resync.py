"""Rebuilding books that lost sync, one symbol at a time, while the others keep serving.

How depends on the venue (``Adapter.resync``): a REST snapshot the feed aligns with the diffs it
buffered (Binance), a snapshot request on the same socket (HTX ``req``), or unsubscribing and
subscribing the one symbol so the venue sends a fresh snapshot (OKX, Kraken, Bybit, Coinbase, the
seed venues). At most one resync per symbol runs at a time, retried with a growing pause.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING

from tickwire.errors import TickwireError
from tickwire.session.adapter import Sub

if TYPE_CHECKING:
    from tickwire.session.market import MarketData

log = logging.getLogger("tickwire.session")


class Resyncer:
    def __init__(self, md: MarketData) -> None:
        self.md = md
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def request(self, key: str, why: str) -> None:
        md = self.md
        if key in self.tasks or md.closing:
            return
        md.counters["resyncs"] += 1
        if md.arbiter is not None:
            md.arbiter.clear(key)
        md.status("resync", symbol=key, detail=why)
        md.audit.event("resync", venue=md.venue, symbol=key, reason=why)
        task = asyncio.get_running_loop().create_task(self._run(key))
        self.tasks[key] = task
        task.add_done_callback(functools.partial(self._done, key))

    def _done(self, key: str, _task: asyncio.Task[None]) -> None:
        self.tasks.pop(key, None)

    async def _run(self, key: str) -> None:
        md = self.md
        a = md.adapter
        delay = 0.05
        for attempt in range(8):
            if md.closing:
                return
            try:
                if a.resync == "snapshot":
                    body = await a.fetch_snapshot(md.rest(), key)
                    md.feed.on_snapshot(key, body)
                elif a.resync == "request":
                    self.send_first_many([a.snapshot_request(key)])
                else:
                    subs = self.subs_for_key(key)
                    self.send_first_many(a.unsubscribe(subs) + a.subscribe(subs))
                if await self.until_synced(key, md.resync_timeout):
                    md.status("synced", symbol=key)
                    return
            except (TickwireError, OSError) as e:
                log.warning("%s resync %s attempt %d failed: %s", md.venue, key, attempt + 1, e)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        md.status("out_of_sync", symbol=key, detail="resync gave up after 8 attempts")

    async def until_synced(self, key: str, timeout: float) -> bool:
        md = self.md
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if md.feed.book(key).is_synced:
                    return True
            except KeyError:
                pass
            await asyncio.sleep(0.005)
        return False

    def subs_for_key(self, key: str) -> list[Sub]:
        md = self.md
        return [s for s in md.registry.live() if s.channel == "book" and md.adapter.book_key(s.symbol) == key]

    def send_first_many(self, msgs: list[bytes]) -> None:
        md = self.md
        for ln in md.lines:
            if ln.connected:
                for m in msgs:
                    ln.send(m)
                return
        raise TickwireError(f"{md.venue}: no connected line")
