"""Binance spot's Order Amend Keep Priority (binance-spot-api-docs rest-api.md / web-socket-api.md)
through the trading session against the simulator: the documented parameters and answer, only a
lower quantity (anything else refused with nothing sent), the order's ids and place in the queue
kept, the venue's refusals as typed errors, a lost answer reconciled over REST, an amend lost with
the order socket an unknown outcome."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
from session_cases import settle
from test_session_binance import BINANCE, KEY, SECRET
from tickwire.errors import NotSupported, OrderNotFound, OrderRejected
from tickwire.sim import Simulator
from tickwire.sim.market import BID
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.venues import binance
from tickwire.venues.binance.usdm import UsdmOrders

AMEND = "PUT /api/v3/order/amend/keepPriority"


AMEND_PATH = "/api/v3/order/amend/keepPriority"


DOCUMENTED_AMEND_ANSWER = {
    "transactTime": 1741926410255,
    "executionId": 75,
    "amendedOrder": {
        "symbol": "BTCUSDT", "orderId": 33, "orderListId": -1, "origClientOrderId": "5xrgbMyg6z36NzBn2pbT8H",
        "clientOrderId": "PFaq6hIHxqFENGfdtn4J6Q", "price": "6.00000000", "qty": "5.00000000",
        "executedQty": "0.00000000", "preventedQty": "0.00000000", "quoteOrderQty": "0.00000000",
        "cumulativeQuoteQty": "0.00000000", "status": "NEW", "timeInForce": "GTC", "type": "LIMIT",
        "side": "SELL", "workingTime": 1741926410242, "selfTradePreventionMode": "NONE",
    },
}  # fmt: skip


def _tracked(**kw: Any) -> Order:
    base: dict[str, Any] = {
        "venue": "binance", "symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": Decimal("0.3"),
        "price": Decimal("60000"), "client_id": "c1", "order_id": "33", "status": "new",
    }  # fmt: skip
    return Order(**{**base, **kw})


def test_an_amend_is_keep_priority_with_the_documented_parameters_and_answer() -> None:
    g = binance.Orders()
    call = g.amend(_tracked(), Decimal("0.1"), None)
    # orderId (or origClientOrderId), the order's own client id kept, newQty as its new total.
    assert (call.method, call.path) == ("PUT", AMEND_PATH)
    assert dict(call.params) == {
        "symbol": "BTCUSDT",
        "orderId": "33",
        "newClientOrderId": "c1",
        "newQty": "0.1",
    }
    by_cid = g.amend(_tracked(order_id=None), Decimal("0.1"), Decimal("60000"))  # an unchanged price
    assert by_cid.params["origClientOrderId"] == "c1" and "orderId" not in by_cid.params
    signer = binance.Signer(KEY, SECRET, clock=lambda: 1741922620419)
    msg = orjson.loads(g.ws_request(call, signer, "tw1") or b"")
    assert msg["method"] == "order.amend.keepPriority" and msg["id"] == "tw1"
    assert {k: msg["params"][k] for k in call.params} == dict(call.params)
    [ev] = g.read_order(DOCUMENTED_AMEND_ANSWER)
    assert {k: getattr(ev, k) for k in ("client_id", "order_id", "status", "side", "type", "ts_ns")} == {
        "client_id": "PFaq6hIHxqFENGfdtn4J6Q", "order_id": "33", "status": "new", "side": "sell",
        "type": "limit", "ts_ns": 1741926410255 * 10**6,
    }  # fmt: skip
    assert (ev.qty, ev.price, ev.filled_cum) == (5, 6, 0)  # "qty" is the amended total quantity


@pytest.mark.parametrize(
    "qty,price",
    [
        (None, Decimal("59999")),
        (Decimal("0.1"), Decimal("59999")),
        (Decimal("0.4"), None),
        (Decimal("0.3"), None),
    ],
)
def test_anything_but_a_lower_quantity_is_not_supported(qty: Decimal | None, price: Decimal | None) -> None:
    with pytest.raises(NotSupported, match="only reduce quantity; cancel and place anew to change price"):
        binance.Orders().amend(_tracked(), qty, price)


def test_usdm_keeps_its_own_amend() -> None:
    g = UsdmOrders()
    call = g.amend(replace(_tracked(), venue="binance-usdm"), None, Decimal("59999"))
    assert (call.method, call.path) == ("PUT", "/fapi/v1/order")
    assert call.params["price"] == "59999" and call.params["quantity"] == "0.3"
    assert g.ws_methods[("PUT", "/fapi/v1/order")] == "order.modify"
    assert all("keepPriority" not in m for m in g.ws_methods.values())


def _queue(sim: Simulator, price: Decimal) -> list[Any]:
    """The simulator's own queue of resting buys at ``price``, oldest first."""
    v = sim.venue(BINANCE.venue)
    return list(
        v.engine.resting[BINANCE.symbol][BID].get(int(price / v.instruments[BINANCE.symbol].tick), ())
    )


