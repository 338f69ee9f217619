"""OKX and Bybit order entry under faults (a review by a helper session), each case held to the
simulator's own orders and fills: an order placed once, each fill heard once and in the venue's order,
the session's order as the venue has it. All but the first passed on the code they were written
against (kept as regression cases); the first heard an outage's fills newest first."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from session_cases import SimAccount, settle
from test_place_orders import at_venue, ladder
from test_session_bybit import BYBIT
from test_session_okx import OKX
from tickwire.errors import OrderNotFound, OrderRejected, TransportError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

ACCTS, IDS = [OKX, BYBIT], ["okx", "bybit"]
# The order socket's amend and cancel ops, for ``lose_answer``.
WS_OPS = {"okx": ("amend-order", "cancel-order"), "bybit": ("order.amend", "order.cancel")}
BATCH_OPS = {"okx": "POST /api/v5/trade/batch-orders", "bybit": "POST /v5/order/create-batch"}
STATUS = {"NEW": "new", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "canceled"}


def trade_into(sim: Simulator, a: SimAccount, theirs: Any, fills: int) -> None:
    """The book process stepped until ``theirs`` (the simulator's resting order) has ``fills`` fills
    or is done."""
    v = sim.venue(a.venue)
    for _ in range(200_000):
        if len(theirs.fills) >= fills or not theirs.open:
            return
        v.book_step(a.symbol)
    raise AssertionError("the market never traded into the order")


async def rest_at_bid(sim: Simulator, tr: TradingSession, a: SimAccount, times: int) -> tuple[Any, Any]:
    """A buy of ``times`` minimum sizes at the best bid (the book paused), and the simulator's order."""
    bid, _ = a.touch(sim)
    o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, bid, times), bid)
    [theirs] = a.orders(sim, o.client_id)
    return o, theirs


def as_venue_has_it(sim: Simulator, a: SimAccount, tr: TradingSession, o: Any, theirs: Any) -> None:
    lot = sim.venue(a.venue).instruments[a.symbol].lot
    cur = tr._current(o.client_id)
    assert (cur.filled, cur.qty, cur.status) == (theirs.filled * lot, theirs.qty * lot, STATUS[theirs.status])


def heard_once_in_order(fills: list[Any], theirs: Any) -> None:
    assert [f.trade_id for f in fills] == [str(f.trade_id) for f in theirs.fills]


@pytest.mark.parametrize("transport", ["rest", "ws"])
@pytest.mark.parametrize("a", ACCTS, ids=IDS)
def test_a_cancel_racing_a_full_fill_leaves_the_order_filled_and_each_fill_heard_once(
    a: SimAccount, transport: str
) -> None:
    """The order fills whole at the venue while the private stream's word of it is held back; the
    cancel the caller sends meanwhile is refused (the venue's "not found"), the order ends filled
    with each fill heard once."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        o, theirs = await rest_at_bid(sim, tr, a, 1)
        ep = sim.endpoint(a.venue, 0)
        ep.stall(hold=True)  # the sockets' frames held, delivered late in order
        trade_into(sim, a, theirs, 10**6)
        assert theirs.status == "FILLED"
        if transport == "rest":
            with pytest.raises(OrderNotFound):
                await tr.cancel_order(a.symbol, client_id=o.client_id)
        else:  # the refusal held with the socket: its time-out, then the order's state over REST
            got = await tr.cancel_order(a.symbol, client_id=o.client_id)
            assert got.status == "filled"
        ep.unstall()
        await settle(lambda: tr._current(o.client_id).status == "filled", "filled", 10)
        await asyncio.sleep(0.3)
        as_venue_has_it(sim, a, tr, o, theirs)
        heard_once_in_order(fills, theirs)

    a.run(body, transport=transport, timeout=1.0)


@pytest.mark.parametrize("a", ACCTS, ids=IDS)
def test_an_amend_below_what_the_venue_already_filled_is_refused_and_the_order_stays_the_venues(
    a: SimAccount,
) -> None:
    """A partial fill the session has not heard yet (the stream held back), then an amend of the
    quantity to what the venue has filled: the venue refuses it, and once the stream's word arrives
    the session has the order's terms and fills as the venue does."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        o, theirs = await rest_at_bid(sim, tr, a, 2000)
        ep = sim.endpoint(a.venue, 0)
        ep.stall(hold=True)
        trade_into(sim, a, theirs, 1)
        assert theirs.open
        lot = sim.venue(a.venue).instruments[a.symbol].lot
        with pytest.raises((OrderNotFound, OrderRejected)):
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=theirs.filled * lot)
        ep.unstall()
        await settle(lambda: tr._current(o.client_id).filled == theirs.filled * lot, "the fill", 10)
        await asyncio.sleep(0.3)
        as_venue_has_it(sim, a, tr, o, theirs)
        heard_once_in_order(fills, theirs)

    a.run(body, transport="rest", timeout=1.0)


