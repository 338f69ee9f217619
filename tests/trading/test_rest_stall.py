"""An order over REST when the process stalls (a busy CPU, a long callback) across its request's
time-out while the venue's answer arrives: the answer is read, not the time-out taken — on both
loops (``stalls``), the venue on a thread of its own, every check against what the simulator saw."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from stalls import ANSWER_AFTER_S, LOOPS, STALL_AT_S, STALL_S, TIMEOUT_S, account_elsewhere, read_stalls, run
from test_session_binance import BINANCE


@pytest.mark.parametrize("loop", LOOPS)
def test_a_rest_answer_that_arrived_during_a_stall_past_the_time_out_is_read_not_timed_out(loop: str) -> None:
    """The venue answers the place 0.8 s after it (time-out 1 s); the process stalls in a read
    callback from 0.7 s to 1.3 s, so when the loop runs again the answer is in the socket and the
    time-out is due. The order is the venue's answer: one ``POST /api/v3/order``, no status query.
    Before, on uvloop (timers before the sockets' reads): the HTTP client's time-out ran first, the
    connection was aborted with the answer in it, the order went ``unknown`` and was reconciled by a
    status query (``GET /api/v3/order``)."""
    a = BINANCE

    async def go() -> None:
        async with account_elsewhere(a, rate=0) as there:
            sim = there.sim
            ep = sim.endpoint(a.venue, 0)
            async with tickwire.trade(
                a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], transport="rest",
                private_stream=False, timeout=TIMEOUT_S,
            ) as tr:  # fmt: skip
                bid, _ = a.touch(sim)
                price = bid - 30 * tr.rules[a.symbol].tick_size
                qty = a.size(tr, price)
                rest_before = await there.call(lambda: len(ep.exchanges))
                await there.call(lambda: ep.delay(ANSWER_AFTER_S))
                with read_stalls() as stall:
                    asyncio.get_running_loop().call_later(STALL_AT_S, stall, STALL_S)
                    o = await tr.place_order(a.symbol, "buy", "limit", qty, price)
                await there.call(lambda: ep.delay(0))
                await asyncio.sleep(0.2)
                theirs: list[Any] = await there.call(lambda: a.orders(sim))
                [one] = theirs
                assert one.client_id == o.client_id and one.open and o.order_id == str(one.id)
                assert o.status == "new" and tr.tracker.unknown() == []
                ops = await there.call(lambda: [e[1] for e in list(ep.exchanges)[rest_before:]])
                assert ops == [a.place_op], ops  # placed once, no status query

    run(go(), loop)
