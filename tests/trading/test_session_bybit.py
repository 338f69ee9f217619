"""``tickwire.trade("bybit")`` against the simulator: the shared cases (``session_cases``) and Bybit's
own — acknowledgements followed by a ``realtime`` query, market buys sized in the base coin, one
cancel-all per symbol, ``retCode`` errors on HTTP 200; the private stream (``auth``, then the
``order.spot``/``execution.spot`` topics) and the trade socket's ``order.create``/``order.amend``/
``order.cancel`` ops, over ``transport="ws"`` and ``"auto"``."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass, fields, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import orjson
import pytest
from session_cases import AckCases, Body, SessionCases, SimAccount, SocketCases, settle
from tickwire.errors import (
    AuthError,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    UnknownOutcome,
)
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Page
from tickwire.venues import bybit

KEY, SECRET = "bybit-trade-key", "bybit-trade-secret"

BYBIT = SimAccount(
    venue="bybit",
    symbol="BTCUSDT",
    key=KEY,
    signer=bybit.Signer(KEY, SECRET),
    register=lambda v: v.add_key(KEY, SECRET),
    place_op="POST /v5/order/create",
    ws_place_op="order.create",
    amend_op="POST /v5/order/amend",
    unknown_symbol="NOPEUSDT",
    # Below BTCUSDT's maxOrderQty (71.73956243), so a sell of all of it and more reaches the venue.
    funds={"USDT": "1000000", "BTC": "50"},
    short_window_signer=bybit.Signer(KEY, SECRET, recv_window=1000),
)


@dataclass(frozen=True)
class OverTheSocket(SimAccount):
    """The account with its sessions on ``transport`` (a case's own choice wins); a lost answer to a
    place is the trade socket's ``order.create``."""

    transport: str = "ws"

    def run(self, body: Body, **trade_kw: Any) -> None:
        super().run(body, **{"transport": self.transport, **trade_kw})


def _over(transport: str) -> OverTheSocket:
    plain = {f.name: getattr(BYBIT, f.name) for f in fields(SimAccount)}
    return OverTheSocket(**{**plain, "place_op": "order.create"}, transport=transport)


BYBIT_WS, BYBIT_AUTO = _over("ws"), _over("auto")


class TestBybit(SessionCases, AckCases):
    acct = BYBIT
    status_op = "GET /v5/order/realtime"


class TestBybitWs(SocketCases):
    acct = BYBIT_WS


class TestBybitAuto(SocketCases):
    acct = BYBIT_AUTO


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
    mine = g.order_fills("BTCUSDT", "42")
    assert (mine.path, mine.params) == (
        "/v5/execution/list", {"category": "spot", "symbol": "BTCUSDT", "orderId": "42", "limit": "100"},
    )  # fmt: skip
    # The next page by the cursor answered; an empty page ends the listing whatever cursor it names.
    assert g.next_page(mine, Page([{}], "c2")) == mine.with_param("cursor", "c2")
    assert g.next_page(mine, Page([], "c2")) is None and g.next_page(mine, Page([{}], None)) is None
    # A search by time is a week at a time (the most one answer spans), the next week after the last,
    # cursor dropped, until a week reaches the present.
    week = 7 * 86_400_000
    since = g.fills("BTCUSDT", 5)
    assert (since.params["startTime"], since.params["endTime"]) == ("5", str(5 + week))
    nxt = g.next_page(since.with_param("cursor", "c9"), Page([], None))
    assert nxt is not None and "cursor" not in nxt.params
    assert (nxt.params["startTime"], nxt.params["endTime"]) == (str(6 + week), str(6 + 2 * week))
    assert g.next_page(g.fills("BTCUSDT", int(time.time() * 1000)), Page([], None)) is None


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


def test_a_server_timeout_is_an_unknown_outcome_and_the_rate_codes_are_rate_limits() -> None:
    # bybit-exchange.github.io/docs/v5/error: "10000 Server Timeout" (the order may exist: reconcile,
    # never record it rejected), "10018 Exceeded the IP Rate Limit." and, on the trade socket, "20003
    # Too frequent requests under the same session" (wait and send again, not a rejection). Bybit
    # answers them with HTTP 200, as every retCode.
    g = bybit.Orders()
    timeout = {"retCode": 10000, "retMsg": "Server Timeout", "result": {}}
    with pytest.raises(UnknownOutcome):
        g.read_answer(200, orjson.dumps(timeout))
    ws = {"reqId": "tw1", "op": "order.create", "data": {}}
    with pytest.raises(UnknownOutcome):
        g.read_ws_answer({**ws, "retCode": 10000, "retMsg": "Server Timeout"})
    with pytest.raises(RateLimitError):
        g.read_answer(
            200, orjson.dumps({"retCode": 10018, "retMsg": "Exceeded the IP Rate Limit.", "result": {}})
        )
    with pytest.raises(RateLimitError):
        g.read_ws_answer({**ws, "retCode": 20003, "retMsg": "Too frequent requests under the same session"})
    # An IP refusal blocks the IP limit, as the HTTP 403 does.
    assert [lim.name for lim in g.limits if "10018" in lim.codes] == ["IP"]


# The sockets: /v5/private (the order and execution topics) and /v5/trade (order ops), auth first -------

CLOCK_MS = 1711001595207  # the trade guideline's request example's X-BAPI-TIMESTAMP


def _hex(msg: str) -> str:
    return hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()


def test_both_sockets_log_in_with_the_documented_auth_op() -> None:
    g = bybit.Orders()
    signer = bybit.Signer(KEY, SECRET, recv_window=8000, clock=lambda: CLOCK_MS)
    expires = CLOCK_MS + 10_000
    # docs/v5/ws/connect: ["api_key", expires, hex(HMAC_SHA256(secret, "GET/realtime" + expires))]
    assert orjson.loads(g.login(signer) or b"") == {
        "op": "auth",
        "args": [KEY, expires, _hex(f"GET/realtime{expires}")],
    }
    # The documented acceptances: /v5/private ("success") and /v5/trade ("retCode").
    assert g.login_ack({"success": True, "ret_msg": "", "op": "auth", "conn_id": "cejreaspqfh3sjdnldmg-p"})
    assert g.login_ack({"retCode": 0, "retMsg": "OK", "op": "auth", "connId": "cnt5leec0hvan15eukcg-2t"})
    assert g.login_ack({"retCode": 20001, "retMsg": "Repeat auth", "op": "auth", "connId": "c"})
    with pytest.raises(AuthError) as e:
        g.login_ack({"retCode": 10004, "retMsg": "Invalid sign", "op": "auth", "connId": "c"})
    assert e.value.code == 10004
    with pytest.raises(AuthError):
        g.login_ack({"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": "c"})
    assert not g.login_ack({"success": True, "ret_msg": "", "op": "subscribe", "conn_id": "c"})
    assert not g.login_ack({"retCode": 0, "retMsg": "OK", "op": "pong", "data": ["1711002002529"]})
    # Then the spot topics, categorised (an all-in-one and a categorised topic may not share a request).
    assert orjson.loads(g.stream_subscribe(signer)) == {
        "op": "subscribe",
        "args": ["order.spot", "execution.spot"],
    }
    assert g.stream_ack(
        {"success": True, "ret_msg": "", "op": "subscribe", "conn_id": "cejreassvfrsfvb9v1a0-2m"}
    )
    assert not g.stream_ack({"success": False, "ret_msg": "error:handler not found", "op": "subscribe"})
    assert (g.stream_label, g.ws_label) == ("private", "trade")
    ws = bybit.Adapter.production[0]["ws"]
    assert (ws["private"], ws["trade"]) == (
        "wss://stream.bybit.com/v5/private",
        "wss://stream.bybit.com/v5/trade",
    )


def test_ws_requests_carry_the_header_timestamp_and_the_rest_bodies() -> None:
    g = bybit.Orders()
    signer = bybit.Signer(KEY, SECRET, recv_window=8000, clock=lambda: CLOCK_MS)
    limit = replace(_order(1), price=Decimal("2800"), post_only=True)
    tracked = replace(limit, order_id="1551741421621614080")
    calls = {
        "order.create": g.new_order(limit),
        "order.amend": g.amend(tracked, Decimal("0.3"), None),
        "order.cancel": g.cancel("BTCUSDT", "c1", None),
    }
    for op, call in calls.items():
        data = g.ws_request(call, signer, "tw7")
        assert data is not None
        msg = orjson.loads(data)
        # The guideline's request example: reqId, header {X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW}, op, args.
        assert list(msg) == ["reqId", "header", "op", "args"]
        assert msg["header"] == {"X-BAPI-TIMESTAMP": "1711001595207", "X-BAPI-RECV-WINDOW": "8000"}
        assert msg["op"] == op and msg["args"] == [orjson.loads(call.body)]
        assert msg["reqId"].startswith("tw7-") and len(msg["reqId"]) <= 36
        # The answer carries the tagged reqId back; its id is the one the request was made with,
        # the one the socket (or an order template) waits under.
        assert g.ws_answer_id(msg) == "tw7"
        assert bybit.Orders().ws_answer_id(msg) == msg["reqId"]  # not another session's "tw7"
    assert orjson.loads(calls["order.amend"].body) == {
        "category": "spot", "symbol": "BTCUSDT", "orderId": "1551741421621614080", "qty": "0.3",
    }  # fmt: skip
    reprice = orjson.loads(g.amend(tracked, None, Decimal("2799.5")).body)
    assert reprice["price"] == "2799.5" and "qty" not in reprice
    # Queries and cancel-all have no trade-socket op: they stay REST.
    for rest_only in (g.status("BTCUSDT", "c1", None), g.open_orders("BTCUSDT"), g.cancel_all("BTCUSDT")):
        assert rest_only is not None and g.ws_request(rest_only, signer, "x") is None
    # Another session's grammar tags its reqIds apart (Bybit refuses a repeated reqId, 20006).
    other = orjson.loads(bybit.Orders().ws_request(calls["order.cancel"], signer, "tw7") or b"")
    assert other["reqId"] != orjson.loads(g.ws_request(calls["order.cancel"], signer, "tw7") or b"")["reqId"]


def test_ws_answers_are_the_rest_results_and_retcodes() -> None:
    g = bybit.Orders()
    # The guideline's response example.
    answer = {
        "reqId": "test-005", "retCode": 0, "retMsg": "OK", "op": "order.create",
        "data": {"orderId": "a4c1718e-fe53-4659-a118-1f6ecce04ad9", "orderLinkId": ""}, "retExtInfo": {},
        "header": {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "9",
                   "X-Bapi-Limit-Reset-Timestamp": "1711001595208",
                   "Traceid": "38b7977b430f9bd228f4b19724794dfd", "Timenow": "1711001595209"},
        "connId": "cnt5leec0hvan15eukcg-2v",
    }  # fmt: skip
    assert g.ws_answer_id(answer) == "test-005"
    [ack] = g.read_order(g.read_ws_answer(answer))
    assert ack.status is None and ack.order_id == "a4c1718e-fe53-4659-a118-1f6ecce04ad9"
    assert orjson.loads(g.socket_ping()) == {"op": "ping"}
    trade_pong = {"retCode": 0, "retMsg": "OK", "op": "pong", "data": ["1711002002529"], "connId": "c"}
    assert g.ws_answer_id(trade_pong) is None and g.is_socket_pong(orjson.dumps(trade_pong))
    assert not g.is_socket_pong(orjson.dumps(answer))
    for code, error in (
        (10001, OrderRejected),
        (20006, DuplicateOrder),
        (10016, UnknownOutcome),
        (110007, InsufficientFunds),
    ):
        with pytest.raises(error):
            g.read_ws_answer({**answer, "retCode": code, "retMsg": "refused", "data": {}})


# docs/v5/websocket/private/order.mdx and execution.mdx "Stream Example" (an option order and a linear
# execution there: read as spot below, the category being the only field the spot reader filters on).
ORDER_PUSH: dict[str, Any] = {
    "id": "5923240c6880ab-c59f-420b-9adb-3639adc9dd90", "topic": "order", "creationTime": 1672364262474,
    "data": [{
        "symbol": "ETH-30DEC22-1400-C", "orderId": "5cf98598-39a7-459e-97bf-76ca765ee020", "side": "Sell",
        "orderType": "Market", "cancelType": "UNKNOWN", "price": "72.5", "qty": "1", "orderIv": "",
        "timeInForce": "IOC", "orderStatus": "Filled", "orderLinkId": "", "lastPriceOnCreated": "",
        "reduceOnly": False, "leavesQty": "", "leavesValue": "", "cumExecQty": "1", "cumExecValue": "75",
        "avgPrice": "75", "blockTradeId": "", "positionIdx": 0, "cumExecFee": "0.358635", "closedPnl": "0",
        "createdTime": "1672364262444", "updatedTime": "1672364262457", "rejectReason": "EC_NoError",
        "stopOrderType": "", "tpslMode": "", "triggerPrice": "", "takeProfit": "", "stopLoss": "",
        "tpTriggerBy": "", "slTriggerBy": "", "tpLimitPrice": "", "slLimitPrice": "", "triggerDirection": 0,
        "triggerBy": "", "closeOnTrigger": False, "category": "option", "placeType": "price",
        "smpType": "None", "smpGroup": 0, "smpOrderId": "", "feeCurrency": "",
        "cumFeeDetail": {"MNT": "0.00242968"}, "rpiTakerAccess": False, "rpiMatchedQty": "0",
    }],
}  # fmt: skip
EXECUTION_PUSH: dict[str, Any] = {
    "topic": "execution", "id": "386825804_BTCUSDT_140612148849382", "creationTime": 1746270400355,
    "data": [{
        "category": "linear", "symbol": "BTCUSDT", "closedSize": "0.5", "execFee": "26.3725275",
        "execId": "0ab1bdf7-4219-438b-b30a-32ec863018f7", "execPrice": "95900.1", "execQty": "0.5",
        "execType": "Trade", "execValue": "47950.05", "feeRate": "0.00055", "tradeIv": "", "markIv": "",
        "blockTradeId": "", "markPrice": "95901.48", "indexPrice": "", "underlyingPrice": "",
        "leavesQty": "0",
        "orderId": "9aac161b-8ed6-450d-9cab-c5cc67c21784", "orderLinkId": "", "orderPrice": "94942.5",
        "orderQty": "0.5", "orderType": "Market", "stopOrderType": "UNKNOWN", "side": "Sell",
        "execTime": "1746270400353", "isLeverage": "0", "isMaker": False, "seq": 140612148849382,
        "marketUnit": "", "execPnl": "0.05", "createType": "CreateByUser",
        "extraFees": [{"feeCoin": "USDT", "feeType": "GST", "subFeeType": "IND_GST", "feeRate": "0.0000675",
                       "fee": "0.006403779"}],
        "feeCurrency": "USDT",
    }],
}  # fmt: skip


def _as_spot(push: dict[str, Any], topic: str, **changes: Any) -> dict[str, Any]:
    return {**push, "topic": topic, "data": [{**push["data"][0], "category": "spot", **changes}]}


def test_order_pushes_are_the_orders_state() -> None:
    g = bybit.Orders()
    assert g.read_stream(ORDER_PUSH) == []  # an option order: not this spot session's
    for topic in ("order", "order.spot"):
        [ev] = g.read_stream(_as_spot(ORDER_PUSH, topic))
        assert ev.source == "stream" and ev.fill is None and ev.reason == ""
        assert (ev.order_id, ev.client_id) == ("5cf98598-39a7-459e-97bf-76ca765ee020", "")
        assert (ev.status, ev.filled_cum, ev.avg_price) == ("filled", 1, 75)
        # For spot cumFeeDetail replaces the deprecated cumExecFee (the docs' order.mdx).
        assert (ev.fee_cum, ev.fee_asset) == (Decimal("0.00242968"), "MNT")
        assert (ev.side, ev.type, ev.tif, ev.qty, ev.price) == ("sell", "market", "IOC", 1, None)
        assert ev.ts_ns == 1672364262457 * 1_000_000
    resting = _as_spot(ORDER_PUSH, "order.spot", orderType="Limit", timeInForce="PostOnly", orderStatus="New",
                       cumExecQty="0", avgPrice="", cumExecFee="0", cumFeeDetail={})  # fmt: skip
    [ev] = g.read_stream(resting)
    assert (ev.status, ev.filled_cum, ev.avg_price, ev.fee_cum) == ("new", 0, None, 0)
    assert (ev.type, ev.price, ev.tif) == ("limit", Decimal("72.5"), "GTC")  # post-only rests GTC
    [ev] = g.read_stream(_as_spot(ORDER_PUSH, "order", cumFeeDetail=None, feeCurrency="USDT"))
    assert (ev.fee_cum, ev.fee_asset) == (Decimal("0.358635"), "USDT")  # the deprecated fields, where alone
    [ev] = g.read_stream(_as_spot(ORDER_PUSH, "order", cumFeeDetail={"BTC": "0.1", "MNT": "0.2"}))
    assert (ev.fee_cum, ev.fee_asset) == (None, None)  # no one total
    refused = _as_spot(ORDER_PUSH, "order.spot", orderStatus="Cancelled", cumExecQty="0",
                       rejectReason="EC_PostOnlyWillTakeLiquidity")  # fmt: skip
    [ev] = g.read_stream(refused)
    assert ev.status == "canceled" and ev.reason == "EC_PostOnlyWillTakeLiquidity"


def test_execution_pushes_are_fills_with_exec_ids() -> None:
    g = bybit.Orders()
    assert g.read_stream(EXECUTION_PUSH) == []  # a linear execution
    for topic in ("execution", "execution.spot"):
        [ev] = g.read_stream(_as_spot(EXECUTION_PUSH, topic))
        f = ev.fill
        assert ev.source == "stream" and ev.status is None and ev.filled_cum is None and f is not None
        assert (f.trade_id, f.order_id, f.client_id) == (
            "0ab1bdf7-4219-438b-b30a-32ec863018f7", "9aac161b-8ed6-450d-9cab-c5cc67c21784", "",
        )  # fmt: skip
        assert (f.side, f.price, f.qty, f.liquidity) == ("sell", Decimal("95900.1"), Decimal("0.5"), "taker")
        assert (f.fee, f.fee_asset, f.ts_ns) == (Decimal("26.3725275"), "USDT", 1746270400353 * 1_000_000)
        assert (ev.order_id, ev.symbol) == (f.order_id, "BTCUSDT")
    two = _as_spot(EXECUTION_PUSH, "execution.spot")
    two["data"].append({**two["data"][0], "execId": "e2", "isMaker": True, "execType": "Funding"})
    assert [ev.fill.trade_id for ev in g.read_stream(two) if ev.fill] == [
        "0ab1bdf7-4219-438b-b30a-32ec863018f7"
    ]
    private_pong = {"req_id": "test", "op": "pong", "args": ["1675418560633"], "conn_id": "c"}  # the docs'
    for other in (
        private_pong,
        {"topic": "wallet", "data": [{}]},
        {"success": True, "op": "subscribe"},
        "x",
    ):
        assert g.read_stream(other) == []


def test_after_a_cut_both_sockets_log_in_again_and_the_stream_reports_new_fills() -> None:
    a = BYBIT_WS

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.orders_ws is not None
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.stream is not None and tr.stream.connects >= 2, "the stream back")
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connects >= 2, "the socket back")
        # With transport="ws" the create goes over the trade socket, which takes it only after an auth.
        before = tr.stream.events
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        _, ask = a.touch(sim)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask, 2), ask, tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        want = sorted(str(f.trade_id) for f in theirs.fills)
        assert o.status == "filled" and want
        # Subscribed again on the new connection: its order state and each execution are pushed.
        await settle(lambda: tr.stream is not None and tr.stream.events >= before + len(want) + 1, "pushes")
        assert sorted(f.trade_id for f in fills) == want  # each once, though REST and the stream carry it

    a.run(body)


