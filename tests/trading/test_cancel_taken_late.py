"""A cancel whose answer never came and that the venue took after the session had asked: the order's
state at the venue said "still open" right after the time-out, the venue cancelled it a moment later
(its request queued). With no private stream to tell, the session must still learn it — asked again
once the venue can no longer act on the request (where it bounds nothing: ``lost_order_wait_s``) —
never by a second cancel. Checked against the simulator's own order and the cancels it received."""

from __future__ import annotations

import asyncio

import pytest
from test_session_coinbase import COINBASE
from test_session_htx import HTX
from tickwire.errors import RequestTimeoutError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

CASES = {
    "coinbase": (COINBASE, "POST /api/v3/brokerage/orders/batch_cancel"),
    "htx": (HTX, "POST /v1/order/orders/batchcancel"),
}


@pytest.mark.parametrize("venue", list(CASES))
def test_a_cancel_the_venue_takes_after_its_time_out_is_learnt_without_a_private_stream(venue: str) -> None:
    a, cancel_op = CASES[venue]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 10)
        ep = sim.endpoint(a.venue, 0)
        ep.delay(1.2)  # the cancel is handled 1.2 s after it arrives, past the 0.5 s time-out
        asyncio.get_running_loop().call_later(0.3, ep.delay, 0.0)  # the state query is not held
        with pytest.raises(RequestTimeoutError):
            await tr.cancel_order(a.symbol, client_id=o.client_id)
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open  # the venue has not taken the cancel yet: the caller was told "not known"
        end = asyncio.get_running_loop().time() + 4.0
        while tr._current(o.client_id).is_open and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.05)
        [theirs] = a.orders(sim, o.client_id)
        assert not theirs.open, "the venue took the late cancel"
        assert [op for _, op, _, _ in ep.exchanges].count(cancel_op) == 1  # never a second cancel
        now = tr._current(o.client_id)
        assert now.status == "canceled", f"tracked {now.status!r} while the venue has it {theirs.status}"

    a.run(body, timeout=0.5, private_stream=False, lost_order_wait_s=1.5)
