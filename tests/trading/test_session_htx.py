"""``tickwire.trade("htx")`` against the simulator: the shared cases (``session_cases``) and HTX's own —
the spot account id looked up once at start, orders as a batch of one whose answer names both ids,
cancels by client id through ``batchcancel``, market buys refused (HTX sizes them in the quote
currency), ``err-code`` errors; the ``/ws/v2`` ``orders#*`` private stream after Signature V2.1 auth."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import orjson
import pytest
import tickwire
from session_cases import AckCases, SessionCases, SimAccount, SocketCases, settle
from tickwire.errors import (
    AuthError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderRejected,
    UnknownOutcome,
    VenueError,
)
from tickwire.sim import Simulator
from tickwire.streams import Endpoint
from tickwire.trading.orders import Fill, Order
from tickwire.trading.session import TradingSession
from tickwire.venues import htx

KEY, SECRET = "htx-trade-key", "htx-trade-secret"

HTX = SimAccount(
    venue="htx",
    symbol="btcusdt",
    key=KEY,
    signer=htx.Signer(KEY, SECRET),
    register=lambda v: v.add_key(KEY, SECRET),
    place_op="POST /v1/order/batch-orders",
    unknown_symbol="nopeusdt",
)


class TestHtx(SessionCases, AckCases, SocketCases):
    acct = HTX
    # After an ack naming the order id the state is asked by that id; the simulator's engine numbers
    # orders from 1000001, so the first order's state query is this one.
    status_op = "GET /v1/order/orders/1000001"

    @pytest.mark.skip(reason="HTX sizes a market buy in the quote currency: refused, see test below")
    def test_a_market_buy_is_sized_in_the_base_asset_and_fills(self) -> None: ...

    @pytest.mark.skip(reason="HTX has no spot order WebSocket: orders go over REST only")
    def test_over_the_order_socket_a_socket_cut_mid_request_is_reconciled_into_one_order(self) -> None: ...

    def test_a_market_buy_is_refused_before_sending_and_a_market_sell_fills(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            bid, ask = a.touch(sim)
            with pytest.raises(InvalidOrder) as e:
                await tr.place_order(a.symbol, "buy", "market", a.size(tr, ask, 3))
            assert e.value.rule == "type" and "quote currency" in str(e.value)
            assert a.orders(sim) == []  # nothing reached the venue
            btc = a.free(sim, "BTC")
            qty = a.size(tr, bid, 3)
            o = await tr.place_order(a.symbol, "sell", "market", qty)
            [theirs] = a.orders(sim, o.client_id)
            assert o.status == "filled" == theirs.status.lower() and o.filled == qty
            assert a.free(sim, "BTC") == btc - qty

        a.run(body)

    def test_the_account_id_is_looked_up_once_and_named_by_every_order(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            aid = sim.venue(a.venue).trade.accounts[a.key]  # type: ignore[attr-defined]
            assert tr.grammar.account_id == str(aid)  # type: ignore[attr-defined]
            seen = _Requests()
            tr.audit = seen  # type: ignore[assignment]
            await a.rest_below(sim, tr, 10)
            await tr.balances()
            assert ("GET", "/v1/account/accounts") not in seen.calls
            assert ("GET", f"/v1/account/accounts/{aid}/balance") in seen.calls
            placed = [c for c in seen.calls if c[1] == "/v1/order/batch-orders"]
            assert len(placed) == 1

        a.run(body)

    def test_cancel_all_cancels_in_batches_of_fifty(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(53):
                await a.rest_below(sim, tr, 10 + i)
            done = await tr.cancel_all(a.symbol)
            assert len(done) == 53 and all(o.status == "canceled" for o in done)
            assert a.open(sim) == [] and tr.tracker.open_orders() == []

        a.run(body)

    def test_cancel_by_order_id_and_fills_since(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            o = await a.rest_below(sim, tr, 10)
            c = await tr.cancel_order(a.symbol, order_id=o.order_id)
            assert c.client_id == o.client_id and c.status == "canceled"
            assert not a.orders(sim, o.client_id)[0].open
            _, ask = a.touch(sim)
            t = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask), ask, tif="IOC")
            [theirs] = a.orders(sim, t.client_id)
            late = max(f.time_ms for f in theirs.fills) + 1
            assert await tr.fills(a.symbol, since_ms=late) == []
            assert {f.trade_id for f in await tr.fills(a.symbol, since_ms=0)} == {
                str(f.trade_id) for f in theirs.fills
            }

        a.run(body)

    def test_a_filled_order_whose_answer_was_lost_has_its_own_fills_fetched_once(self) -> None:
        """No private stream; an IOC buy at the ask fills and its answer is lost. Reconciliation finds
        it filled and fetches its executions by order id (``/v1/order/orders/{id}/matchresults``,
        not the account's match results, which reach back 48 hours only): ``on_fill`` hears the
        simulator's fills of it, each once."""
        a = self.acct
        fills: list[Fill] = []

        async def body(sim: Simulator, tr: TradingSession) -> None:
            ep = sim.endpoint(a.venue, 0)
            ep.lose_answer(a.place_op)
            _, ask = a.touch(sim)
            o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask, 2), ask, tif="IOC")
            [theirs] = a.orders(sim, o.client_id)
            assert ep.lost == [a.place_op] and theirs.fills and o.filled > 0
            await settle(lambda: len(fills) == len(theirs.fills), "the order's fills")
            await asyncio.sleep(0.2)
            assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
            asked = [op for _, op, _, _ in ep.exchanges if op.endswith("/matchresults")]
            assert asked and set(asked) == {f"GET /v1/order/orders/{theirs.id}/matchresults"}

        a.run(body, private_stream=False, on_fill=fills.append)