def test_a_template_order_on_the_trade_socket_is_settled_by_its_answer() -> None:
    """The template writes under the socket's request id and the tagged reqId comes back: the answer
    settles the send (not the 5 s time-out and a reconciliation), the order as the simulator has it."""
    a = BYBIT_WS

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        price = bid - 10 * tr.rules[a.symbol].tick_size
        qty = a.size(tr, price, 2)
        before = tr.orders_ws.connects if tr.orders_ws is not None else -1
        o = await asyncio.wait_for(tr.template(a.symbol, "buy").send(price, qty), 1.0)
        [theirs] = a.orders(sim, o.client_id)
        assert (o.status, o.order_id) == ("new", str(theirs.id)) and theirs.open
        assert tr.orders_ws is not None and tr.orders_ws.connects == before  # over the one socket

    a.run(body)


def test_rest_amend_cancel_over_the_trade_socket_and_a_lost_amend_answer() -> None:
    a = BYBIT_AUTO  # the lost answer is reconciled over REST while the socket is back on its way

    async def body(sim: Simulator, tr: TradingSession) -> None:
        inst = sim.venue(a.venue).instruments[a.symbol]
        tick = tr.rules[a.symbol].tick_size
        o = await a.rest_below(sim, tr, 40, 3)
        assert o.price is not None

        def theirs() -> tuple[Decimal, Decimal, bool]:
            [x] = a.orders(sim, o.client_id)
            return x.qty * inst.lot, x.price * inst.tick, x.open

        got = await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3, price=o.price - tick)
        assert (got.qty, got.price, got.order_id) == (o.qty * 2 / 3, o.price - tick, o.order_id)
        assert theirs() == (got.qty, got.price, True)
        # The amend's answer lost with the socket (the op proves it went over the socket): reconciled.
        sim.endpoint(a.venue, 0).lose_answer("order.amend")
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket")
        moved = await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - 2 * tick)
        assert sim.endpoint(a.venue, 0).lost == ["order.amend"]
        assert moved.price == o.price - 2 * tick and theirs() == (got.qty, moved.price, True)
        assert len(a.orders(sim)) == 1
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket back")
        c = await tr.cancel_order(a.symbol, client_id=o.client_id)
        assert c.status == "canceled" and not theirs()[2]

    a.run(body, timeout=1.0)


