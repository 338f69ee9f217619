"""``tickwire.trade("bybit")`` against the simulator: the shared cases (``session_cases``) and Bybit's
own — acknowledgements followed by a ``realtime`` query, market buys sized in the base coin, one
cancel-all per symbol, ``retCode`` errors on HTTP 200."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import orjson
import pytest
from session_cases import AckCases, SessionCases, SimAccount
from tickwire.errors import InsufficientFunds, OrderNotFound, OrderRejected, UnknownOutcome
from tickwire.trading.orders import Order
from tickwire.venues import bybit

KEY, SECRET = "bybit-trade-key", "bybit-trade-secret"

BYBIT = SimAccount(
    venue="bybit",
    symbol="BTCUSDT",
    key=KEY,
    signer=bybit.Signer(KEY, SECRET),
    register=lambda v: v.add_key(KEY, SECRET),
    place_op="POST /v5/order/create",
    unknown_symbol="NOPEUSDT",
    # Below BTCUSDT's maxOrderQty (71.73956243), so a sell of all of it and more reaches the venue.
    funds={"USDT": "1000000", "BTC": "50"},
)


class TestBybit(SessionCases, AckCases):
    acct = BYBIT
    status_op = "GET /v5/order/realtime"


def _order(n: int) -> Order:
    return Order(venue="bybit", symbol="BTCUSDT", side="buy", type="limit", qty=Decimal(1), client_id=f"c{n}")


def test_requests_are_the_documented_ones() -> None:
    g = bybit.Orders()
    limit = Order(
        venue="bybit", symbol="BTCUSDT", side="sell", type="limit", qty=Decimal("0.5"), price=Decimal("6E4"),
        tif="IOC", client_id="tw1",
    )  # fmt: skip
    placed = g.new_order(limit)
    assert (placed.method, placed.path, placed.params) == ("POST", "/v5/order/create", {})
    assert orjson.loads(placed.body) == {
        "category": "spot", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit", "qty": "0.5",
        "orderLinkId": "tw1", "price": "60000", "timeInForce": "IOC",
    }  # fmt: skip
    post = orjson.loads(g.new_order(replace(limit, post_only=True, tif="GTC")).body)
    assert post["timeInForce"] == "PostOnly"
    market = orjson.loads(g.new_order(replace(_order(1), type="market")).body)
    assert market["orderType"] == "Market" and market["marketUnit"] == "baseCoin"
    assert "price" not in market and "timeInForce" not in market
    st = g.status("BTCUSDT", "c1", None)
    assert (st.method, st.path, dict(st.params)) == (
        "GET", "/v5/order/realtime", {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "c1"},
    )  # fmt: skip
    assert orjson.loads(g.cancel("BTCUSDT", None, "42").body)["orderId"] == "42"
    every = g.cancel_all("BTCUSDT")
    assert every is not None and every.path == "/v5/order/cancel-all"
    assert orjson.loads(every.body) == {"category": "spot", "symbol": "BTCUSDT"}
    assert g.fills("BTCUSDT", 5).params["startTime"] == "5"
    assert g.instruments().signed is False and g.balances().params == {"accountType": "UNIFIED"}


def test_errors_come_from_retcode_on_http_200() -> None:
    g = bybit.Orders()
    answer = orjson.dumps
    ok = {"retCode": 0, "retMsg": "OK", "result": {"orderId": "1", "orderLinkId": "a"}}
    assert g.read_answer(200, answer(ok)) == ok["result"]
    [ack] = g.read_order(g.read_answer(200, answer(ok)))
    assert ack.status is None and ack.order_id == "1" and ack.client_id == "a"
    listed = {"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": [], "nextPageCursor": ""}}
    assert g.read_answer(200, answer(listed)) == []
    with pytest.raises(OrderNotFound):
        g.read_order([])
    with pytest.raises(OrderNotFound) as e:
        g.read_answer(200, answer({"retCode": 110001, "retMsg": "Order does not exist.", "result": {}}))
    assert g.not_found(e.value)
    with pytest.raises(InsufficientFunds):
        g.read_answer(200, answer({"retCode": 170131, "retMsg": "Insufficient balance.", "result": {}}))
    with pytest.raises(UnknownOutcome):
        g.read_answer(200, answer({"retCode": 10016, "retMsg": "Internal error.", "result": {}}))
    with pytest.raises(OrderRejected):
        g.read_answer(200, answer({"retCode": 10001, "retMsg": "params error", "result": {}}))
