"""Rebuilding a remote client's books from gateway snapshots: a book that joins late or sees a gap asks
a gateway for one (request-reply), and the feed replays the deltas that came meanwhile. At most one
request loop per book, retried with a growing pause until a gateway serves it.

Apart from :mod:`tickwire.remote.market` because it runs off the frame route, in its own tasks, and
sees the client only through :class:`SnapshotOwner`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any, Protocol

from tickwire._core import BookFeed
from tickwire.bus import subjects
from tickwire.remote.gateways import live_gateways
from tickwire.remote.liveness import GatewayWatch

log = logging.getLogger("tickwire.remote")


class SnapshotOwner(Protocol):
    """What the snapshot requests see of their client: its connection, gateways and reports, and its
    ``resync_timeout`` (read at each use, as the client has it then)."""

    nc: Any
    watch: GatewayWatch | None
    primary: str | None
    closing: bool
    counters: dict[str, int]
    resync_timeout: float

    def status(self, kind: str, *, symbol: str | None = None, detail: str = "") -> None: ...

    def on_summary(self, summary: Any, gateway: str | None) -> None: ...


class Snapshots:
    """The snapshot requests of one venue's books; ``tasks`` holds the books being rebuilt."""

    def __init__(self, owner: SnapshotOwner, venue: str, gateway: str, feed: BookFeed) -> None:
        self.owner = owner
        self.venue = venue
        self.gateway = gateway
        self.feed = feed
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def request(self, key: str, why: str) -> None:
        if key in self.tasks or self.owner.closing:
            return
        self.owner.counters["resyncs"] += 1
        self.feed.clear_held(key)
        task = asyncio.get_running_loop().create_task(self._run(key, why))
        self.tasks[key] = task
        task.add_done_callback(functools.partial(self._done, key))

    def _done(self, key: str, _task: asyncio.Task[None]) -> None:
        self.tasks.pop(key, None)

    async def _run(self, key: str, why: str) -> None:
        owner = self.owner
        delay = 0.02
        end = time.monotonic() + max(owner.resync_timeout, 1.0) * 8
        attempt = 0
        told = False
        while not owner.closing:
            if not told and time.monotonic() >= end:
                # Said once, then asked on, less often: the loop ending left a quiet book out of sync
                # until the venue's next update, a gateway serving again meanwhile or not.
                owner.status("out_of_sync", symbol=key, detail="no gateway served a snapshot")
                told = True
            if told and self._synced(key):  # a gateway's own snapshot message rebuilt it meanwhile
                return
            gw = self._gateway(key, attempt)
            attempt += 1
            if gw is not None:
                try:
                    msg = await owner.nc.request(
                        subjects.snapshot(self.venue, key, gw), b"", timeout=owner.resync_timeout
                    )
                    if msg.headers is None or "Tickwire-Error" not in msg.headers:
                        summary = self.feed.on_snapshot(key, msg.data)
                        owner.counters["snapshots"] += 1
                        if self.feed.book(key).is_synced:
                            owner.status("synced", symbol=key, detail=why)
                            return
                        owner.on_summary(summary, gw)
                except Exception as e:  # a timeout, no responder, a gateway still resyncing itself
                    log.debug("remote %s: snapshot of %s from %s failed: %s", self.venue, key, gw, e)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max(owner.resync_timeout, 1.0) if told else 0.5)

    def _synced(self, key: str) -> bool:
        try:
            return bool(self.feed.book(key).is_synced)
        except KeyError:
            return False

    def _gateway(self, key: str, attempt: int = 0) -> str | None:
        if self.gateway != "*":
            # Asked by name even before its first heartbeat arrives: a dead one has no responder.
            return self.gateway
        # Only a gateway that has the book can serve it: gateways may split a venue's symbols.
        live = live_gateways(self.owner.watch, self.venue, self.gateway, key)
        if not live:
            return None
        # The primary first, then each in turn: one whose own book is out of sync (its venue
        # connection in trouble) refuses every snapshot, and asked alone it kept the book from
        # syncing while another gateway had it.
        if self.owner.primary in live:
            live.remove(self.owner.primary)
            live.insert(0, self.owner.primary)
        return live[attempt % len(live)]
