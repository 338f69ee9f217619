"""The resyncer reads the session's ``resync_timeout`` at each attempt, so a value set after the session
was made (``md.resync_timeout = ...``) governs the next resync, as the remote client's snapshots do."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
import tickwire
from simbook import Recorder, assert_books_match, eventually
from tickwire import BookFeed
from tickwire.session.resync import Resyncer
from tickwire.sim import Simulator


class Owner:
    """A session as the resyncer sees it; its book never syncs, so every attempt times out."""

    def __init__(self) -> None:
        self.resync_timeout = 5.0
        self.closing = False
        self.sent: list[bytes] = []

    def count(self, counter: str) -> None:
        pass

    def status(self, kind: str, **kw: Any) -> None:
        pass

    def record(self, kind: str, **kw: Any) -> None:
        pass

    def send_first(self, msgs: Sequence[bytes]) -> None:
        self.sent += msgs


class Adapter:
    venue = "htx"
    resync = "request"

    def snapshot_request(self, key: str) -> bytes:
        return b'{"req":"market.' + key.encode() + b'.depth.step0"}'


def test_a_timeout_set_after_the_session_was_made_governs_the_next_attempts() -> None:
    async def go() -> int:
        owner = Owner()
        feed = BookFeed("htx")
        r = Resyncer(owner, Adapter(), feed, feed.on_snapshot)  # type: ignore[arg-type]
        owner.resync_timeout = 0.05  # after construction, as md.resync_timeout = ... would
        r.request("btcusdt", "test")
        await asyncio.sleep(0.8)
        owner.closing = True
        for t in list(r.tasks.values()):
            t.cancel()
        return len(owner.sent)

    # 0.05 s per attempt plus the growing pauses (0.05, 0.1, 0.2 ...): the third request goes at
    # ~0.25 s; with the 5 s the resyncer was made under, only the first in 0.8 s.
    assert asyncio.run(go()) >= 3


@pytest.mark.parametrize(
    ("venue", "symbol", "options"),
    [("okx", "BTC-USDT", {}), ("kraken", "BTC/USD", {"precision": {"BTC/USD": (1, 8)}})],
)
def test_a_book_losing_sync_again_right_after_its_resync_is_resubscribed_at_once(
    venue: str, symbol: str, options: dict[str, Any]
) -> None:
    """Two updates in a row carry a bad checksum. The first takes the book out of sync and it is
    resubscribed; the venue's fresh snapshot and the second bad update come in one socket read, so
    the book syncs and loses sync again before the resync looks. It is resubscribed again at once
    and equals the simulator's (before: the resync kept waiting for a sync that had come and gone,
    and the book stayed out of sync for the whole ``resync_timeout``, 5 s)."""

    async def go() -> None:
        only = {"kraken": [symbol]} if venue == "kraken" else None
        async with Simulator([venue], seed=3, rate=0, depth=25, symbols=only) as sim:
            rec = Recorder()
            async with tickwire.connect(
                venue, [symbol], endpoints=sim.urls()[venue], on_status=rec, venue_options=options,
                probe_interval=None, clock_sync=None,
            ) as md:  # fmt: skip
                v = sim.venue(venue)
                handle = v.on_message

                def update_after_subscribe(conn: Any, data: bytes, binary: bool) -> None:
                    handle(conn, data, binary)
                    msg = orjson.loads(data)
                    if msg.get("op", msg.get("method")) == "subscribe":
                        # Written with the snapshot, in one write (Kraken: steps within its top 10 levels).
                        sim.advance(5, venue, symbol)

                v.on_message = update_after_subscribe  # type: ignore[method-assign]
                ep = sim.endpoint(venue)
                ep.corrupt_checksum(symbol)
                ep.corrupt_checksum(symbol)
                while not rec.kinds("out_of_sync", symbol):
                    sim.advance(1, venue, symbol)
                    await asyncio.sleep(0.01)
                await eventually(lambda: len(rec.kinds("out_of_sync", symbol)) == 2, what="both seen")
                await eventually(lambda: md.is_synced(symbol), timeout=1.5, what="resynced")
                await assert_books_match(md, sim, venue, [symbol], depth=10)

    asyncio.run(go())
