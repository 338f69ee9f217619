"""``tickwire.trade("kraken")`` against the simulator: the shared cases (``session_cases``) and Kraken's
own — form-encoded ``/0/private/…`` calls, acknowledgements (``txid`` list, ``count``, ``amend_id``)
followed by ``QueryOrders``, a symbol's cancel-all as one CancelOrder per open order, errors in the
``error`` list of an HTTP 200 answer; the authenticated WebSocket v2 socket (``executions`` stream and
``add_order``/``cancel_order``/``amend_order``) with its ``GetWebSocketsToken`` token."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
from session_cases import AckCases, SessionCases, SimAccount, SocketCases, settle
from tickwire.errors import (
    AuthError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    TransportError,
    UnknownOutcome,
)
from tickwire.sim import Simulator
from tickwire.sim.market import BID
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.venues import kraken
from tickwire.venues.kraken.signer import SENT

# docs.kraken.com "Spot REST Authentication" worked example (venues.md §8).
DOC_SIGN = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
KEY = "kraken-trade-key"
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="

KRAKEN = SimAccount(
    venue="kraken",
    symbol="BTC/USDT",
    key=KEY,
    signer=kraken.Signer(KEY, SECRET),
    register=lambda v: v.add_key(KEY, SECRET),
    place_op="POST /0/private/AddOrder",
    amend_op="POST /0/private/AmendOrder",
    ws_place_op="add_order",
    unknown_symbol="NOPE/USDT",
)


class TestKraken(SessionCases, AckCases):
    acct = KRAKEN
    status_op = "POST /0/private/QueryOrders"

    def test_cancel_all_of_a_symbol_leaves_other_pairs_open(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            mine = [await a.rest_below(sim, tr, 10 + i) for i in range(2)]
            bid = sim.book("kraken", "BTC/USD", 1).bids[0][0]
            sim.fund("kraken", KEY, {"USD": "1000000"})
            other = await tr.place_order("BTC/USD", "buy", "limit", "0.001", bid - 5)
            done = await tr.cancel_all(a.symbol)
            assert sorted(o.client_id for o in done) == sorted(o.client_id for o in mine)
            assert [o.client_id for o in a.open(sim)] == [other.client_id]
            assert [o.client_id for o in await tr.open_orders("BTC/USD")] == [other.client_id]

        a.run(body)

    def test_a_lost_answer_for_a_filled_order_is_found_closed_by_client_id_with_its_fills_once(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            fills: list[Any] = []
            tr._user_on_fill = fills.append
            _, ask = a.touch(sim)
            qty = a.size(tr, ask, 3)
            sim.endpoint("kraken", 0).lose_answer(a.place_op)
            o = await tr.place_order(a.symbol, "buy", "limit", qty, ask, tif="IOC")
            [theirs] = a.orders(sim)
            # No txid was ever seen: ClosedOrders by cl_ord_id found it, TradesHistory gave its fills.
            assert theirs.client_id == o.client_id and o.status == "filled" and o.filled == qty
            assert o.order_id == str(theirs.id) and sim.endpoint("kraken", 0).lost == [a.place_op]
            assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
            assert len(fills) == len(theirs.fills)

        a.run(body, timeout=1.0)

    @pytest.mark.parametrize("transport", ["rest", "ws"])
    def test_a_fok_fills_whole_or_expires_unfilled_and_reduce_only_is_refused(self, transport: str) -> None:
        """FOK on AddOrder since 2026-05-12 (docs.kraken.com changelog; WS v2's add_order does not
        document it, so it goes over REST there too). Against the simulator's own orders: one below the
        best ask expires with nothing filled, one at the ask for what rests there fills whole. Before,
        ``InvalidOrder`` ("kraken spot has no FOK") refused both unsent. Reduce-only stays refused."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            bid, ask = a.touch(sim)
            missed = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask), bid, tif="FOK")
            [theirs] = a.orders(sim, missed.client_id)
            assert (theirs.status, theirs.filled, theirs.tif) == ("EXPIRED", 0, "FOK")
            assert (missed.status, missed.filled, missed.tif) == ("expired", 0, "FOK")
            taken = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask), ask, tif="FOK")
            [theirs] = a.orders(sim, taken.client_id)
            assert theirs.status == "FILLED" and (taken.status, taken.filled) == ("filled", taken.qty)
            with pytest.raises(InvalidOrder):
                await tr.place_order(a.symbol, "buy", "limit", a.size(tr, bid), bid, reduce_only=True)
            assert len(a.orders(sim)) == 2

        a.run(body, transport=transport)


