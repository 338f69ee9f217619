"""Fills an order made while every connection to the venue was down, caught up once it is back,
judged by the simulator's own fill list: each heard once, in the order the venue made them — two of
one millisecond too, whose times say nothing of their order (a review by a helper session)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from session_cases import SimAccount, settle
from test_okx_bybit_order_faults import as_venue_has_it, rest_at_bid, trade_into
from test_session_bybit import BYBIT
from test_session_coinbase import COINBASE
from test_session_htx import HTX
from test_session_kraken import KRAKEN
from test_session_okx import OKX
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

# Every listing here runs newest first: OKX's, Bybit's and HTX's per order; Kraken's TradesHistory
# and Coinbase's fills, searched by time. (account, its session's transport)
ACCTS = [(OKX, "auto"), (BYBIT, "auto"), (KRAKEN, None), (COINBASE, None), (HTX, None)]


@pytest.mark.parametrize(("a", "transport"), ACCTS, ids=[a.venue for a, _ in ACCTS])
def test_fills_made_while_the_venue_was_unreachable_are_heard_once_each_in_order(
    a: SimAccount, transport: str | None
) -> None:
    """Every connection down (sockets and REST refused) while a resting buy trades twice (the book
    process stepped at once: both fills of one millisecond); back up, the session has the order as
    the venue has it and ``on_fill`` heard each fill once, oldest first. Before stop 55: OKX's and
    Bybit's were heard newest first, and once those listings were turned, Kraken's of one millisecond
    still were."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        o, theirs = await rest_at_bid(sim, tr, a, 2000)
        ep = sim.endpoint(a.venue, 0)
        await ep.down()
        trade_into(sim, a, theirs, 2)
        await asyncio.sleep(0.3)
        await ep.up()
        lot = sim.venue(a.venue).instruments[a.symbol].lot
        await settle(lambda: tr._current(o.client_id).filled == theirs.filled * lot, "the fills", 15)
        await asyncio.sleep(0.3)  # any late copy of the stream's
        as_venue_has_it(sim, a, tr, o, theirs)
        got, made = [f.trade_id for f in fills], [str(f.trade_id) for f in theirs.fills]
        assert got == made, f"on_fill heard {got}; the venue made {made}"

    a.run(body, timeout=1.0, **({} if transport is None else {"transport": transport}))
