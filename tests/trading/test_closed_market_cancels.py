"""Binance spot's errors.md lists "Market is closed." ("The symbol is not trading.") among
the messages of -1010, -2010 *and -2011 CANCEL_REJECTED*, and its CHANGELOG (2019-03-12) says a cancel
"can now return errorCode -1013 OR -2011 if the symbol's status isn't TRADING". ``codes`` typed -1013
"Market is closed." ``MarketClosed`` but left -2011 ``OrderNotFound`` whatever its text: a cancel
refused on a halted market told the caller the order is not open (``cancel_order`` raises
``OrderNotFound``; ``cancel_all``/the kill switch skip it as "nothing open there any more") while it
rests at the venue — a strategy would place its replacement beside it."""

from __future__ import annotations

import pytest
from test_closed_markets import far_bid, quick_recheck  # noqa: F401  (fixture)
from test_session_binance import BINANCE
from tickwire.errors import MarketClosed, OrderNotFound
from tickwire.sim import Simulator
from tickwire.trading.codes import error_for
from tickwire.trading.session import TradingSession


@pytest.mark.parametrize("code", [-2011, -2038, -1013, -2010])
def test_binance_market_is_closed_is_a_closed_market_under_each_code_that_carries_it(code: int) -> None:
    e = error_for("binance", code, "Market is closed.", http_status=400)
    assert isinstance(e, MarketClosed) and not isinstance(e, OrderNotFound), type(e)
    assert isinstance(error_for("binance", -2011, "Unknown order sent.", http_status=400), OrderNotFound)


def test_binance_a_cancel_on_a_halted_symbol_is_market_closed_and_the_order_stays_open() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        qty, price = far_bid(a, sim, tr)
        placed = await tr.place_order(a.symbol, "buy", "limit", qty, price)
        sim.set_status(a.venue, a.symbol, "closed")  # HALT: the venue refuses the cancel
        with pytest.raises(MarketClosed) as refused:
            await tr.cancel_order(a.symbol, client_id=placed.client_id)
        assert str(refused.value.code) == "-2011"  # type: ignore[attr-defined]
        [theirs] = a.orders(sim, placed.client_id)
        assert theirs.open
        now = tr.tracker.get(placed.client_id)
        assert now is not None and now.is_open

    a.run(body)


def test_binance_a_cancel_all_goes_on_past_a_halted_symbol() -> None:
    """Orders open on two symbols; the first in the cancel-all's order halted (its cancel refused,
    -2011 "Market is closed."): the other symbol's order is cancelled at the venue all the same, the
    halted one's stays open there and here, and the refusal is raised once both went (before, the
    refusal stopped the loop: ``ETHUSDT``'s order left working by a ``cancel_all()`` that raised)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        qty, price = far_bid(a, sim, tr)
        halted = await tr.place_order(a.symbol, "buy", "limit", qty, price)
        other = "ETHUSDT"
        bid = sim.book(a.venue, other, 1).bids[0][0]
        eth_price = bid - 20 * tr.rules[other].tick_size
        r = tr.rules[other]
        worth = r.min_notional or r.lot_size  # twice the least the venue takes
        eth_qty = max(r.min_qty, (worth / eth_price).quantize(r.lot_size) * 2)
        working = await tr.place_order(other, "buy", "limit", eth_qty, eth_price)
        assert sorted([a.symbol, other])[0] == a.symbol  # the halted one is asked first
        sim.set_status(a.venue, a.symbol, "closed")
        with pytest.raises(MarketClosed):
            await tr.cancel_all()
        [eth] = a.orders(sim, working.client_id)
        [btc] = a.orders(sim, halted.client_id)
        assert not eth.open and btc.open
        assert tr.tracker.get(working.client_id).status == "canceled"  # type: ignore[union-attr]
        assert tr.tracker.get(halted.client_id).is_open  # type: ignore[union-attr]

    a.run(body)
