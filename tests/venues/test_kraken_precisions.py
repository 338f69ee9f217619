"""Kraken v2 checksums are over the numbers printed at the pair's precision, which the stream does not
carry: the session reads it from REST ``AssetPairs``. When that read fails (the REST host answering
5xx, or down, at the start or while a pair is subscribed), it is asked again in the background until
the venue answers, and the books sync then. The simulator's own books are the truth."""

from __future__ import annotations

import asyncio

import tickwire
from simbook import assert_books_match, eventually
from tickwire.sim import Simulator

FAST = {"probe_interval": None, "clock_sync": None}


def test_a_failed_asset_pairs_read_at_the_start_is_asked_again_and_the_book_syncs() -> None:
    """The venue's first REST answer (the session's ``AssetPairs``) is a 503; the stream is fine.
    Before: no precision, every checksum failed and the book was resubscribed in a loop for good —
    ``RequestTimeoutError: kraken: books not in sync after 8 s: ['BTC/USD']``."""

    async def go() -> None:
        async with Simulator(["kraken"], seed=12, rate=300, depth=25) as sim:
            sim.endpoint("kraken").fail(1, status=503)
            async with tickwire.connect(
                "kraken", ["BTC/USD"], endpoints=sim.urls()["kraken"], ready_timeout=8, **FAST
            ) as md:
                await assert_books_match(md, sim, "kraken", ["BTC/USD"], depth=10)
                assert md.book("BTC/USD").stats()["checksum_ok"] > 0

    asyncio.run(go())


def test_a_pair_subscribed_while_the_endpoint_is_down_syncs_once_it_is_back() -> None:
    """``md.subscribe`` while the only endpoint is down (its ``AssetPairs`` unreachable too): once the
    endpoint is back the new pair syncs and equals the simulator's, as the other does. Before: the
    new pair's every checksum failed for good (``ETH/USD`` ``out_of_sync:checksum``, resubscribed
    every 2 s): ``not true within 3.0 s: kraken ETH/USD in sync``."""

    async def go() -> None:
        async with Simulator(["kraken"], seed=12, rate=300, depth=25) as sim:
            async with tickwire.connect("kraken", ["BTC/USD"], endpoints=sim.urls()["kraken"], **FAST) as md:
                ep = sim.endpoint("kraken")
                await ep.down()
                await eventually(lambda: not md.lines[0].connected, what="the line down")
                await md.subscribe(["ETH/USD"])
                await asyncio.sleep(0.3)
                await ep.up()
                await eventually(lambda: md.lines[0].connected, timeout=10, what="the line back")
                await assert_books_match(md, sim, "kraken", ["BTC/USD", "ETH/USD"], depth=10)
                assert md.book("ETH/USD").stats()["checksum_ok"] > 0

    asyncio.run(go())
