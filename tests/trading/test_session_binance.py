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
from tickwire.errors import AuthError, TransportError, UnknownOutcome
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.wire import was_unsent
from tickwire.venues import binance

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


@pytest.mark.parametrize("transport", ["ws", "auto"])
def test_a_revoked_ws_api_session_takes_the_order_socket_down_until_the_key_is_valid(transport: str) -> None:
    """venues.md §1.3: "If the key becomes invalid, the session is revoked with
    `{"id":null,"status":401,"error":{"code":-2015,...}}`" — the simulator sends it on each connection
    logged on with the key it removes (its ``revocations``). The order socket and the private stream
    (both logged on) are down at once, ``health()`` names the revocation; under ``transport="ws"`` an
    order is refused at once, unsent, with ``AuthError`` naming the revocation (nothing written,
    nothing tracked); under ``"auto"`` it goes over REST, where the venue refuses the key (its
    request log shows it). With the key valid again the sockets log on anew and orders go over the
    socket. (Before: the id-less answer was dropped, the socket stayed "logged on" and each request on
    it was refused in turn.)"""
    a = BINANCE_ED
    g = binance.Orders()
    revoked = g.session_revoked({"id": None, "status": 401, "error": {"code": -2015, "msg": "Invalid"}})
    assert isinstance(revoked, AuthError) and "revoked" in str(revoked) and revoked.code == -2015  # type: ignore[attr-defined]
    assert g.session_revoked({"id": "tw1", "status": 401, "error": {"code": -2015, "msg": "x"}}) is None
    assert g.session_revoked({"id": None, "status": 400, "error": {"code": -1000, "msg": "x"}}) is None

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ws, stream = tr.orders_ws, tr.stream
        assert ws is not None and ws.connected and stream is not None and stream.connected
        first = await a.rest_below(sim, tr, 20)
        v = sim.venue(a.venue)
        v.remove_key(a.key)
        assert v.wsapi.revocations == 2  # the order socket's session and the stream's
        await settle(lambda: not ws.connected and not stream.connected, "the sockets down", 1.0)
        h = tr.health()
        assert h["socket_connected"] is False and h["stream_connected"] is False
        assert "revoked" in (h["socket_revoked"] or "") and "-2015" in (h["socket_revoked"] or "")
        assert "revoked" in (h["stream_revoked"] or "")
        tracked = [o.client_id for o in tr.tracker]
        rest_orders = len([x for x in sim.endpoint(a.venue, 0).exchanges if x[1] == "POST /api/v3/order"])
        with pytest.raises(AuthError) as e:
            await a.rest_below(sim, tr, 30)
        assert e.value.code == -2015  # type: ignore[attr-defined]
        sent = [x for x in sim.endpoint(a.venue, 0).exchanges if x[1] == "POST /api/v3/order"]
        now = [o for o in tr.tracker if o.client_id not in tracked]
        if transport == "ws":
            assert "revoked" in str(e.value) and was_unsent(e.value)
            assert len(sent) == rest_orders and now == []  # nothing written anywhere, nothing tracked
        else:
            assert len(sent) == rest_orders + 1 and sent[-1][2] == 401  # over REST, refused there
            assert [o.status for o in now] == ["rejected"]  # the venue's answer: no unknown outcome
        assert tr.tracker.unknown() == []
        assert [o.client_id for o in a.orders(sim)] == [first.client_id]
        a.register(v)  # the key valid again: the sockets log on anew
        await settle(lambda: ws.connected and stream.connected, "the sockets back", 3.0)
        assert tr.health()["socket_revoked"] is None and tr.health()["stream_revoked"] is None
        o = await a.rest_below(sim, tr, 40)
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1

    a.run(body, transport=transport, timeout=1.0)