# Documented request shapes and error reading -------------------------------------------------------


def isolated(test: Callable[[], None]) -> Callable[[], None]:
    """Runs ``test`` in a context of its own: what it sets in the grammar's context variables (as a
    session's task would) stays there."""

    @functools.wraps(test)
    def run() -> None:
        contextvars.Context().run(test)

    return run


def _order(**kw: Any) -> Order:
    base = {"venue": "kraken", "symbol": "BTC/USD", "side": "buy", "type": "limit", "qty": Decimal("1.25")}
    return Order(**{**base, "client_id": "tw-1", "price": Decimal("37500"), **kw})


def _grammar() -> kraken.Orders:
    g = kraken.Orders()
    # AssetPairs as docs.kraken.com "Get Tradable Asset Pairs" shows XXBTZUSD.
    pair = {
        "altname": "XBTUSD", "wsname": "XBT/USD", "base": "XXBT", "quote": "ZUSD", "pair_decimals": 1,
        "cost_decimals": 5, "lot_decimals": 8, "ordermin": "0.0001", "costmin": "0.5", "tick_size": "0.1",
    }  # fmt: skip
    rules = g.read_rules({"XXBTZUSD": pair})
    assert list(rules) == ["BTC/USD"] and rules["BTC/USD"].tick_size == Decimal("0.1")
    return g


