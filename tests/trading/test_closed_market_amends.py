"""Binance USDⓈ-M documents that an amend on a symbol not TRADING is refused — -5024
MOVE_ORDER_NOT_ALLOWED_SYMBOL_REASON "Symbol is not in trading status. Order amendment is not
permitted." The simulator (``Simulator.set_status``: exchangeInfo lists the symbol SETTLING) must
refuse ``PUT /fapi/v1/order`` so, leaving the order as it was, and the session must take that answer
as a closed market (``MarketClosed``: the list read again), not a plain refusal its rules never learn
from (an amend-only strategy would be refused for good)."""

from __future__ import annotations

import pytest
from test_closed_markets import far_bid, quick_recheck, until  # noqa: F401  (fixture)
from test_session_usdm import USDM
from tickwire.errors import MarketClosed
from tickwire.sim import Simulator
from tickwire.trading.codes import error_for
from tickwire.trading.session import TradingSession


def test_usdm_5024_is_a_closed_market() -> None:
    e = error_for("binance-usdm", -5024, "Symbol is not in trading status. Order amendment is not permitted.",
                  http_status=400)  # fmt: skip
    assert isinstance(e, MarketClosed), type(e)


def test_usdm_an_amend_on_a_settling_symbol_is_refused_5024_and_the_order_left_as_it_was() -> None:
    a = USDM

    async def body(sim: Simulator, tr: TradingSession) -> None:
        qty, price = far_bid(a, sim, tr)
        placed = await tr.place_order(a.symbol, "buy", "limit", qty, price)
        [theirs] = a.orders(sim, placed.client_id)
        before = theirs.price
        sim.set_status(a.venue, a.symbol, "closed")  # the session's rules still say TRADING
        assert tr.rules[a.symbol].trading
        new = price - tr.rules[a.symbol].tick_size
        with pytest.raises(MarketClosed) as refused:
            await tr.amend_order(a.symbol, client_id=placed.client_id, price=new)
        assert str(refused.value.code) == "-5024"  # type: ignore[attr-defined]
        [theirs] = a.orders(sim, placed.client_id)
        assert theirs.open and theirs.price == before  # the venue's order as it was
        now = tr.tracker.get(placed.client_id)
        assert now is not None and now.is_open and now.price == price
        await until(lambda: not tr.rules[a.symbol].trading, "the list read again")

    a.run(body)
