"""Tradefence subscribes a symbol to all its channels at once (``{"action":"subscribe","symbols":…}``
starts its book, quotes and trades; unsubscribing it stops them all): a change to one channel of a
symbol must not stop or starve the others. Books are checked against the simulator's own, trades by
the ids it published."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire
from simbook import Trades, assert_books_match, eventually
from tickwire.sim import Simulator

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0, "clock_sync": None}


def test_unsubscribing_a_symbols_trades_leaves_its_book_streaming_tradefence() -> None:
    """Before: the unsubscribe of AAPL's trades went out as ``unsubscribe AAPL``, so the venue stopped
    the book too; the book stayed "synced" while the market moved on (``not true within 3.0 s:
    tradefence AAPL == sim``)."""

    async def go() -> None:
        async with Simulator(["tradefence"], seed=3, rate=200, depth=20) as sim:
            async with tickwire.connect(
                "tradefence", ["AAPL"], channels=["book", "trades"], endpoints=sim.urls()["tradefence"],
                **FAST,
            ) as md:  # fmt: skip
                await assert_books_match(md, sim, "tradefence", ["AAPL"])
                await md.unsubscribe(["AAPL"], ["trades"])
                # The venue reads a connection's messages in order: GOOGL's snapshot says it has read
                # the unsubscribe.
                await md.subscribe(["GOOGL"])
                await eventually(lambda: md.is_synced("GOOGL"), what="GOOGL in sync")
                sim.advance(20, "tradefence", "AAPL")  # the market moves on after the unsubscribe
                await assert_books_match(md, sim, "tradefence", ["AAPL"])

    asyncio.run(go())


def test_unsubscribing_a_symbols_book_keeps_its_trades_coming_tradefence() -> None:
    """Before: the book's unsubscribe stopped the symbol's trades with it, silently (``AAPL trade N
    heard`` not true)."""

    async def go() -> None:
        async with Simulator(["tradefence"], seed=3, rate=200, depth=20) as sim:
            trades = Trades(sim, "tradefence", ["AAPL"])
            async with tickwire.connect(
                "tradefence", ["AAPL"], channels=["book", "trades"], endpoints=sim.urls()["tradefence"],
                on_trade=trades.heard_one, **FAST,
            ) as md:  # fmt: skip
                await assert_books_match(md, sim, "tradefence", ["AAPL"])
                await md.unsubscribe(["AAPL"], ["book"])
                after = len(trades.published["AAPL"])
                await eventually(lambda: len(trades.published["AAPL"]) > after + 10, what="more trades made")
                await trades.assert_each_heard_once()

    asyncio.run(go())


def test_a_book_subscribed_again_after_it_was_unsubscribed_in_an_outage_syncs_tradefence() -> None:
    """AAPL's book unsubscribed while the line is down, its trades kept; the line comes back (AAPL on
    the wire for its trades), then the book is subscribed again. Before: that subscribe asked for a
    symbol the venue already sent, which sends no snapshot, and the book stayed empty for good
    (``not true within 10 s: AAPL in sync``)."""

    async def go() -> None:
        async with Simulator(["tradefence"], seed=3, rate=200, depth=20) as sim:
            syms = ["AAPL", "GOOGL"]
            async with tickwire.connect(
                "tradefence", syms, channels=["book", "trades"], endpoints=sim.urls()["tradefence"], **FAST
            ) as md:
                await assert_books_match(md, sim, "tradefence", syms)
                ep = sim.endpoint("tradefence")
                await ep.down()
                await md.unsubscribe(["AAPL"], ["book"])
                await ep.up()
                await eventually(lambda: md.lines[0].connects == 2 and md.is_synced("GOOGL"), timeout=20)
                await md.subscribe(["AAPL"], ["book"])
                await eventually(lambda: md.is_synced("AAPL"), timeout=10, what="AAPL in sync")
                await assert_books_match(md, sim, "tradefence", syms)

    asyncio.run(go())