def _sent(sim: Simulator, since: int) -> list[str]:
    """The REST requests the simulator logged after the first ``since``."""
    return [op for _, op, _, _ in list(sim.endpoint(BINANCE.venue, 0).exchanges)[since:]]


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_an_amend_down_keeps_the_orders_ids_and_its_place_in_the_queue(transport: str) -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        inst = sim.venue(a.venue).instruments[a.symbol]
        bid, _ = a.touch(sim)
        price = bid - 30 * tr.rules[a.symbol].tick_size
        size = a.size(tr, price)
        placed = [await tr.place_order(a.symbol, "buy", "limit", size * 3, price) for _ in range(3)]
        queue = _queue(sim, price)
        assert [str(o.id) for o in queue] == [o.order_id for o in placed]
        placed_ms = queue[1].time_ms
        level = sim.book(a.venue, a.symbol).bids
        before = dict(level)[price]
        mine, since = placed[1], len(sim.endpoint(a.venue, 0).exchanges)
        got = await tr.amend_order(a.symbol, client_id=mine.client_id, qty=size)
        assert (got.qty, got.price, got.order_id, got.status) == (size, price, mine.order_id, "new")
        # The venue's own order: the same object in the same place of the queue, its ids and its time
        # unchanged (the client id too: the amend named it as the new one), only smaller.
        after = _queue(sim, price)
        assert len(after) == 3 and all(x is y for x, y in zip(after, queue, strict=True))
        x = after[1]
        assert (x.qty * inst.lot, x.client_id, x.time_ms) == (size, mine.client_id, placed_ms)
        assert dict(sim.book(a.venue, a.symbol).bids)[price] == before - 2 * size
        # Over REST, one keepPriority request; over the WS API none at all.
        assert _sent(sim, since) == ([AMEND] if transport == "rest" else [])
        # The stream's REPLACED report agrees: no anomaly, the tracked terms stay the amended ones.
        await settle(lambda: tr.stream is not None and tr.stream.events >= 4, "the REPLACED report")
        assert tr.tracker.anomalies == 0 and tr._current(mine.client_id) == got

    a.run(body, transport=transport)


def test_a_price_change_or_a_larger_quantity_is_not_supported_and_nothing_is_sent(tmp_path: Any) -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 30, 3)
        assert o.price is not None
        [theirs] = a.orders(sim, o.client_id)
        terms = (theirs.id, theirs.client_id, theirs.qty, theirs.price)
        tick, since = tr.rules[a.symbol].tick_size, len(sim.endpoint(a.venue, 0).exchanges)
        for change in (
            {"price": o.price - tick},
            {"qty": o.qty * 2 / 3, "price": o.price - tick},
            {"qty": o.qty * 2},
        ):
            with pytest.raises(NotSupported, match="cancel and place anew to change price"):
                await tr.amend_order(a.symbol, client_id=o.client_id, **change)
        assert _sent(sim, since) == [] and tr._current(o.client_id) == o
        [now] = a.orders(sim)
        assert (now.id, now.client_id, now.qty, now.price) == terms and now.open
        assert not any(r.amending for r in tr.tracker._recs.values())
        tr.audit.flush()
        # Refused before it was audited as requested, too.
        assert "amend_request" not in [orjson.loads(x)["kind"] for x in audit.read_text().splitlines()]

    audit = tmp_path / "audit.jsonl"
    a.run(body, audit=str(audit))


