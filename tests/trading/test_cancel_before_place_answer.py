"""A cancel whose answer comes before the place's: the order the venue cancelled is tracked
cancelled, whatever the place's answer (status NEW, from before the cancel) says after it."""

from __future__ import annotations

import asyncio

import pytest
from session_cases import settle
from test_session_binance import BINANCE
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


@pytest.mark.parametrize("every", [False, True], ids=["cancel_order", "cancel_all"])
def test_a_binance_cancel_answered_before_the_place_leaves_the_order_cancelled(every: bool) -> None:
    """No private stream. A resting buy's place answer is held at the venue (the order is on the
    book); meanwhile its cancel, by client id (no order id known yet), is answered ``CANCELED``
    under the cancel's own ``clientOrderId`` and the order's ``origClientOrderId``. Then the place's
    answer (``NEW``) arrives. The simulator has the order cancelled: so must the tracker, and
    ``cancel_order`` must return it cancelled (``cancel_all``: list it, cancelled; each entry of
    ``DELETE /api/v3/openOrders`` names the order the same way)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        gate = asyncio.Event()
        ep.hold_answer(a.place_op, gate.wait)
        bid, _ = a.touch(sim)
        price = bid - 20 * tr.rules[a.symbol].tick_size
        placing = asyncio.create_task(tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price))
        await settle(lambda: bool(a.orders(sim)), "the order on the venue's book")
        [theirs] = a.orders(sim)
        cid = theirs.client_id
        pending = tr.tracker.get(cid)
        assert pending is not None and pending.order_id is None  # its place's answer not yet in
        if every:
            listed = await asyncio.wait_for(tr.cancel_all(a.symbol), 5)
            got = next((o for o in listed if o.client_id == cid), None)
            assert got is not None, f"cancel_all did not list the order it cancelled: {listed}"
        else:
            got = await asyncio.wait_for(tr.cancel_order(a.symbol, client_id=cid), 5)
        assert not theirs.open
        gate.set()
        placed = await asyncio.wait_for(placing, 5)
        mine = tr.tracker.get(cid)
        assert mine is not None
        assert (mine.status, got.status, placed.status) == ("canceled",) * 3, (
            mine.status,
            got.status,
            placed.status,
            theirs.status,
        )
        assert mine not in tr.tracker.open_orders()

    a.run(body, private_stream=False)
