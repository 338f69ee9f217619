"""Orders over a venue's order socket (``transport="ws"``) when the network and the venue misbehave,
each case proven against the simulator's own order list (a review by a helper session)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from session_cases import SimAccount, settle
from test_session_binance import BINANCE
from test_session_okx import OKX
from test_session_usdm import USDM
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


@pytest.mark.parametrize("acct", [BINANCE, USDM], ids=["spot", "usdm"])
def test_an_answer_lost_with_the_order_socket_is_reconciled_not_left_unknown(acct: SimAccount) -> None:
    """``transport="ws"`` on a venue whose order socket also answers the status queries (Binance's WS
    API ``order.status``): the venue places the order and cuts the socket before its answer. The order
    is looked up by client id — over REST while the socket reconnects — and returned as the venue has
    it: one order at the simulator, one ``order.place`` received, nothing resent. Before, the lookup
    was refused as an order would be ("the order socket is down (transport='ws')"), the call raised
    ``UnknownOutcome`` without the venue ever asked, the order ``unknown`` though the venue was there
    to answer."""
    a = acct

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        ep = sim.endpoint(a.venue, 0)
        ep.lose_answer(a.ws_place_op)
        o = await a.rest_below(sim, tr, 30)
        assert ep.lost == [a.ws_place_op]  # it went over the socket, which was cut after it
        [theirs] = a.orders(sim)
        assert theirs.client_id == o.client_id and theirs.open
        assert o.status == "new" and o.order_id == str(theirs.id) and tr.tracker.unknown() == []

    a.run(body, transport="ws", private_stream=False, timeout=1.0)


@pytest.mark.parametrize("transport", ["ws", "auto"])
def test_an_order_socket_gone_silent_does_not_leave_the_lost_order_unknown(transport: str) -> None:
    """The venue takes the order, then its order socket goes silent (stalled: open, nothing written;
    REST still answers). The order's answer times out and its lookup by client id finds it — over
    REST, not over the socket that just left a request unanswered for the whole time-out — so the
    call returns it as the venue has it, sent once. Before, the lookup (Binance's ``order.status``)
    went over the same silent socket, timed out too, and the call raised ``UnknownOutcome`` after
    twice the time-out, the order ``unknown`` though REST could tell (and a close then reported it
    of unknown fate)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        sim.endpoint(a.venue, 0).stall()  # WebSocket frames only: REST still answers
        o = await a.rest_below(sim, tr, 30)
        [theirs] = a.orders(sim)
        assert theirs.client_id == o.client_id and theirs.open
        assert o.status == "new" and o.order_id == str(theirs.id) and tr.tracker.unknown() == []

    a.run(body, transport=transport, private_stream=False, timeout=0.5)


def test_an_okx_place_still_queued_when_the_socket_is_cut_is_not_called_absent_before_its_exptime() -> None:
    """OKX's places over the order socket carry ``expTime``: the venue never executes one its engine
    reaches after then, and may execute one any time before. Here the order socket is cut right after
    the place reached the venue, whose engine gets to it 0.9 s later (its queue; the simulator's
    engine run then, honouring ``expTime`` as OKX does). The lookups right after the cut find nothing
    yet; the order is not called absent before its ``expTime`` has passed, so the call returns it as
    the venue then has it: one order, resting, sent once. Before, "no trace" after the lookups (~0.6 s)
    was final ("was not placed", the order rejected here, the caller told it may send it again) and the
    venue placed it 0.3 s later."""
    a = OKX
    queued = 0.9

    def slow_engine(sim: Simulator) -> None:
        trade = sim.venue(a.venue).trade
        run_op = trade.on_op

        def on_op(conn: Any, msg: dict[str, Any]) -> None:
            if msg.get("op") != "order":
                run_op(conn, msg)
                return

            def reached() -> None:
                exp = msg.get("expTime")
                if exp and conn.endpoint.now_ms() > int(exp):
                    return  # OKX discards a request its engine reaches past its expTime
                run_op(conn, msg)  # its answer goes nowhere: the socket is gone

            asyncio.get_running_loop().call_later(queued, reached)
            conn.abort()  # the connection lost with the place on its way to the engine

        trade.on_op = on_op

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        grammar: Any = tr.grammar
        grammar.request_ttl_ms = 1200  # expTime 1.2 s after sending (5 s by default)
        o = await a.rest_below(sim, tr, 30)
        [theirs] = a.orders(sim)
        assert theirs.client_id == o.client_id and theirs.open
        assert o.status == "new" and o.order_id == str(theirs.id)

    a.run(body, before=slow_engine, transport="ws", private_stream=False, timeout=1.0)


@pytest.mark.parametrize("acct,path", [(BINANCE, "/ws-api"), (OKX, "/ws/v5/private")], ids=["binance", "okx"])
def test_the_venues_shutdown_notice_has_both_sockets_reconnect_at_once_and_trading_goes_on(
    acct: SimAccount, path: str
) -> None:
    """Binance announces a server shutdown on its WS API connections (``serverShutdown``: "On
    receipt, reconnect"); OKX a service upgrade on its private ones (``event`` ``notice``, code 64008,
    60 s before the cut since 2025-06-02). The private stream and the order socket connect anew at
    once — the simulator sees their connections closed by the client and new ones open — and the
    session keeps trading on them: an order placed over the new socket, a cancel heard on the new
    stream. Before, the notice was ignored (Binance's until stop 43, OKX's until 2026-12-07: ``timed
    out waiting for both sockets connected anew``): the venue's own cut would have come at a moment
    of its choosing, with answers and events on their way."""
    a = acct

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.orders_ws is not None
        ep = sim.endpoint(a.venue, 0)
        before = {c.id for c in ep.conns.values() if c.path.startswith(path)}
        assert len(before) == 2, before
        resting = await a.rest_below(sim, tr, 30)
        ep.server_shutdown()
        await settle(
            lambda: tr.stream.connects == 2 and tr.orders_ws.connects == 2,  # type: ignore[union-attr]
            "both sockets connected anew",
        )
        now = {c.id for c in ep.conns.values() if c.path.startswith(path)}
        assert len(now) == 2 and not now & before, (before, now)
        events = tr.stream.events
        o = await a.rest_below(sim, tr, 31)
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1
        await tr.cancel_order(a.symbol, client_id=resting.client_id)
        await settle(lambda: tr.stream is not None and tr.stream.events > events, "the new stream's events")
        assert tr.tracker.unknown() == [] and a.open(sim) == [a.orders(sim, o.client_id)[0]]

    a.run(body, transport="ws")


def test_trading_sockets_renew_their_connections_before_the_venue_ends_their_lifetime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binance ends a connection 24 h after it opened (here 1.5 s: the simulator's ``lifetime``, and
    the grammar's ``socket_lifetime_s`` alike). The private stream and the order socket connect anew
    before, as on the venue's shutdown notice, so the venue never cuts one (its own count) while
    orders go on; each at the venue once, none of unknown fate. Before, each was cut by the venue
    (with any answer on its way) once a lifetime."""
    from tickwire.venues.binance.common import BinanceGrammar

    monkeypatch.setattr(BinanceGrammar, "socket_lifetime_s", 1.5, raising=False)
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.orders_ws is not None
        placed = []
        for i in range(12):
            placed.append(await a.rest_below(sim, tr, 30 + i))
            await asyncio.sleep(0.25)
        v: Any = sim.venue(a.venue)
        assert v.lifetime_cuts == 0, f"the venue cut {v.lifetime_cuts} connections at their lifetime's end"
        assert tr.stream.connects >= 2 and tr.orders_ws.connects >= 2
        assert all(o.status == "new" and len(a.orders(sim, o.client_id)) == 1 for o in placed)
        assert tr.tracker.unknown() == []

    a.run(body, transport="auto", sim_timeouts={"lifetime": 1.5})
