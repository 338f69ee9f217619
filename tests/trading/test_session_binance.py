"""``tickwire.trade("binance")`` over REST against the simulator: the shared cases (``session_cases``)
and Binance's own."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
import tickwire
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from session_cases import SessionCases, SimAccount, SocketCases, settle
from tickwire.errors import NotSupported, OrderNotFound, OrderRejected, TransportError, UnknownOutcome
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.sim.market import BID
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.venues import binance
from tickwire.venues.binance.usdm import UsdmOrders

KEY, SECRET = "trade-key", "trade-secret"

BINANCE = SimAccount(
    venue="binance",
    symbol="BTCUSDT",
    key=KEY,
    signer=binance.Signer(KEY, SECRET),
    register=lambda v: v.add_key(ApiKey(KEY, secret=SECRET.encode())),
    place_op="POST /api/v3/order",
    ws_place_op="order.place",
    amend_op="PUT /api/v3/order/amend/keepPriority",
    amend_reprices=False,  # keepPriority only lowers the quantity
    unknown_symbol="NOPEUSDT",
    short_window_signer=binance.Signer(KEY, SECRET, recv_window=1000),
)


class TestBinance(SessionCases, SocketCases):
    acct = BINANCE

    def test_cancel_all_without_the_venues_cancel_all_cancels_the_listed_orders_one_by_one(self) -> None:
        """The session's path for venues without a cancel-all (OKX spot), on Binance's single cancels."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(2):
                await a.rest_below(sim, tr, 10 + i)
            grammar: Any = tr.grammar
            grammar.cancel_all = lambda symbol: None
            done = await tr.cancel_all(a.symbol)
            assert sorted(o.client_id for o in done) == sorted(o.client_id for o in a.orders(sim))
            assert all(o.status == "canceled" for o in done) and a.open(sim) == []

        a.run(body)

    @pytest.mark.parametrize("reused", [False, True])
    def test_a_cancel_whose_answer_is_lost_returns_the_order_as_the_venue_has_it(self, reused: bool) -> None:
        """The venue cancels, then the connection closes before its answer: the cancel is not resent
        (on a kept-alive connection it was, blindly — the second met "unknown order" and
        ``cancel_order`` raised ``OrderNotFound`` for the order it had cancelled; on a fresh one the call
        raised ``TransportError``); the order's state at the venue answers the call."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            o = await a.rest_below(sim, tr, 10)
            ep = sim.endpoint(a.venue, 0)
            if not reused:
                assert tr.wire.http is not None
                while (conn := tr.wire.http.idle()) is not None:
                    conn.close()  # the cancel goes out on a fresh connection
            ep.lose_answer("DELETE /api/v3/order")
            done = await tr.cancel_order(a.symbol, client_id=o.client_id)
            assert done.client_id == o.client_id and done.status == "canceled"
            assert [x[1] for x in ep.exchanges].count("DELETE /api/v3/order") == 1
            assert a.open(sim) == [] and tr.tracker.open_orders() == []

        a.run(body, private_stream=False)


# An Ed25519 key: the WS API connection logs on once (session.logon) ---------------------------------

_ED_KEY = ed25519.Ed25519PrivateKey.generate()
_ED_PEM = _ED_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
_ED_PUB = _ED_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
BINANCE_ED = replace(
    BINANCE,
    key="trade-ed-key",
    signer=binance.Signer("trade-ed-key", private_key_pem=_ED_PEM),
    register=lambda v: v.add_key(ApiKey("trade-ed-key", public_key=_ED_PUB)),
)


class TestBinanceEd25519(SocketCases):
    """The socket cases with a key that logs on: the private stream is ``userDataStream.subscribe``
    on the logged-on connection and orders on the order socket carry no signature."""

    acct = BINANCE_ED

    def test_the_sockets_log_on_and_requests_carry_no_signature(self) -> None:
        a = self.acct
        g = binance.Orders()
        logon = orjson.loads(g.login(a.signer) or b"{}")
        assert logon["method"] == "session.logon" and {"apiKey", "timestamp", "signature"} <= set(
            logon["params"]
        )
        assert g.login(BINANCE.signer) is None  # an HMAC key cannot log on: it signs each request
        sub = orjson.loads(g.stream_subscribe(a.signer))
        assert sub["method"] == "userDataStream.subscribe" and "params" not in sub
        req = g.ws_request(g.cancel("BTCUSDT", "c1", None), a.signer, "r1")
        params = orjson.loads(req or b"{}")["params"]
        assert "signature" not in params and "apiKey" not in params and params["origClientOrderId"] == "c1"

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.stream is not None and tr.stream.connected
            assert tr.orders_ws is not None and tr.orders_ws.connected
            o = await a.rest_below(sim, tr, 20)
            assert a.orders(sim, o.client_id)[0].open
            c = await tr.cancel_order(a.symbol, client_id=o.client_id)
            assert c.status == "canceled" and not a.orders(sim, o.client_id)[0].open

        a.run(body, transport="ws")


def test_a_logged_on_request_carries_the_recv_window_its_reconciliation_waits_out() -> None:
    # venues.md §1.1: recvWindow is optional, the venue's default 5000 ms when a request names none; §1.3:
    # after session.logon a request drops apiKey and signature but is still a SIGNED request with its
    # timestamp. Reconciliation calls a lost order absent once ``request_window_ms`` has passed: the
    # venue must stop acting on the request by then, so the request carries that window, as a
    # request signed by an HMAC key does.
    g = binance.Orders()
    order = Order(
        venue="binance", symbol="BTCUSDT", side="buy", type="limit", qty=Decimal("0.01"),
        price=Decimal("100"), client_id="c1",
    )  # fmt: skip
    for signer in (
        binance.Signer("trade-ed-key", private_key_pem=_ED_PEM, recv_window=1000),
        binance.Signer(KEY, SECRET, recv_window=1000),
    ):
        for call in (g.new_order(order), g.cancel("BTCUSDT", "c1", None)):
            params = orjson.loads(g.ws_request(call, signer, "r1") or b"{}")["params"]
            venue_window = float(params.get("recvWindow", binance.orders.DEFAULT_RECV_WINDOW_MS))
            assert venue_window == g.request_window_ms(signer) == 1000, (signer.key_type, call.method)


# A session opened from market data, and one on a background thread -------------------------------


def test_a_market_data_session_opens_a_trading_session_on_its_endpoints_and_audit(tmp_path: Any) -> None:
    a = BINANCE
    path = tmp_path / "audit.jsonl"

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=50, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            async with tickwire.connect(
                a.venue, [a.symbol], endpoints=sim.urls()[a.venue], audit=str(path), probe_interval=None
            ) as md:
                signer = binance.Signer(KEY, SECRET, clock=md.clock.now_ms)
                async with md.trade(credentials=signer) as tr:
                    o = await a.rest_below(sim, tr, 40)
                    assert a.orders(sim, o.client_id)[0].open
                    await tr.cancel_order(a.symbol, client_id=o.client_id)
                md.audit.flush()
                kinds = [orjson.loads(line)["kind"] for line in path.read_text().splitlines()]
                # Market data and orders in the one audit trail.
                assert "subscribe" in kinds and "order_request" in kinds and "order" in kinds
                # The secret, and the signatures made with it, never reach the file.
                text = path.read_text()
                assert SECRET not in text and "signature" not in text

    asyncio.run(go())


def test_a_synchronous_bot_trades_through_the_threaded_handle() -> None:
    from simproc import control, sim_process

    with sim_process("--venue", "binance", "--rate", "0", "--depth", "20") as urls:
        asyncio.run(control(urls, "/keys", {"venue": "binance", "args": {"key": KEY, "secret": SECRET}}))
        asyncio.run(control(urls, "/fund", {"venue": "binance", "account": KEY, "balances": BINANCE.funds}))
        seen: list[Any] = []
        tr = tickwire.trade_threaded(
            "binance",
            credentials=binance.Signer(KEY, SECRET),
            endpoints=urls["binance"],
            on_order=seen.append,
        )
        try:
            book = asyncio.run(control(urls, "/book?venue=binance&symbol=BTCUSDT"))
            price = Decimal(book["bids"][0][0]) - 40 * tr.session.rules[BINANCE.symbol].tick_size
            o = tr.place_order(BINANCE.symbol, "buy", "limit", BINANCE.size(tr.session, price), price)
            assert [x.client_id for x in tr.open_orders(BINANCE.symbol)] == [o.client_id]
            c = tr.cancel_order(BINANCE.symbol, client_id=o.client_id)
            assert c.status == "canceled" and tr.open_orders(BINANCE.symbol) == []
            assert [x.status for x in seen if x.client_id == o.client_id][-1] == "canceled"
            two = [
                tr.prepare(BINANCE.symbol, "buy", "limit", BINANCE.size(tr.session, price), price)
                for _ in "ab"
            ]
            placed = tr.place_orders(two)
            theirs = asyncio.run(control(urls, f"/orders?venue=binance&account={KEY}"))
            assert sorted(x["client_id"] for x in theirs if x["status"] == "NEW") == sorted(
                o.client_id for o in two
            )
            assert [getattr(p, "status", p) for p in placed] == ["new", "new"]
        finally:
            tr.close()


def test_the_threaded_handle_waits_for_an_orders_outcome_not_a_time_out() -> None:
    """The place's request never gets an answer (the venue never saw it) and reconciliation takes its
    time: the synchronous caller gets the outcome ("was not placed"), not a bare ``TimeoutError`` while
    the call goes on (before: with the handle's time-out under the call's length, ``TimeoutError``, and
    a bot retrying on it could trade twice). Queries keep their time-out."""
    from simproc import control, sim_process

    with sim_process("--venue", "binance", "--rate", "0", "--depth", "20") as urls:
        asyncio.run(control(urls, "/keys", {"venue": "binance", "args": {"key": KEY, "secret": SECRET}}))
        asyncio.run(control(urls, "/fund", {"venue": "binance", "account": KEY, "balances": BINANCE.funds}))
        tr = tickwire.trade_threaded(
            "binance",
            credentials=binance.Signer(KEY, SECRET, recv_window=1000),
            endpoints=urls["binance"],
            timeout=0.5,
        )
        try:
            tr.timeout = 0.2  # shorter than the call: the answer's 0.5 s, then reconciliation's queries
            book = asyncio.run(control(urls, "/book?venue=binance&symbol=BTCUSDT"))
            price = Decimal(book["bids"][0][0]) - 40 * tr.session.rules[BINANCE.symbol].tick_size
            fault = {"venue": "binance", "fault": "fail", "args": {"n": 1, "timeout": True}}
            asyncio.run(control(urls, "/fault", fault))
            with pytest.raises(TransportError, match="was not placed"):
                tr.place_order(BINANCE.symbol, "buy", "limit", BINANCE.size(tr.session, price), price)
            orders = f"/orders?venue=binance&account={KEY}"
            assert asyncio.run(control(urls, orders)) == []  # nothing at the venue, nothing resent
            o = tr.place_order(BINANCE.symbol, "buy", "limit", BINANCE.size(tr.session, price), price)
            theirs = asyncio.run(control(urls, orders))
            assert o.status == "new" and [x["client_id"] for x in theirs] == [o.client_id]
        finally:
            tr.close()


# Order Amend Keep Priority (binance-spot-api-docs rest-api.md / web-socket-api.md) ----------------------

AMEND = "PUT /api/v3/order/amend/keepPriority"
AMEND_PATH = "/api/v3/order/amend/keepPriority"
# rest-api.md's answer for a single order, as documented.
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


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_over_transport_ws_an_order_while_the_socket_is_down_is_refused_untracked(path: str) -> None:
    """With ``transport="ws"`` and the order socket down (the venue refusing it back), an order is
    refused before a byte of it is written: ``TransportError``, nothing tracked, nothing unknown, nothing
    at the venue (before: tracked, reconciled over the same dead socket, left ``unknown`` for good)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await a.rest_below(sim, tr, 30)
        tracked = [o.client_id for o in tr.tracker]
        sim.venue(a.venue).accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.orders_ws is not None and not tr.orders_ws.connected, "the socket down")
        with pytest.raises(TransportError, match="socket is down") as e:
            if path == "place_order":
                await a.rest_below(sim, tr, 40)
            else:
                bid, _ = a.touch(sim)
                price = bid - 40 * tr.rules[a.symbol].tick_size
                await tr.template(a.symbol, "buy").send(price, a.size(tr, price))
        assert not isinstance(e.value, UnknownOutcome)
        assert [o.client_id for o in tr.tracker] == tracked and tr.tracker.unknown() == []
        assert len(a.orders(sim)) == 1

    a.run(body, transport="ws", private_stream=False, timeout=1.0)


