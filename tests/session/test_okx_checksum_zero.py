"""OKX books as OKX writes them since 2026-06-23: the checksum field kept, always 0 (deprecated; the
``seqId``/``prevSeqId`` chain is the book's integrity). The simulator writes them so with its profile
``{"checksum": "zero"}``; its own books are the truth."""

from __future__ import annotations

import asyncio

import tickwire
from simbook import assert_books_match, eventually
from tickwire.sim import Simulator


def test_books_whose_checksum_is_always_0_stay_in_sync_and_a_gap_still_resyncs() -> None:
    """Before: every book failed its snapshot's checksum (``checksum_mismatch``, expected 0) and
    resubscribed for ever: ``RequestTimeoutError: okx: books not in sync after 10.0 s: ['BTC-USDT',
    'ETH-USDT']`` from the session's start."""

    async def go() -> None:
        profiles = {"okx": {"checksum": "zero"}}
        async with Simulator(["okx"], seed=10, rate=300, depth=25, profiles=profiles) as sim:
            symbols = ["BTC-USDT", "ETH-USDT"]
            async with tickwire.connect("okx", symbols, endpoints=sim.urls()["okx"], clock_sync=None) as md:
                await asyncio.sleep(1.0)  # ~300 updates, every one with "checksum":0
                await assert_books_match(md, sim, "okx", symbols)
                assert md.counters["resyncs"] == 0, md.health()
                stats = md.book("BTC-USDT").stats()
                assert stats["checksum_fail"] == 0 and stats["checksum_ok"] == 0, stats
                # The sequence still guards the book: a message lost is a gap, and the book resyncs.
                sim.endpoint("okx", md.lines[0].endpoint or 0).gap("BTC-USDT")
                await eventually(lambda: md.counters["gaps"] >= 1, what=lambda: f"the gap seen {md.health()}")
                await assert_books_match(md, sim, "okx", symbols)
                assert md.counters["resyncs"] >= 1

    asyncio.run(go())
