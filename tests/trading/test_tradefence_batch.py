"""Tradefence's own batch (``tradefence.batch``) on the rate budget's lanes, against the simulator's
order list."""

from __future__ import annotations

import asyncio

from test_session_tradefence import TRADEFENCE as a
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import tradefence


def test_a_batch_of_cancels_only_goes_in_the_room_kept_for_cancels() -> None:
    """With the budget used up to the room kept back for cancels, a batch that only cancels goes at
    once, as ``cancel_order`` would, and the simulator's order is cancelled (before: it went on the
    query lane and waited for the window to pass, the order resting meanwhile)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        resting = await a.rest_below(sim, tr, 20)
        # A window the start's requests are still in, filled up to the room outside the cancels'.
        tr.budget.set_limits([Limit("REQUESTS", 3, 5.0, "account")], replace=True)
        while tr.budget.try_take({"REQUESTS": 1}, "query") <= 0:
            pass
        [result] = await asyncio.wait_for(
            tradefence.batch(tr, [tradefence.CancelOrder(client_id=resting.client_id)]), 1.0
        )
        assert result.ok and result.order is not None and result.order.status == "canceled"
        assert not a.orders(sim, resting.client_id)[0].open

    a.run(body)
