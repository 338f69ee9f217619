"""Bad input on the order path refused before anything is sent: a typed error (``InvalidOrder``, a
``ValueError``), nothing at the venue (the simulator's own order list, its orders' terms), nothing
tracked and nothing taken of the rate budget's order window."""

from __future__ import annotations

from typing import Any

import pytest
from template_cases import SYMBOL, account, below_bid
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

# Digits of other scripts, which ``Decimal`` reads as numbers (Arabic-Indic three, fullwidth one,
# an Arabic-Indic five after an ASCII point, an ASCII mantissa with an Arabic-Indic exponent): before,
# each became a real order (3 BTC, 1 BTC…) at the venue.
OTHER_DIGITS = ["\u0663", "\uff11", "0.\u0665", "1e\u0660"]


@pytest.mark.parametrize("qty", OTHER_DIGITS, ids=[t.encode("unicode_escape").decode() for t in OTHER_DIGITS])
def test_a_number_in_digits_of_another_script_is_refused_and_nothing_is_sent(qty: str) -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, _ = below_bid(a, sim, tr, 10)
        tmpl = tr.template(SYMBOL, "buy")
        window = tr.budget.windows["ORDERS_10S"]
        used = window.used(tr.budget.clock())
        with pytest.raises(InvalidOrder):
            tr.prepare(SYMBOL, "buy", "limit", qty, price)
        with pytest.raises(InvalidOrder):
            await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        with pytest.raises(InvalidOrder):
            await tmpl.send(price, qty)
        assert [(o.qty, o.price) for o in a.orders(sim)] == []
        assert list(tr.tracker) == []
        assert window.used(tr.budget.clock()) == used

    a.run(body, private_stream=False)


@pytest.mark.parametrize("named", ["ETHUSDT", "btcusdt"])
def test_an_amend_naming_another_market_than_its_orders_is_refused_and_the_order_stays(named: str) -> None:
    """``amend_order(symbol, client_id=…)`` finds the order by its id: before, the symbol was not
    compared with the order's, and a BTCUSDT order was amended by a call naming ETHUSDT (or a symbol
    the venue does not list)."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)  # twice the smallest size: a lower qty is a valid amend
        o = await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        [theirs] = a.orders(sim, o.client_id)
        at_venue = (theirs.qty, theirs.price, theirs.open)
        with pytest.raises(InvalidOrder):
            await tr.amend_order(named, client_id=o.client_id, qty=qty / 2)
        assert (theirs.qty, theirs.price, theirs.open) == at_venue
        now = tr.tracker.get(o.client_id)
        assert now is not None and (now.qty, now.price, now.status) == (o.qty, o.price, "new")
        # The same amend naming the order's own market goes through.
        done = await tr.amend_order(SYMBOL, client_id=o.client_id, qty=qty / 2)
        assert done.qty == qty / 2 and theirs.qty == at_venue[0] // 2

    a.run(body, private_stream=False)


NOT_ORDERS: list[tuple[str, Any]] = [
    ("None", [None]),
    ("a str", "abc"),
    ("a dict", [{"symbol": SYMBOL, "side": "buy"}]),
    ("a prepared order then None", "prepared+None"),
]


@pytest.mark.parametrize(("what", "orders"), NOT_ORDERS, ids=[w for w, _ in NOT_ORDERS])
def test_place_orders_refuses_what_prepare_did_not_make_and_sends_nothing(what: str, orders: Any) -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)
        given = (
            [tr.prepare(SYMBOL, "buy", "limit", qty, price), None] if orders == "prepared+None" else orders
        )
        window = tr.budget.windows["ORDERS_10S"]
        used = window.used(tr.budget.clock())
        with pytest.raises(InvalidOrder):
            await tr.place_orders(given)
        assert a.orders(sim) == [], f"{what}: at the venue"
        assert list(tr.tracker) == []
        assert window.used(tr.budget.clock()) == used

    a.run(body, private_stream=False)