@pytest.mark.parametrize("a", ACCTS, ids=IDS)
def test_a_lost_cancel_of_a_partly_filled_order_is_reconciled_with_its_fills_once(a: SimAccount) -> None:
    """The order socket is cut right after a cancel of a partly filled order is handled: the session
    has it canceled with the venue's fills, each heard once."""
    _, cancel_op = WS_OPS[a.venue]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        o, theirs = await rest_at_bid(sim, tr, a, 2000)
        trade_into(sim, a, theirs, 2)
        assert theirs.open
        ep = sim.endpoint(a.venue, 0)
        ep.lose_answer(cancel_op)
        got = await tr.cancel_order(a.symbol, client_id=o.client_id)
        assert ep.lost == [cancel_op] and got.status == "canceled" and not theirs.open
        await asyncio.sleep(0.5)
        as_venue_has_it(sim, a, tr, o, theirs)
        heard_once_in_order(fills, theirs)

    a.run(body, transport="ws", timeout=1.0)


@pytest.mark.parametrize("a", ACCTS, ids=IDS)
def test_a_lost_amend_then_a_lost_cancel_on_the_order_socket_each_reconciled(a: SimAccount) -> None:
    amend_op, cancel_op = WS_OPS[a.venue]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        o = await a.rest_below(sim, tr, 30, 3)
        tick = tr.rules[a.symbol].tick_size
        ep.lose_answer(amend_op)
        got = await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - tick)
        [theirs] = a.orders(sim, o.client_id)
        assert ep.lost == [amend_op]
        assert theirs.price * sim.venue(a.venue).instruments[a.symbol].tick == got.price == o.price - tick
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket back", 10)
        ep.lose_answer(cancel_op)
        c = await tr.cancel_order(a.symbol, client_id=o.client_id)
        assert ep.lost == [amend_op, cancel_op] and c.status == "canceled" and not theirs.open
        assert len(a.orders(sim)) == 1

    a.run(body, transport="ws", timeout=1.0)


@pytest.mark.parametrize("a", ACCTS, ids=IDS)
def test_a_lost_batch_answer_with_one_entry_refused_places_the_others_once(a: SimAccount) -> None:
    """The venue refuses the middle entry (a sell of more than the account holds) and the answer is
    lost: the other two are found as placed, the refused one is not placed, nothing is sent twice."""
    op = BATCH_OPS[a.venue]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        b1, b2 = ladder(a, sim, tr, 2)
        ask = sim.book(a.venue, a.symbol).asks[0][0] + 40 * tr.rules[a.symbol].tick_size
        unpaid = tr.prepare(a.symbol, "sell", "limit", Decimal(a.funds["BTC"]) + 10, ask)
        sim.endpoint(a.venue, 0).lose_answer(op)
        got = await tr.place_orders([b1, unpaid, b2])
        assert sim.endpoint(a.venue, 0).lost == [op]
        assert a.orders(sim, unpaid.client_id) == [] and isinstance(got[1], TransportError)
        assert tr.tracker.get(unpaid.client_id).status == "rejected"  # type: ignore[union-attr]
        for o, r in ((b1, got[0]), (b2, got[2])):
            assert r.status == "new" and r.order_id == str(at_venue(a, sim, o).id)  # type: ignore[union-attr]
        assert set(sim.venue(a.venue).engine.place_requests.values()) == {1}

    a.run(body, timeout=1.0)


def test_a_bybit_10006_on_the_trade_socket_is_waited_out_and_the_order_placed_once() -> None:
    """Another program on the key spends the second's creates; the next order over the trade socket
    is refused (10006, its reset time in the answer's header), waits it out and is placed once —
    refused once, not sent into the refused window again."""
    a = BYBIT

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        v, ep = sim.venue(a.venue), sim.endpoint(a.venue, 0)
        await a.rest_below(sim, tr, 30)
        for _ in range(12):
            v.trade.limit(a.key, "/v5/order/create", ep.now_ms(), 10)
        before = sum(v.trade.limit_refusals.values())
        o = await a.rest_below(sim, tr, 31)
        assert sum(v.trade.limit_refusals.values()) == before + 1
        assert len(a.orders(sim, o.client_id)) == 1 and o.status == "new"
        assert set(v.engine.place_requests.values()) == {1}

    a.run(body, transport="ws")
