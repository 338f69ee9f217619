"""The health monitor (``Watch``) when the process stalls (a busy CPU, a GC pause, a long callback)
while the market keeps sending: a book is judged stale once what arrived meanwhile was read, so a
stall alone does not throw the kill switch — on both loops (``stalls``), the venue on a thread of
its own, the orders checked at the simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from session_cases import settle
from stalls import LOOPS, account_elsewhere, read_stalls, run
from test_session_binance import BINANCE
from tickwire.trading.watch import Watch

# Twice what the case needs: under a loaded two-process run the book alone can look 0.5 s old.
BOOK_STALE_S = 1.0
STALL_S = 1.4


@pytest.mark.parametrize("loop", LOOPS)
def test_a_stall_past_book_stale_s_while_the_book_flows_does_not_throw_the_kill_switch(loop: str) -> None:
    """The venue updates the book 40 times a second throughout; the process stalls 1.4 s in a read
    callback (``book_stale_s`` 1.0 s), the book's updates of that time waiting in the socket. The
    resting order is still open at the simulator and nothing was cancelled there. Before, on uvloop
    (timers, and the tasks they wake, before the sockets' reads): the monitor's round ran first, read
    the book as older than ``book_stale_s`` and threw the kill switch — the order cancelled at the
    venue, the session halted."""
    a = BINANCE

    async def go() -> None:
        async with account_elsewhere(a, rate=40) as there:
            sim = there.sim
            ep = sim.endpoint(a.venue, 0)
            urls = sim.urls()[a.venue]
            async with tickwire.connect(a.venue, [a.symbol], endpoints=urls, clock_sync=None) as md:
                await settle(lambda: md.book(a.symbol).is_synced, "the book", 5.0)
                async with md.trade(credentials=a.signer, private_stream=False) as tr:
                    bid, _ = a.touch(sim)
                    price = bid - 30 * tr.rules[a.symbol].tick_size
                    o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
                    watch = Watch(tr, market=md, book_stale_s=BOOK_STALE_S, link_lost_s=None, every_s=0.05)
                    watch.start()
                    try:
                        await asyncio.sleep(0.2)
                        assert watch.report is None and watch.killing is None
                        rest_before = await there.call(lambda: len(ep.exchanges))
                        with read_stalls() as stall:
                            stall(STALL_S)
                            await asyncio.sleep(0.5)
                        if watch.killing is not None:
                            await asyncio.wait([watch.killing])
                    finally:
                        watch.stop()
                    theirs: list[Any] = await there.call(lambda: a.orders(sim, o.client_id))
                    ops = await there.call(lambda: [e[1] for e in list(ep.exchanges)[rest_before:]])
                    assert [x.open for x in theirs] == [True], (watch.report, ops)
                    assert not [op for op in ops if op.startswith("DELETE")], ops
                    assert tr.halted is None, tr.halted

    run(go(), loop)