def test_the_venues_refusals_of_an_amend_are_its_typed_errors() -> None:
    """Sent as they are (the grammar would refuse them first): -2038 with errors.md's messages."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 30, 3)

        def keep_priority(new_qty: Decimal) -> Call:
            p = {"symbol": a.symbol, "orderId": o.order_id or "", "newClientOrderId": o.client_id}
            return Call("PUT", AMEND_PATH, {**p, "newQty": str(new_qty)})

        with pytest.raises(
            OrderRejected, match="-2038: Order amend \\(quantity increase\\) is not supported"
        ):
            await tr.send(keep_priority(o.qty * 2))
        with pytest.raises(OrderRejected, match="-2038: The requested action would change no state"):
            await tr.send(keep_priority(o.qty))
        assert a.orders(sim, o.client_id)[0].qty * sim.venue(a.venue).instruments[a.symbol].lot == o.qty
        await tr.cancel_order(a.symbol, client_id=o.client_id)
        with pytest.raises(OrderNotFound, match="-2038: Unknown order sent"):
            await tr.send(keep_priority(o.qty / 3))

    a.run(body)


def test_without_new_client_order_id_the_venue_renames_the_order() -> None:
    """Why the grammar sends the order's own client id: the docs' default is a random new one."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 30, 3)
        p = {"symbol": a.symbol, "orderId": o.order_id or "", "newQty": str(o.qty / 3)}
        answer = await tr.send(Call("PUT", AMEND_PATH, p))
        amended = answer["amendedOrder"]
        [theirs] = a.orders(sim)
        assert amended["origClientOrderId"] == o.client_id != amended["clientOrderId"] == theirs.client_id
        assert len(theirs.client_id) == 22 and str(theirs.id) == o.order_id

    a.run(body)


def test_an_amend_answer_lost_with_the_order_socket_is_reconciled_over_rest() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        o = await a.rest_below(sim, tr, 30, 3)
        inst = sim.venue(a.venue).instruments[a.symbol]
        sim.endpoint(a.venue, 0).lose_answer("order.amend.keepPriority")
        got = await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3)
        # The socket's own fault proves the amend went over it; the venue did it, only the answer was lost.
        assert sim.endpoint(a.venue, 0).lost == ["order.amend.keepPriority"]
        [theirs] = a.orders(sim)
        assert got.qty == o.qty * 2 / 3 == theirs.qty * inst.lot and got.order_id == str(theirs.id)
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connects >= 2, "the socket back")
        since = len(sim.endpoint(a.venue, 0).exchanges)
        again = await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty / 3)
        assert again.qty == o.qty / 3 == a.orders(sim)[0].qty * inst.lot and _sent(sim, since) == []

    a.run(body, transport="auto", timeout=1.0)


def test_over_transport_ws_an_amend_lost_with_the_socket_is_asked_over_rest() -> None:
    """With ``transport="ws"`` the socket that carried the amend is cut before its answer. The
    order's state is asked over REST while the socket reconnects and states the amended quantity,
    which the call returns (no private stream here to tell it first). Before stop 43 that query was
    refused with the socket down, and the call raised ``UnknownOutcome`` though the venue could tell."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 30, 3)
        sim.endpoint(a.venue, 0).lose_answer("order.amend.keepPriority")
        got = await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3)
        assert sim.endpoint(a.venue, 0).lost == ["order.amend.keepPriority"]
        lot = sim.venue(a.venue).instruments[a.symbol].lot
        assert a.orders(sim)[0].qty * lot == o.qty * 2 / 3 == got.qty == tr._current(o.client_id).qty

    a.run(body, transport="ws", private_stream=False, timeout=1.0)
