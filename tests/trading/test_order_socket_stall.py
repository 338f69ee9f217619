"""An order over the order socket (``transport="ws"``) when the process stalls (a busy CPU, a long
callback) across its request's time-out while the venue's answer arrives: the answer is read, not
the time-out taken — on both loops (``stalls``), the venue on a thread of its own, every check
against what the simulator saw."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from stalls import ANSWER_AFTER_S, LOOPS, STALL_AT_S, STALL_S, TIMEOUT_S, account_elsewhere, read_stalls, run
from test_session_binance import BINANCE
from tickwire.sim.ws import Conn


@pytest.mark.parametrize("loop", LOOPS)
def test_an_answer_that_arrived_during_a_stall_past_the_time_out_is_read_not_timed_out(loop: str) -> None:
    """The venue answers the place 0.8 s after it (time-out 1 s); the process stalls in a read
    callback from 0.7 s to 1.3 s, so when the loop runs again the answer is in the socket and the
    time-out is due. The order is the venue's answer: one ``order.place``, no status query (REST or
    socket), the order socket the same connection. Before, on uvloop (timers before the sockets'
    reads): the time-out ran first, the order went ``unknown`` and was reconciled by a status query,
    and the order socket was cut with every answer in it unread (each order then awaiting one
    reconciled too), its connection made anew."""
    a = BINANCE

    async def go() -> None:
        async with account_elsewhere(a, rate=0) as there:
            sim = there.sim
            ops: list[str] = []
            ep = sim.endpoint(a.venue, 0)

            def slow_places() -> None:
                answer = ep.on_ws_message

                def on_ws_message(conn: Conn, data: bytes, binary: bool) -> None:
                    op = sim.venue(a.venue).ws_operation(data) or ""
                    ops.append(op)
                    if op == a.ws_place_op:
                        asyncio.get_running_loop().call_later(ANSWER_AFTER_S, answer, conn, data, binary)
                    else:
                        answer(conn, data, binary)

                ep.on_ws_message = on_ws_message  # type: ignore[method-assign]

            await there.call(slow_places)
            async with tickwire.trade(
                a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], transport="ws",
                private_stream=False, timeout=TIMEOUT_S,
            ) as tr:  # fmt: skip
                assert tr.orders_ws is not None and tr.orders_ws.connected
                socket_conns = await there.call(lambda: [c.id for c in ep.conns.values()])
                rest_before = len(ep.exchanges)
                bid, _ = a.touch(sim)
                price = bid - 30 * tr.rules[a.symbol].tick_size
                with read_stalls() as stall:
                    asyncio.get_running_loop().call_later(STALL_AT_S, stall, STALL_S)
                    o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
                await asyncio.sleep(0.2)
                theirs: list[Any] = await there.call(lambda: a.orders(sim))
                [one] = theirs
                assert one.client_id == o.client_id and one.open and o.order_id == str(one.id)
                assert o.status == "new" and tr.tracker.unknown() == []
                rest_ops = await there.call(lambda: [e[1] for e in list(ep.exchanges)[rest_before:]])
                assert ops.count(a.ws_place_op) == 1 and "order.status" not in ops, ops
                assert rest_ops == [], rest_ops  # no status query, no other request
                assert await there.call(lambda: [c.id for c in ep.conns.values()]) == socket_conns
                assert tr.orders_ws.connects == 1

    run(go(), loop)