@isolated
def test_an_order_the_grammar_refuses_before_sending_leaves_the_tracker_as_it_was() -> None:
    """Kraken spot has no reduce-only (margin only): ``InvalidOrder`` before anything is sent, and
    nothing tracked, reported or at the venue (the call is made before the order is registered)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        seen: list[Order] = []
        tr._user_on_order = seen.append
        bid, _ = KRAKEN.touch(sim)
        with pytest.raises(InvalidOrder, match="reduce-only"):
            await tr.place_order(KRAKEN.symbol, "buy", "limit", KRAKEN.size(tr, bid), bid, reduce_only=True)
        assert KRAKEN.orders(sim) == [] and list(tr.tracker) == [] and seen == []

    KRAKEN.run(body, private_stream=False)


def test_requests_are_the_documented_ones_and_sign_as_the_published_example() -> None:
    g = _grammar()
    placed = g.new_order(_order())
    assert (placed.method, placed.path, placed.body) == ("POST", "/0/private/AddOrder", "")
    assert dict(placed.params) == {
        "pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "1.25", "cl_ord_id": "tw-1",
        "price": "37500", "timeinforce": "GTC",
    }  # fmt: skip
    # The docs' example body, signed by the session's signer with its nonce first.
    doc = {k: placed.params[k] for k in ("ordertype", "pair", "price", "type", "volume")}
    req = kraken.Signer("key", SECRET).sign_request("POST", placed.path, doc, timestamp=1616492376594)
    assert req.body == "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    assert req.headers["API-Sign"] == DOC_SIGN
    post = g.new_order(_order(post_only=True, tif="IOC")).params
    assert post["oflags"] == "post" and post["timeinforce"] == "IOC"
    market = g.new_order(_order(type="market", price=None, side="sell")).params
    assert market["ordertype"] == "market" and "price" not in market and "timeinforce" not in market
    assert dict(g.cancel("BTC/USD", "tw-1", None).params) == {"cl_ord_id": "tw-1"}
    assert dict(g.cancel("BTC/USD", "tw-1", "OABC").params) == {"txid": "OABC"}
    assert g.status("BTC/USD", None, "OABC").path == "/0/private/QueryOrders"
    by_cid = g.status("BTC/USD", "tw-2", None)
    assert (by_cid.path, dict(by_cid.params)) == ("/0/private/ClosedOrders", {"cl_ord_id": "tw-2"})
    amend = g.amend(replace(_order(), order_id="OABC"), Decimal("0.5"), None)
    assert (amend.path, dict(amend.params)) == ("/0/private/AmendOrder", {"txid": "OABC", "order_qty": "0.5"})
    assert g.cancel_all("BTC/USD") is None and g.cancel_every_pair().path == "/0/private/CancelAll"
    assert dict(g.fills("BTC/USD", 1_700_000_000_500).params) == {"type": "all", "start": "1699999999"}
    assert g.instruments().signed is False and g.balances().path == "/0/private/BalanceEx"


def test_errors_come_from_the_error_list_on_http_200() -> None:
    g = kraken.Orders()

    def answer(errors: list[str]) -> bytes:
        return orjson.dumps({"error": errors})

    with pytest.raises(InsufficientFunds):
        g.read_answer(200, answer(["EOrder:Insufficient funds"]))
    with pytest.raises(OrderNotFound) as e:
        g.read_answer(200, answer(["EOrder:Unknown order"]))
    assert g.not_found(e.value) and e.value.code == "EOrder:Unknown order"  # type: ignore[attr-defined]
    with pytest.raises(OrderRejected):  # detail after a further colon still finds the code
        g.read_answer(200, answer(["EGeneral:Invalid arguments:volume"]))
    with pytest.raises(AuthError):
        g.read_answer(200, answer(["EAPI:Invalid nonce"]))
    with pytest.raises(RateLimitError):
        g.read_answer(200, answer(["EGeneral:Temporary lockout"]))
    for unknown in ("EService:Unavailable", "EService:Busy", "EGeneral:Internal error"):
        with pytest.raises(UnknownOutcome):
            g.read_answer(200, answer([unknown]))
    with pytest.raises(UnknownOutcome):
        g.read_answer(502, b"<html>bad gateway</html>")
    warned = {"error": ["WGeneral:Something to know"], "result": {"unixtime": 1}}
    assert g.read_answer(200, orjson.dumps(warned)) == {"unixtime": 1}  # a warning is not a refusal


@isolated
def test_acknowledgements_take_the_ids_their_request_named() -> None:
    g = _grammar()
    SENT.set(("/0/private/AddOrder", {"pair": "XBTUSD", "cl_ord_id": "tw-1"}))
    added = {"error": [], "result": {"descr": {"order": "buy 1.25 XBTUSD @ limit 37500"}, "txid": ["OX"]}}
    [ack] = g.read_order(g.read_answer(200, orjson.dumps(added)))
    assert (ack.source, ack.client_id, ack.order_id, ack.status) == ("ack", "tw-1", "OX", None)
    # The grammar remembers the txid: a status query by client id is QueryOrders.
    assert dict(g.status("BTC/USD", "tw-1", None).params) == {"txid": "OX", "trades": "true"}
    SENT.set(("/0/private/CancelOrder", {"cl_ord_id": "tw-1"}))
    [ack] = g.read_order(g.read_answer(200, orjson.dumps({"error": [], "result": {"count": 1}})))
    assert (ack.client_id, ack.status) == ("tw-1", None)
    # docs.kraken.com "Query Orders Info" example entry: closed, fully executed, pair altname.
    SENT.set(("/0/private/QueryOrders", {"txid": "OBCMZD-JIEE7-77TH3F"}))
    info = {
        "refid": None, "userref": 0, "cl_ord_id": "tw-1", "status": "closed", "opentm": 1688665496.7808,
        "closetm": 1688665499.1922, "descr": {"pair": "XBTUSD", "type": "buy", "ordertype": "limit",
        "price": "27500.0"}, "vol": "1.25000000", "vol_exec": "1.25000000", "cost": "27526.2",
        "fee": "26.2", "price": "27500.0",
    }  # fmt: skip
    body = g.read_answer(200, orjson.dumps({"error": [], "result": {"OBCMZD-JIEE7-77TH3F": info}}))
    [ev] = g.read_order(body)
    assert (ev.status, ev.symbol, ev.order_id, ev.filled_cum) == (
        "filled", "BTC/USD", "OBCMZD-JIEE7-77TH3F", Decimal("1.25"),
    )  # fmt: skip
    partial = {**info, "vol_exec": "0.5"}
    [ev] = g.read_order([{**partial, "txid": "O1"}])
    assert ev.status == "canceled" and ev.filled_cum == Decimal("0.5")  # closed with a remainder: IOC
    with pytest.raises(OrderNotFound):
        g.read_order([])


@isolated
def test_trades_and_balances_read_the_documented_shapes() -> None:
    g = _grammar()
    # docs.kraken.com "Query Trades Info" example entry (its pair key, XXBTZUSD).
    t = {
        "ordertxid": "OQCLML-BW3P3-BUCMWZ", "postxid": "TKH2SE-M7IF5-CFI7LT", "pair": "XXBTZUSD",
        "time": 1688667796.8802, "type": "buy", "ordertype": "limit", "price": "30010.00000",
        "cost": "600.20000", "fee": "0.00000", "vol": "0.02000000", "margin": "0.00000", "misc": "",
        "trade_id": 93748276, "maker": True,
    }  # fmt: skip
    SENT.set(("/0/private/TradesHistory", {"type": "all"}))
    g.fills("BTC/USD", None)
    body = g.read_answer(200, orjson.dumps({"error": [], "result": {"trades": {"THVRQM": t}, "count": 1}}))
    [f] = g.read_fills(body)
    assert (f.symbol, f.order_id, f.trade_id, f.qty, f.liquidity) == (
        "BTC/USD", "OQCLML-BW3P3-BUCMWZ", "93748276", Decimal("0.02"), "maker",
    )  # fmt: skip
    g.fills("ETH/USD", None)
    SENT.set(("/0/private/TradesHistory", {"type": "all"}))
    assert g.read_answer(200, orjson.dumps({"error": [], "result": {"trades": {"T": t}, "count": 1}})) == []
    bal = g.read_balances({"XXBT": {"balance": "1.5", "hold_trade": "0.5"}, "ZUSD": "10", "USDT": "2"})
    assert (bal["BTC"].free, bal["BTC"].locked, bal["USD"].free, bal["USDT"].total) == (
        Decimal(1), Decimal("0.5"), Decimal(10), Decimal(2),
    )  # fmt: skip


def test_the_simulators_asset_pairs_carry_the_rules() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules["BTC/USD"]
        inst = sim.venue("kraken").instruments["BTC/USD"]  # type: ignore[attr-defined]
        assert (r.tick_size, r.min_qty, r.min_notional) == (inst.tick, inst.min_qty, inst.min_notional)
        assert tr.grammar.pair("BTC/USD") == "XBTUSD"  # type: ignore[attr-defined]

    KRAKEN.run(body)


# The authenticated WebSocket v2 socket -------------------------------------------------------------


# ``tickwire.trade("kraken")`` runs the socket grammar: before each connect, the stream and the order
# socket fetch a token over REST (``login_call``), never over the socket that is connecting.
KRAKEN_WS = KRAKEN


class TestKrakenSocket(SocketCases):
    acct = KRAKEN_WS

    def test_the_executions_snapshot_reports_orders_placed_before_the_session(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            seen: list[Any] = []
            assert tr.stream is not None
            tr.tracker.adopt = lambda ev: True
            tr._user_on_order = seen.append
            bid, _ = a.touch(sim)
            inst = sim.venue("kraken").instruments[a.symbol]  # type: ignore[attr-defined]
            sim.endpoint("kraken", 0).drop()  # placed while nothing listens: only the snapshot tells
            sim.venue("kraken").engine.place(  # type: ignore[attr-defined]
                KEY, a.symbol, BID, "LIMIT", int(Decimal("0.001") / inst.lot), int((bid - 10) / inst.tick),
                "GTC", "before-1", 0,
            )  # fmt: skip
            await settle(lambda: tr.stream is not None and tr.stream.connects >= 2, "the stream back")
            await settle(lambda: any(o.client_id == "before-1" for o in seen), "the snapshot")

        a.run(body)

    def test_over_the_socket_place_amend_and_cancel_carry_the_token(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.orders_ws is not None and tr.orders_ws.connected
            sim.endpoint("kraken", 0).lose_answer("POST /0/private/AddOrder")  # would fire over REST
            o = await a.rest_below(sim, tr, 30, 4)
            assert o.status == "new" and sim.endpoint("kraken", 0).lost == []
            sim.endpoint("kraken", 0).lose_answer("POST /0/private/AddOrder", 0)
            assert o.price is not None
            tick = tr.rules[a.symbol].tick_size
            sim.endpoint("kraken", 0).lose_answer("amend_order")
            # The socket is cut with the answer; the order's state (a call the socket has no form of)
            # is asked over REST, so the lost amend is reconciled, not failed.
            lost = await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - tick)
            assert lost.price == o.price - tick
            [theirs] = a.orders(sim, o.client_id)
            inst = sim.venue("kraken").instruments[a.symbol]  # type: ignore[attr-defined]
            assert theirs.price * inst.tick == o.price - tick  # the venue did it; only the answer was lost
            assert sim.endpoint("kraken", 0).lost == ["amend_order"]
            await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connects >= 2, "the socket back")
            got = await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - 2 * tick)
            [theirs] = a.orders(sim, o.client_id)  # an amend that moves the price requeues a new object
            assert got.price == o.price - 2 * tick and theirs.price * inst.tick == got.price
            c = await tr.cancel_order(a.symbol, client_id=o.client_id)
            assert c.status == "canceled" and not theirs.open

        a.run(body, transport="ws", timeout=1.0)


def test_ws_requests_are_the_documented_v2_methods() -> None:
    g = kraken.SocketOrders()
    _grammar_into(g)
    assert g.ws_request(g.new_order(_order()), None, "tw1") is None  # no token yet: REST
    g.read_login_call({"token": "TOKEN", "expires": 900})
    placed = g.ws_request(g.new_order(_order(post_only=True)), None, "tw1")
    assert placed is not None and b'"order_qty":1.25' in placed and b'"limit_price":37500' in placed
    msg = orjson.loads(placed)
    assert msg["method"] == "add_order" and msg["req_id"] == 1  # the socket's request id tw1
    assert msg["params"] == {
        "order_type": "limit", "side": "buy", "order_qty": 1.25, "symbol": "BTC/USD", "limit_price": 37500,
        "time_in_force": "gtc", "post_only": True, "cl_ord_id": "tw-1", "token": "TOKEN",
    }  # fmt: skip
    cancel = orjson.loads(g.ws_request(g.cancel("BTC/USD", "tw-1", None), None, "tw2") or b"")
    assert cancel["method"] == "cancel_order" and cancel["params"] == {
        "cl_ord_id": ["tw-1"],
        "token": "TOKEN",
    }
    amend = g.ws_request(g.amend(replace(_order(), order_id="OX"), None, Decimal("37499.9")), None, "tw3")
    assert orjson.loads(amend or b"")["params"] == {
        "order_id": "OX",
        "limit_price": 37499.9,
        "token": "TOKEN",
    }
    assert g.ws_request(g.status("BTC/USD", "tw-1", None), None, "tw4") is None
    assert g.ws_answer_id({"method": "add_order", "req_id": 7, "success": True}) == "tw7"
    with pytest.raises(InsufficientFunds):
        g.read_ws_answer(
            {"method": "add_order", "req_id": 7, "success": False, "error": "EOrder:Insufficient funds"}
        )
    ok = {
        "method": "add_order",
        "req_id": 7,
        "success": True,
        "result": {"order_id": "OX", "cl_ord_id": "tw-1"},
    }
    [ack] = g.read_order(g.read_ws_answer(ok))
    assert (ack.client_id, ack.order_id, ack.status) == ("tw-1", "OX", None)


def _grammar_into(g: kraken.Orders) -> None:
    pair = {"altname": "XBTUSD", "wsname": "XBT/USD", "pair_decimals": 1, "lot_decimals": 8}
    g.read_rules({"XXBTZUSD": pair})


def test_executions_reports_become_states_and_fills_once() -> None:
    g = kraken.SocketOrders()
    trade = {
        "order_id": "OX", "cl_ord_id": "tw-1", "symbol": "BTC/USD", "side": "buy", "order_type": "limit",
        "order_qty": 1.25, "limit_price": 37500, "order_status": "partially_filled", "exec_type": "trade",
        "exec_id": "TX", "trade_id": 42, "last_qty": 0.25, "last_price": 37500, "liquidity_ind": "m",
        "cum_qty": 0.25, "avg_price": 37500, "fees": [{"asset": "USD", "qty": 0.5}],
        "timestamp": "2023-09-22T10:33:05.709950Z",
    }  # fmt: skip
    [ev] = g.read_stream({"channel": "executions", "type": "update", "data": [trade]})
    assert ev.source == "stream" and ev.status == "partially_filled" and ev.filled_cum == Decimal("0.25")
    assert ev.fill is not None and ev.fill.trade_id == "42" and ev.fill.qty == Decimal("0.25")
    assert ev.fill.fee == Decimal("0.5") and ev.fill.liquidity == "maker"
    assert ev.ts_ns == 1695378785709950000
    amended = {**trade, "exec_type": "amended", "order_qty": 2, "order_status": "new", "cum_qty": 0}
    [ev] = g.read_stream({"channel": "executions", "type": "update", "data": [amended]})
    assert ev.fill is None and ev.qty == 2 and ev.status == "new"
    assert g.read_stream({"channel": "heartbeat"}) == []
    assert g.stream_ack({"method": "subscribe", "result": {"channel": "executions"}, "success": True})
    with pytest.raises(AuthError):  # the set-up fails at once, not at its time-out
        g.stream_ack({"method": "subscribe", "error": "EAPI:Invalid key", "success": False})


def test_over_the_order_socket_a_call_while_it_is_down_is_refused_typed_and_unsent() -> None:
    """``transport="ws"`` with the order socket down: a place or cancel the venue takes on it is
    refused unsent with ``TransportError``, the order left as it was (``test_exactly_once_random``'s
    Kraken socket run, seed 14: before, the check that the venue has a socket form of the call built
    it with the request id "probe", which Kraken's v2 ``req_id`` refuses — ``ValueError`` raised from
    ``cancel_all``)."""
    a = KRAKEN

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 10)
        ws = tr.orders_ws
        assert ws is not None
        await sim.endpoint(a.venue, 0).down(2.0)
        await settle(lambda: not ws.connected, "the order socket down")
        with pytest.raises(TransportError):
            await tr.cancel_order(a.symbol, client_id=o.client_id)
        with pytest.raises(TransportError):
            await a.rest_below(sim, tr, 11)
        assert tr.tracker.get(o.client_id) == o and a.orders(sim, o.client_id)[0].open

    a.run(body, transport="ws")