def test_a_spot_order_below_the_listed_min_qty_but_worth_the_min_amount_is_placed() -> None:
    """Bybit lists spot's ``minOrderQty`` and no longer checks it ("deprecated, no longer check
    minOrderQty, check minOrderAmt instead": docs v5/market/instrument): an order below it worth at
    least ``minOrderAmt`` rests at the venue (the simulator's own book), and one worth less is refused
    before sending, naming ``min_notional``. Before, the first was refused here (``InvalidOrder``:
    ``qty … is below min_qty 0.000048``), an order the venue takes."""
    a = BYBIT

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules[a.symbol]
        bid, _ = a.touch(sim)
        price = bid - 10 * r.tick_size
        assert r.min_notional is not None
        qty = (r.min_notional / price / r.lot_size).to_integral_value(rounding=ROUND_CEILING) * r.lot_size
        assert qty < Decimal("0.000048")  # what Bybit lists as minOrderQty
        o = await tr.place_order(a.symbol, "buy", "limit", qty, price)
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open and o.status == "new" and o.qty == qty
        with pytest.raises(InvalidOrder) as e:
            await tr.place_order(a.symbol, "buy", "limit", qty - r.lot_size, price)
        assert e.value.rule == "min_notional" and len(a.orders(sim)) == 1

    a.run(body)


