"""A quiet HTX book after a reconnect: what proves it. The venue's ``req`` reply at the book's own
``seqNum`` shows nothing was missed, as a Binance REST snapshot at the book's id does (the feed's
``on_snapshot`` answers ``duplicate`` and confirms the book). Checked against the simulator's books."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

from simbook import assert_books_match, eventually, quiet_once_synced
from tickwire._core import BookFeed, Dispatcher
from tickwire.sim import Simulator

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0, "clock_sync": None}


def test_a_quiet_htx_book_is_proven_after_a_reconnect() -> None:
    """A quiet symbol; the connection drops and comes back. The session subscribes and sends a ``req``
    for the book; the venue's reply carries the book's own ``seqNum`` (nothing moved). That proves
    the book: ``md.is_synced`` must say so within a few seconds, the book equal to the simulator's.
    Before stop 46 it stayed "synced" but unconfirmed (``is_synced`` False, not resyncing) until the
    symbol's next update, however long: the frame route took the reply's ``duplicate`` for no proof
    (``not true within 3 s: proven; health {... 'state': 'synced', 'synced': False, ...}``)."""

    async def go() -> None:
        async with Simulator(["htx"], seed=3, rate=0, depth=30) as sim:
            async with quiet_once_synced(sim, "htx", "btcusdt", depth=20, **FAST) as md:
                sim.endpoint("htx").drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                await eventually(
                    lambda: md.is_synced("btcusdt"),
                    timeout=3,
                    what=lambda: f"proven; health {md.health()['books']}",
                )
                await assert_books_match(md, sim, "htx", ["btcusdt"], depth=20)

    asyncio.run(go())


REPLY = (
    b'{"id":"4","rep":"market.btcusdt.mbp.20","status":"ok",'
    b'"data":{"seqNum":100,"bids":[[1.0,2.0]],"asks":[[2.0,1.0]]}}'
)


def test_a_req_reply_at_the_books_own_seqnum_confirms_the_book_through_the_frame_route() -> None:
    """The frame route itself: a synced HTX book left unconfirmed by a reconnect (``unconfirm_all``)
    is confirmed by a ``req`` reply at its own ``seqNum`` arriving as a frame, as the same reply given
    to ``on_snapshot`` confirms it (``duplicate``). Before stop 46 only ``on_snapshot`` confirmed it."""
    feed = BookFeed("htx")
    route = Dispatcher(feed, None, lambda e: None)
    route.on_frame(memoryview(gzip.compress(REPLY)), 1, 1)
    assert route.confirmed("btcusdt")
    route.unconfirm_all()
    route.on_frame(memoryview(gzip.compress(REPLY)), 2, 1)
    assert route.confirmed("btcusdt"), f"stats {feed.book('btcusdt').stats()}"
