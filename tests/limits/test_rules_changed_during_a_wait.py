"""An order that waits for room in the rate budget while the instrument rules are read anew (``load_rules``,
or the periodic read) — the venue's grid changed — is checked against the rules in force when it
goes: off the new grid, it is the rules' own typed error, nothing written (as ``place_order`` or a
send started after the read refuses it), not an order the venue refuses for its grid — a request and
an order count spent, a rejection, and another read of the instrument list. Checked against the
simulator's own order entry."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
import tickwire
from tickwire.errors import InvalidOrder
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.venues import binance

V, SYMBOL = "binance", "BTCUSDT"
KEY = "lim-grid-wait"


@pytest.mark.parametrize("path", ["template", "place_order"])
def test_an_order_waiting_for_the_budget_is_checked_by_rules_read_meanwhile(path: str) -> None:
    """One order every 2 s (the reserve keeps the second unit for cancels): the first goes, the second
    waits. Meanwhile the venue makes its tick ten times coarser and the session reads its rules; the
    waiting order's price is on the old tick only. It is refused here when it goes (``InvalidOrder``,
    rule ``tick_size``), the venue sees no second order and the session tracks none."""

    async def go() -> None:
        async with Simulator([V], seed=5, rate=0, depth=20) as sim:
            sim.venue(V).add_key(ApiKey(KEY, secret=b"s3cret"))
            sim.fund(V, KEY, {"USDT": "100000000", "BTC": "100"})
            async with tickwire.trade(
                V, credentials=binance.Signer(KEY, "s3cret"), endpoints=sim.urls()[V], private_stream=False
            ) as tr:  # fmt: skip
                tr.budget.set_limits(
                    [Limit("ORDERS_TEST", 2, 2.0, per="account", counts="ORDERS")], replace=True
                )
                old = tr.rules[SYMBOL]
                coarse = old.tick_size * 10
                bid = sim.book(V, SYMBOL).bids[0][0]
                price = (bid // coarse) * coarse - 20 * coarse - old.tick_size  # off the coarse tick
                qty = max(old.min_qty, (old.min_notional or Decimal(0)) / price).quantize(old.lot_size) * 2
                tmpl = tr.template(SYMBOL, "buy")
                first = await tr.place_order(SYMBOL, "buy", "limit", qty, price + old.tick_size)
                assert first.status == "new"
                if path == "template":
                    waiting = tmpl.send(price, qty)
                else:
                    waiting = asyncio.ensure_future(tr.place_order(SYMBOL, "buy", "limit", qty, price))
                await asyncio.sleep(0.05)
                assert not waiting.done()  # waiting for the budget
                sim.set_grid(V, SYMBOL, tick=str(coarse))
                await tr.load_rules()
                assert tr.rules[SYMBOL].tick_size == coarse
                assert not waiting.done(), "the read took longer than the budget's wait"
                with pytest.raises(InvalidOrder) as e:
                    await waiting
                assert getattr(e.value, "rule", None) == "tick_size", repr(e.value)
                assert [o.client_id for o in sim.venue(V).engine.orders.values()] == [first.client_id]
                assert [x for x in sim.endpoint(V, 0).exchanges if x[1] == "POST /api/v3/order"][1:] == []
                assert [o.client_id for o in tr.tracker] == [first.client_id]

    asyncio.run(asyncio.wait_for(go(), 60))