def test_an_order_awaiting_its_answer_when_the_session_is_revoked_is_reconciled_at_once() -> None:
    """venues.md §1.3's revocation (`{"id":null,"status":401,"error":{"code":-2015,...}}`) while an
    order's answer is still on its way (the simulator placed the order; its answer is held back and
    never sent): the venue may have acted on it, so it is not left to wait out the socket's time-out
    (2 s here) on a connection the venue took the session off — the call fails at once with
    ``UnknownOutcome`` naming the revocation (its queries refused too: the key is invalid), the order
    is tracked unknown (``health()``), and once the key is valid again the reconciler's next try
    finds it as the simulator has it: one order, open."""
    a = BINANCE_ED

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v = sim.venue(a.venue)
        reply, held = v.wsapi.reply, []

        def hold(conn: Any, rid: Any, *args: Any, **kw: Any) -> None:
            if isinstance(rid, str) and rid.startswith("tw") and not held:
                held.append(rid)  # the place's answer: held back
                return
            reply(conn, rid, *args, **kw)

        v.wsapi.reply = hold  # type: ignore[method-assign]
        loop = asyncio.get_running_loop()
        placing = asyncio.ensure_future(a.rest_below(sim, tr, 10))
        await settle(lambda: len(a.orders(sim)) == 1 and bool(held), "the order at the venue", 1.0)
        t_revoked = loop.time()
        v.remove_key(a.key)
        with pytest.raises(UnknownOutcome, match="revoked"):
            await placing
        assert loop.time() - t_revoked < 1.0 and v.wsapi.revocations == 1  # not the 2 s time-out
        [unknown] = tr.tracker.unknown()
        assert tr.health()["unknown_outcomes"] == 1
        a.register(v)  # the key valid again
        await settle(lambda: tr.tracker.unknown() == [], "the order reconciled", 2.0)
        [theirs] = a.orders(sim)
        o = tr.tracker.get(unknown.client_id)
        assert o is not None and o.status == "new" and o.order_id == str(theirs.id) and theirs.open

    a.run(body, transport="ws", private_stream=False, timeout=2.0)


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


# rest-api.md's answer for a single order, as documented.
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


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_an_expired_orders_reason_is_the_venues_expiry_reason(transport: str) -> None:
    """An IOC below the best ask expires unfilled; since 2026-03-26 Binance says why (``expiryReason`` in
    the answer, ``eR`` in the executionReport: enums.md "Expiry reason"), and the order's ``reason``
    is that word, not a generic one (before: ``expired by the venue`` from the answer, "" from the
    stream) — so a strategy tells a lost race from a price the venue's range rule refused."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, bid), bid, tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        assert (theirs.status, theirs.filled) == ("EXPIRED", 0)
        assert (o.status, o.reason) == ("expired", "UNFILLED_IOC_QUANTITY_EXPIRED")
        await settle(lambda: tr.stream is not None and tr.stream.events > 0, "the stream's report")
        got = tr.tracker.get(o.client_id)
        assert got is not None and got.reason == "UNFILLED_IOC_QUANTITY_EXPIRED"

    a.run(body, transport=transport)


def test_the_streams_expiry_reason_names_an_expired_order() -> None:
    """An executionReport of an order the venue expired (binance-spot-api-docs user-data-stream.md's
    example, ``X`` EXPIRED, ``r`` NONE) with the ``eR`` added on 2026-03-26: the event's reason."""
    report = {
        "e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW",
        "S": "BUY", "o": "LIMIT", "f": "IOC", "q": "1.00000000", "p": "0.10264410", "P": "0.00000000",
        "F": "0.00000000", "g": -1, "C": "", "x": "EXPIRED", "X": "EXPIRED", "r": "NONE",
        "eR": "EXECUTION_RULE_PRICE_RANGE_EXCEEDED", "i": 4293153, "l": "0.00000000",
        "z": "0.00000000", "L": "0.00000000", "n": "0", "N": None, "T": 1499405658657, "t": -1,
        "I": 8641984, "w": False, "m": False, "M": False, "O": 1499405658657, "Z": "0.00000000",
        "Y": "0.00000000", "Q": "0.00000000", "W": 1499405658657, "V": "NONE",
    }  # fmt: skip
    [ev] = binance.Orders().read_stream({"subscriptionId": 0, "event": report})
    assert (ev.status, ev.reason) == ("expired", "EXECUTION_RULE_PRICE_RANGE_EXCEEDED")
    [plain] = binance.Orders().read_stream({"subscriptionId": 0, "event": {**report, "eR": "NONE"}})
    assert plain.reason == "expired by the venue"