def test_orders_refused_while_the_order_socket_is_down_take_nothing_of_the_order_count() -> None:
    """A bot retrying while the order socket is down (``transport="ws"``): each order is refused
    unsent, so the venue counts none of them, and neither may the budget (4 orders per 10 s here, one
    kept for cancels). Once the socket is back, the orders the venue's count leaves room for go (before:
    every refusal was charged, and the next orders were refused ``RateLimitError`` for the window)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([Limit("ORDERS", 4, 10.0, "account")], replace=True)
        await a.rest_below(sim, tr, 30)
        accept = sim.venue(a.venue).accept
        sim.venue(a.venue).accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.orders_ws is not None and not tr.orders_ws.connected, "the socket down")
        for i in range(4):
            with pytest.raises(TransportError, match="socket is down"):
                await a.rest_below(sim, tr, 40 + i)
        sim.venue(a.venue).accept = accept  # type: ignore[method-assign]
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket back", 5.0)
        placed = [await a.rest_below(sim, tr, 50 + i) for i in range(2)]
        assert [o.status for o in placed] == ["new", "new"]
        assert len(a.orders(sim)) == 3  # what the venue counted: within the 3 new orders may take

    a.run(body, transport="ws", private_stream=False, timeout=1.0, rate_wait=0)


def test_over_transport_ws_an_amend_lost_with_the_socket_is_an_unknown_outcome_not_a_failure() -> None:
    """With ``transport="ws"`` the order's state is asked over the socket too, which is down: the amend
    may have happened (here it did), so the session must not say it did not; the order's state, asked
    once the socket is back, states the amended quantity (no private stream here to tell it first)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 30, 3)
        sim.endpoint(a.venue, 0).lose_answer("order.amend.keepPriority")
        with pytest.raises(UnknownOutcome, match="outcome unknown"):
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3)
        assert sim.endpoint(a.venue, 0).lost == ["order.amend.keepPriority"]
        assert a.orders(sim)[0].qty * sim.venue(a.venue).instruments[a.symbol].lot == o.qty * 2 / 3
        assert tr._current(o.client_id).qty == o.qty  # nothing heard yet
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connects >= 2, "the socket back")
        found = await tr.reconcile(o.client_id)
        assert found is not None and found.qty == o.qty * 2 / 3 == tr._current(o.client_id).qty

    a.run(body, transport="ws", private_stream=False, timeout=1.0)