class _Requests:
    """Stands in for the session's audit log: the REST requests it sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def event(self, kind: str, **fields: object) -> None:
        if kind == "rest":
            self.calls.append((str(fields["method"]), str(fields["path"])))


def _order(n: int, **kw: object) -> Order:
    base = Order(venue="htx", symbol="btcusdt", side="buy", type="limit", qty=Decimal(1), client_id=f"c{n}")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_requests_are_the_documented_ones() -> None:
    g = htx.Orders(account_id="100009")
    limit = _order(1, side="sell", qty=Decimal("0.5"), price=Decimal("6E4"), tif="IOC", client_id="tw1")
    placed = g.new_order(limit)
    assert (placed.method, placed.path, placed.params) == ("POST", "/v1/order/batch-orders", {})
    assert orjson.loads(placed.body) == [
        {
            "account-id": "100009", "symbol": "btcusdt", "type": "sell-ioc", "amount": "0.5",
            "price": "60000",
            "source": "spot-api", "client-order-id": "tw1",
        }
    ]  # fmt: skip
    types = {
        (tif, post): orjson.loads(g.new_order(replace(limit, tif=tif, post_only=post)).body)[0]["type"]
        for tif, post in (("GTC", False), ("FOK", False), ("GTC", True))
    }
    assert types == {
        ("GTC", False): "sell-limit",
        ("FOK", False): "sell-limit-fok",
        ("GTC", True): "sell-limit-maker",
    }
    market = orjson.loads(g.new_order(replace(limit, type="market", price=None)).body)[0]
    assert market["type"] == "sell-market" and market["amount"] == "0.5" and "price" not in market
    with pytest.raises(InvalidOrder):
        g.new_order(replace(limit, side="buy", type="market", price=None))
    with pytest.raises(InvalidOrder):
        g.new_order(replace(limit, post_only=True, tif="IOC"))

    by_cid = g.cancel("btcusdt", "tw1", "42")
    assert by_cid.path == "/v1/order/orders/batchcancel" and orjson.loads(by_cid.body) == {
        "client-order-ids": ["tw1"]
    }
    by_id = g.cancel("btcusdt", None, "42")
    assert (by_id.method, by_id.path, by_id.body) == ("POST", "/v1/order/orders/42/submitcancel", "")
    st = g.status("btcusdt", "tw1", None)
    assert (st.method, st.path, dict(st.params)) == (
        "GET",
        "/v1/order/orders/getClientOrder",
        {"clientOrderId": "tw1"},
    )
    assert g.status("btcusdt", "tw1", "42").path == "/v1/order/orders/42"
    assert dict(g.open_orders("btcusdt").params) == {
        "account-id": "100009",
        "symbol": "btcusdt",
        "size": "500",
    }
    assert g.cancel_all("btcusdt") is None
    batches = g.cancel_orders("btcusdt", [_order(n, order_id=str(n)) for n in range(120)])
    assert [len(orjson.loads(c.body)["client-order-ids"]) for c in batches] == [50, 50, 20]
    foreign = g.cancel_orders("btcusdt", [_order(1, client_id="", order_id="77")])
    assert [c.path for c in foreign] == ["/v1/order/orders/77/submitcancel"]
    fills = g.fills("btcusdt", 5)
    assert (fills.path, dict(fills.params)) == (
        "/v1/order/matchresults", {"symbol": "btcusdt", "start-time": "5", "size": "500"},
    )  # fmt: skip
    assert g.balances().path == "/v1/account/accounts/100009/balance"
    assert g.instruments().path == "/v1/common/symbols" and g.instruments().signed is False


def test_the_account_is_the_spot_one_and_the_signer_signs_the_endpoints_hosts() -> None:
    g = htx.Orders()
    with pytest.raises(VenueError):
        g.new_order(_order(1, price=Decimal(1)))  # no account id before the session's set-up
    signer = htx.Signer("k", "s")
    ep = Endpoint({"feed": "wss://a.example/feed", "v2": "wss://ws.example:8443/ws/v2"}, "https://r.example")
    [call] = g.setup(ep, signer)
    assert (call.method, call.path, call.signed) == ("GET", "/v1/account/accounts", True)
    assert signer.host == "r.example" and g.ws_host == "ws.example:8443"
    g.read_setup(
        call, [{"id": 1, "type": "margin", "state": "working"}, {"id": 7, "type": "spot", "state": "working"}]
    )
    assert g.account_id == "7" and g.setup(ep, signer) == []
    with pytest.raises(VenueError):
        htx.Orders().read_setup(call, [{"id": 1, "type": "otc", "state": "working"}])
    auth = orjson.loads(g.login(signer) or b"")
    assert auth["params"] == signer.ws_auth_message(host="ws.example:8443", timestamp=_ts(auth))["params"]


def _ts(auth: dict[str, object]) -> int:
    from datetime import UTC, datetime

    iso = auth["params"]["timestamp"]  # type: ignore[index]
    return int(datetime.strptime(str(iso), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp() * 1000)


def test_answers_and_errors_come_from_status_and_err_code() -> None:
    g = htx.Orders(account_id="1")
    answer = orjson.dumps
    acked = g.read_answer(200, answer({"status": "ok", "data": [{"order-id": 359, "client-order-id": "c1"}]}))
    [ack] = g.read_order(acked)
    assert (ack.source, ack.status, ack.order_id, ack.client_id) == ("ack", None, "359", "c1")
    refused = {
        "client-order-id": "c2",
        "err-code": "account-frozen-balance-insufficient-error",
        "err-msg": "no",
    }
    with pytest.raises(InsufficientFunds) as e:
        g.read_order(g.read_answer(200, answer({"status": "ok", "data": [refused]})))
    assert e.value.client_id == "c2"
    [by_id] = g.read_order(g.read_answer(200, answer({"status": "ok", "data": "359"})))
    assert (by_id.order_id, by_id.client_id, by_id.status) == ("359", "", None)
    cancelled = {
        "success": ["c1"],
        "failed": [{"order-id": "", "client-order-id": "c3", "err-code": "order-orderstate-error",
                    "err-msg": "Incorrect order state", "order-state": 7}],
    }  # fmt: skip
    items = g.read_answer(200, answer({"status": "ok", "data": cancelled}))
    assert g.read_order(items[0])[0].client_id == "c1"
    with pytest.raises(OrderNotFound) as nf:
        g.read_order(items[1])
    assert g.not_found(nf.value)
    with pytest.raises(OrderNotFound):
        g.read_answer(
            200, answer({"status": "error", "err-code": "base-record-invalid", "err-msg": "record invalid"})
        )
    with pytest.raises(OrderRejected):
        g.read_answer(
            200, answer({"status": "error", "err-code": "order-limitorder-amount-min-error", "err-msg": "m"})
        )
    with pytest.raises(AuthError):
        g.read_answer(200, answer({"status": "error", "err-code": "api-signature-not-valid", "err-msg": "m"}))
    with pytest.raises(UnknownOutcome):
        g.read_answer(200, answer({"status": "error", "err-code": "gateway-internal-error", "err-msg": "m"}))
    with pytest.raises(UnknownOutcome):
        g.read_answer(502, b"<html>bad gateway</html>")


def test_orders_fills_and_balances_are_read_as_htx_spells_them() -> None:
    g = htx.Orders(account_id="1")
    detail = {
        "id": 59378, "symbol": "btcusdt", "account-id": 1, "client-order-id": "c1", "amount": "2",
        "price": "100.5", "created-at": 1, "finished-at": 3, "type": "buy-limit-maker", "field-amount": "1",
        "field-cash-amount": "100.5", "field-fees": "0.002", "source": "spot-api",
        "state": "partial-canceled",
    }  # fmt: skip
    [ev] = g.read_order(detail)
    assert (ev.status, ev.filled_cum, ev.avg_price, ev.fee_cum) == (
        "canceled",
        1,
        Decimal("100.5"),
        Decimal("0.002"),
    )
    assert (ev.side, ev.type, ev.tif, ev.price, ev.qty, ev.ts_ns) == (
        "buy",
        "limit",
        "GTC",
        Decimal("100.5"),
        2,
        3_000_000,
    )
    listed = {k.replace("field-", "filled-"): v for k, v in detail.items() if k != "finished-at"}
    [open_ev] = g.read_order({**listed, "state": "submitted", "filled-amount": "0"})
    assert open_ev.status == "new" and open_ev.filled_cum == 0 and open_ev.avg_price is None
    row = {
        "id": 29555, "order-id": 59378, "match-id": 59335, "trade-id": 100282, "symbol": "btcusdt",
        "price": "100.1", "created-at": 5, "type": "sell-ioc", "filled-amount": "0.5", "filled-fees": "0.05",
        "fee-currency": "usdt", "source": "spot-api", "role": "maker",
    }  # fmt: skip
    [f] = g.read_fills([row])
    assert (f.trade_id, f.order_id, f.side, f.qty, f.fee, f.fee_asset, f.liquidity) == (
        "100282", "59378", "sell", Decimal("0.5"), Decimal("0.05"), "USDT", "maker",
    )  # fmt: skip
    bal = g.read_balances(
        {"id": 1, "type": "spot", "state": "working", "list": [
            {"currency": "usdt", "type": "trade", "balance": "91.85"},
            {"currency": "usdt", "type": "frozen", "balance": "5.5"},
            {"currency": "btc", "type": "trade", "balance": "0"},
            {"currency": "btc", "type": "loan", "balance": "-1"},
        ]}
    )  # fmt: skip
    assert (bal["USDT"].free, bal["USDT"].locked, bal["BTC"].total) == (Decimal("91.85"), Decimal("5.5"), 0)
    rules = g.read_rules(
        [{"symbol": "btcusdt", "price-precision": 2, "amount-precision": 6, "min-order-amt": 0.0001,
          "max-order-amt": 1000, "min-order-value": 5, "state": "online"}]
    )  # fmt: skip
    r = rules["btcusdt"]
    assert (r.tick_size, r.lot_size, r.min_qty, r.max_qty, r.min_notional) == (
        Decimal("0.01"), Decimal("0.000001"), Decimal("0.0001"), 1000, 5,
    )  # fmt: skip


def test_the_private_stream_auth_subscription_pushes_and_pong() -> None:
    g = htx.Orders(account_id="1")
    assert g.login_ack({"action": "req", "code": 200, "ch": "auth", "data": {}})
    assert not g.login_ack({"action": "sub", "code": 200, "ch": "orders#*"})
    with pytest.raises(AuthError):
        g.login_ack({"action": "req", "code": 2003, "ch": "auth", "message": "auth.fail"})
    assert orjson.loads(g.stream_subscribe(None)) == {"action": "sub", "ch": "orders#*"}
    assert g.stream_ack({"action": "sub", "code": 200, "ch": "orders#*", "data": {}})
    assert not g.stream_ack({"action": "sub", "code": 2001, "ch": "orders#*", "message": "invalid.ch"})
    assert orjson.loads(g.pong({"action": "ping", "data": {"ts": 1575537778295}}) or b"") == {
        "action": "pong", "data": {"ts": 1575537778295},
    }  # fmt: skip
    assert g.pong({"action": "push", "ch": "orders#btcusdt", "data": {}}) is None
    trade = {
        "action": "push", "ch": "orders#btcusdt",
        "data": {
            "eventType": "trade", "symbol": "btcusdt", "orderId": 7, "clientOrderId": "c1",
            "type": "buy-limit",
            "orderPrice": "100", "orderSize": "2", "orderStatus": "partial-filled", "tradePrice": "99.5",
            "tradeVolume": "1", "tradeId": 301, "tradeTime": 9, "aggressor": True, "remainAmt": "1",
            "execAmt": "1",
        },
    }  # fmt: skip
    [ev] = g.read_stream(trade)
    assert (ev.source, ev.status, ev.filled_cum, ev.order_id, ev.client_id) == (
        "stream",
        "partially_filled",
        1,
        "7",
        "c1",
    )
    assert ev.fill is not None and (ev.fill.trade_id, ev.fill.price, ev.fill.liquidity) == (
        "301",
        Decimal("99.5"),
        "taker",
    )
    data: dict[str, object] = trade["data"]  # type: ignore[assignment]
    cancel = {**trade, "data": {**data, "eventType": "cancellation", "orderStatus": "canceled"}}
    [c] = g.read_stream(cancel)
    assert c.fill is None and c.status == "canceled"
    assert g.read_stream({"action": "sub", "code": 200, "ch": "orders#*"}) == []
    assert g.read_stream({**trade, "data": {**data, "eventType": "trigger"}}) == []


def test_the_stream_reports_an_order_placed_over_rest() -> None:
    a = HTX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.stream.connected
        o = await a.rest_below(sim, tr, 10)
        await settle(lambda: tr.stream is not None and tr.stream.events >= 1, "the stream's report")
        assert a.orders(sim, o.client_id)[0].open

    a.run(body)


def test_the_private_stream_answers_the_sockets_pings_and_stays_connected() -> None:
    async def go() -> None:
        # HTX pings every ~20 s and cuts after two unanswered pings; here every 0.05 s.
        async with Simulator(["htx"], seed=31, rate=0, depth=20, timeouts={"ping_interval": 0.05}) as sim:
            HTX.register(sim.venue("htx"))
            async with tickwire.trade("htx", credentials=HTX.signer, endpoints=sim.urls()["htx"]) as tr:
                assert tr.stream is not None and tr.stream.connected
                await asyncio.sleep(0.6)
                assert tr.stream.connected and tr.stream.connects == 1

    asyncio.run(go())


def test_the_private_stream_reads_gzip_binary_frames_on_ws_v2() -> None:
    """venues.md §6.3 (HTX WebSocket v2): "**Frames:** the SDK handles both text and gzip-binary
    frames on v2." With every ``/ws/v2`` frame sent as gzip-compressed binary, the auth answer, the
    subscription's, the pings and the ``orders#`` pushes are all read: the stream comes up, reports
    an order and answers the pings (not left to be cut after two)."""

    async def go() -> None:
        async with Simulator(
            ["htx"], seed=31, rate=0, depth=20, timeouts={"ping_interval": 0.05},
            profiles={"htx": {"v2_frames": "gzip"}},
        ) as sim:  # fmt: skip
            HTX.register(sim.venue("htx"))
            async with tickwire.trade("htx", credentials=HTX.signer, endpoints=sim.urls()["htx"]) as tr:
                assert tr.stream is not None and tr.stream.connected
                o = await HTX.rest_below(sim, tr, 10)
                await settle(lambda: tr.stream is not None and tr.stream.events >= 1, "the stream's report")
                assert HTX.orders(sim, o.client_id)[0].open
                await asyncio.sleep(0.4)  # pings every 0.05 s, cut after two unanswered
                assert tr.stream.connected and tr.stream.connects == 1

    asyncio.run(go())