def test_a_spot_post_only_order_may_be_five_times_the_limit_orders_largest() -> None:
    """Bybit spot: "For post-only and retail price improvement (RPI) orders, the maximum limit order
    quantity is 5x maxLimitOrderQty" (docs v5/market/instrument; ``postOnlyMaxLimitOrderSize``). A
    post-only sell of three times ``maxLimitOrderQty`` — by ``place_order``, then by a post-only
    template, then a resting one amended to four times — rests at the venue (the simulator's own
    book); a plain limit order of that size, and a post-only one past five times, are refused before
    sending, naming ``max_qty``, nothing at the venue. Before, every post-only order past
    ``maxLimitOrderQty`` was refused here (``InvalidOrder``: ``qty … is above max_qty``), orders the
    venue takes."""
    a = replace(BYBIT, funds={"USDT": "1000000", "BTC": "2000"})

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules[a.symbol]
        assert r.max_qty is not None
        inst = sim.venue(a.venue).instruments[a.symbol]

        def at_venue(cid: str) -> Decimal:
            [theirs] = a.orders(sim, cid)
            assert theirs.open and theirs.post_only
            return Decimal(inst.qty(theirs.qty))

        def times(n: int) -> Decimal:  # n x maxLimitOrderQty, on the lot grid (it is not itself)
            return (n * r.max_qty / r.lot_size).to_integral_value(rounding=ROUND_FLOOR) * r.lot_size

        _, ask = a.touch(sim)
        price = ask + 50 * r.tick_size
        big = times(3)
        o = await tr.place_order(a.symbol, "sell", "limit", big, price, post_only=True)
        assert at_venue(o.client_id) == big and o.status == "new" and o.qty == big
        assert r.post_only_max_qty == 5 * r.max_qty  # postOnlyMaxLimitOrderSize as the venue lists it
        for qty, post_only in ((big, False), (times(5) + r.lot_size, True)):
            with pytest.raises(InvalidOrder) as e:
                await tr.place_order(a.symbol, "sell", "limit", qty, price, post_only=post_only)
            assert e.value.rule == "max_qty" and len(a.orders(sim)) == 1
        tmpl = tr.template(a.symbol, "sell", post_only=True)
        sent = await asyncio.wait_for(tmpl.send(price + r.tick_size, big), 1.0)
        assert at_venue(sent.client_id) == big and sent.status == "new"
        with pytest.raises(InvalidOrder) as e:
            tr.template(a.symbol, "sell").rules.validate("sell", "limit", big, price)
        assert e.value.rule == "max_qty"
        amended = await tr.amend_order(a.symbol, client_id=o.client_id, qty=times(4))
        assert at_venue(o.client_id) == times(4) == amended.qty and len(a.orders(sim)) == 2

    a.run(body)


def test_an_order_the_venue_takes_late_within_its_recv_window_is_found_not_called_not_placed() -> None:
    """The venue handles the place 1.2 s after it arrives (its queue), past the session's 0.5 s
    time-out, within the request's 2 s ``recv_window``. Reconciliation waits the window out before
    calling the order absent, and finds it: the caller gets the order, the venue holds it once.
    Before, "not placed" came after ~0.6 s of queries (``TransportError: bybit: order … was not
    placed``) and the venue placed it a moment later — an order its caller was told to send again."""
    a = replace(BYBIT, signer=bybit.Signer(KEY, SECRET, recv_window=2000))

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.request_window_s() is not None  # its recv_window
        await a.place_taken_late(sim, tr)

    a.run(body, private_stream=False, timeout=0.5)
