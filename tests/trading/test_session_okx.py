"""``tickwire.trade("okx")`` against the simulator: the shared cases (``session_cases``) and OKX's own —
acknowledgements followed by a status query, market buys sized in the base currency, cancel-all as
batches of 20, ``code``/``sCode`` errors on HTTP 200; the logged-in private socket's ``orders`` stream
and ``order``/``cancel-order`` ops."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from session_cases import AckCases, SessionCases, SimAccount, SocketCases, settle
from tickwire.errors import InsufficientFunds, OrderNotFound, OrderRejected, TickwireError, UnknownOutcome
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.venues import okx

KEY, SECRET, PASSPHRASE = "okx-trade-key", "okx-trade-secret", "okx pass phrase"

OKX = SimAccount(
    venue="okx",
    symbol="BTC-USDT",
    key=KEY,
    signer=okx.Signer(KEY, SECRET, PASSPHRASE),
    register=lambda v: v.add_key(KEY, SECRET, PASSPHRASE),
    amend_op="POST /api/v5/trade/amend-order",
    place_op="POST /api/v5/trade/order",
    ws_place_op="order",
    unknown_symbol="NOPE-USDT",
)


class TestOkx(SessionCases, AckCases, SocketCases):
    acct = OKX
    status_op = "GET /api/v5/trade/order"

    def test_a_batch_cancel_refused_in_part_for_rate_waits_the_block_and_cancels_the_rest(self) -> None:
        """The venue takes 30 batch cancels per 2 s on the instrument (fewer than the 300 the budget
        knows): the second batch of 20 is answered in part (code "2", ten entries 50011). The budget
        learns the refusal, the next batch waits the block out, and what is still open is cancelled
        in a second round — one partly refused answer in all, nothing left open (before: the next
        batch went straight into the refused window, was refused whole, and ``cancel_all`` raised with
        orders left open)."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(45):
                await a.rest_below(sim, tr, 10 + i)
            await asyncio.sleep(2.1)  # the places' window over
            refused: list[int] = []
            read = tr.grammar.read_answer

            def spy(status: int, body: bytes) -> Any:
                data = orjson.loads(body).get("data")
                n = sum(1 for d in data if d.get("sCode") == "50011") if isinstance(data, list) else 0
                if n:
                    refused.append(n)
                return read(status, body)

            tr.grammar.read_answer = spy  # type: ignore[method-assign]
            done = await tr.cancel_all(a.symbol)
            assert a.open(sim) == [] and len(done) == 45 and all(o.status == "canceled" for o in done)
            assert refused == [10]

        a.run(
            body, before=lambda sim: sim.venue("okx").config.profile.update(batch_rate_limit=30), rate_wait=10
        )

    def test_the_kill_switch_waits_out_a_batch_refused_in_part_for_rate_and_leaves_nothing_open(self) -> None:
        """The same venue limit under the kill switch: the entries refused for rate are cancelled in
        another round once the block has passed, and the report is complete (before: those orders
        were left open and the report incomplete)."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(45):
                await a.rest_below(sim, tr, 10 + i)
            await asyncio.sleep(2.1)
            report = await tr.kill("drawdown")
            assert a.open(sim) == [] and report.complete and len(report.cancelled) == 45

        a.run(
            body, before=lambda sim: sim.venue("okx").config.profile.update(batch_rate_limit=30), rate_wait=10
        )

    def test_cancel_all_sends_batches_of_twenty(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(23):
                await a.rest_below(sim, tr, 10 + i)
            assert len(a.open(sim)) == 23
            done = await tr.cancel_all(a.symbol)
            assert len(done) == 23 and all(o.status == "canceled" for o in done)
            assert a.open(sim) == [] and tr.tracker.open_orders() == []

        a.run(body)


def _order(n: int) -> Order:
    return Order(venue="okx", symbol="BTC-USDT", side="buy", type="limit", qty=Decimal(1), client_id=f"c{n}")


def test_requests_are_the_documented_ones() -> None:
    g = okx.Orders()
    limit = Order(
        venue="okx", symbol="BTC-USDT", side="sell", type="limit", qty=Decimal("0.5"), price=Decimal("6E4"),
        tif="IOC", client_id="tw1",
    )  # fmt: skip
    placed = g.new_order(limit)
    assert (placed.method, placed.path, placed.params) == ("POST", "/api/v5/trade/order", {})
    assert orjson.loads(placed.body) == {
        "instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "ordType": "ioc", "sz": "0.5",
        "clOrdId": "tw1", "px": "60000",
    }  # fmt: skip
    market = orjson.loads(g.new_order(replace(_order(1), type="market")).body)
    assert market["ordType"] == "market" and market["tgtCcy"] == "base_ccy" and "px" not in market
    batches = g.cancel_orders("BTC-USDT", [_order(n) for n in range(45)])
    assert [len(orjson.loads(c.body)) for c in batches] == [20, 20, 5]
    assert {c.path for c in batches} == {"/api/v5/trade/cancel-batch-orders"}
    assert g.cancel_all("BTC-USDT") is None
    assert g.instruments().signed is False
    # Fills since a time: ``fills`` (the last 3 days), or ``fills-history`` (3 months) from further
    # back; either pages on by ``billId``.
    now = int(time.time() * 1000)
    assert g.fills("BTC-USDT", now - 3_600_000).path == "/api/v5/trade/fills"
    old = g.fills("BTC-USDT", now - 4 * 86_400_000)
    assert (old.path, old.params["begin"]) == ("/api/v5/trade/fills-history", str(now - 4 * 86_400_000))
    nxt = g.next_page(old, [{"billId": str(n)} for n in range(100, 0, -1)])
    assert nxt is not None and nxt.params["after"] == "1"


def test_errors_come_from_code_and_scode_on_http_200() -> None:
    g = okx.Orders()

    answer = orjson.dumps
    ok = {"code": "0", "msg": "", "data": [{"ordId": "1", "clOrdId": "a", "sCode": "0", "sMsg": ""}]}
    assert g.read_answer(200, answer(ok)) == ok["data"]
    failed = {"code": "1", "msg": "", "data": [{"ordId": "", "clOrdId": "a", "sCode": "51603", "sMsg": "no"}]}
    with pytest.raises(OrderNotFound) as e:
        g.read_answer(200, answer(failed))
    assert g.not_found(e.value) and e.value.code == "51603"
    with pytest.raises(UnknownOutcome):
        g.read_answer(200, answer({"code": "50004", "msg": "API endpoint request timeout", "data": []}))
    partial = {"code": "2", "msg": "Partial success", "data": [ok["data"][0], failed["data"][0]]}
    items = g.read_answer(200, answer(partial))
    assert g.read_order(items[0])[0].order_id == "1"
    with pytest.raises(OrderNotFound):
        g.read_order(items[1])
    with pytest.raises(OrderRejected):
        g.read_answer(200, answer({"code": "51000", "msg": "Parameter sz error", "data": []}))


# OKX's private stream and order socket (the logged-in /ws/v5/private) ---------------------------------


def test_the_private_socket_logs_in_before_it_subscribes_or_takes_orders() -> None:
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.stream.connected
        assert tr.orders_ws is not None and tr.orders_ws.connected
        o = await a.rest_below(sim, tr, 10)  # over the order socket: refused there without a login
        assert a.orders(sim, o.client_id)[0].open and o.status == "new"
        await settle(lambda: tr.stream is not None and tr.stream.events >= 1, "the stream's report")

    a.run(body, transport="ws")


def test_a_refused_login_is_the_venues_typed_error() -> None:
    g = okx.Orders()
    assert orjson.loads(g.login(OKX.signer) or b"")["op"] == "login"
    assert g.login_ack({"event": "login", "code": "0", "msg": "", "connId": "1"})
    assert not g.login_ack({"event": "subscribe", "arg": {"channel": "orders"}})
    with pytest.raises(TickwireError) as e:
        g.login_ack({"event": "error", "code": "60007", "msg": "Invalid sign"})
    assert e.value.code == "60007"


def test_stream_fills_carry_the_fee_okx_reports_negative() -> None:
    g = okx.Orders()
    push = {
        "arg": {"channel": "orders", "instType": "SPOT"},
        "data": [
            {
                "instId": "BTC-USDT", "ordId": "7", "clOrdId": "tw1", "px": "100", "sz": "2",
                "ordType": "limit", "side": "buy", "state": "partially_filled", "accFillSz": "1",
                "avgPx": "100", "fillPx": "100", "fillSz": "1", "tradeId": "55", "execType": "M",
                "fillFee": "-0.001", "fillFeeCcy": "BTC", "fee": "-0.001", "feeCcy": "BTC", "uTime": "1",
            }
        ],
    }  # fmt: skip
    [ev] = g.read_stream(push)
    assert ev.source == "stream" and ev.status == "partially_filled" and ev.filled_cum == 1
    assert ev.fill is not None and ev.fill.trade_id == "55" and ev.fill.fee == Decimal("0.001")
    assert ev.fill.liquidity == "maker" and ev.fee_cum == Decimal("0.001")
    no_trade = {**push, "data": [{**push["data"][0], "tradeId": "", "fillSz": "0", "state": "canceled"}]}
    [ev] = g.read_stream(no_trade)
    assert ev.fill is None and ev.status == "canceled"
    assert g.read_stream({"event": "subscribe", "arg": {"channel": "orders"}}) == []


def test_ws_requests_are_the_rest_bodies_as_ops_and_the_rest_stays_rest() -> None:
    g = okx.Orders()
    before = OKX.signer.clock()
    placed = g.ws_request(g.new_order(replace(_order(1), price=Decimal(100))), OKX.signer, "tw9")
    after = OKX.signer.clock()
    assert placed is not None
    msg = orjson.loads(placed)
    assert (
        msg["id"] == "tw9"
        and msg["op"] == "order"
        and msg["args"] == [orjson.loads(g.new_order(replace(_order(1), price=Decimal(100))).body)]
    )
    # A place (and an amend) expires when the session would stop waiting for it (on the signer's
    # clock, the venue's when measured); a cancel does not.
    assert before <= int(msg["expTime"]) - g.request_ttl_ms <= after
    cancel = g.ws_request(g.cancel("BTC-USDT", "c1", None), OKX.signer, "tw10")
    assert cancel is not None and orjson.loads(cancel)["op"] == "cancel-order"
    assert "expTime" not in orjson.loads(cancel)
    assert g.ws_request(g.status("BTC-USDT", "c1", None), OKX.signer, "x") is None
    assert g.ws_request(g.cancel_orders("BTC-USDT", [_order(1)])[0], OKX.signer, "x") is None
    assert g.ws_answer_id({"id": "tw9", "op": "order", "code": "0", "data": []}) == "tw9"
    failed = {
        "id": "tw9",
        "op": "order",
        "code": "1",
        "msg": "",
        "data": [{"sCode": "51008", "sMsg": "funds"}],
    }
    with pytest.raises(InsufficientFunds):
        g.read_ws_answer(failed)


def test_a_refusal_names_okx_s_sub_code_where_it_gives_one() -> None:
    """OKX's place and amend answers carry ``subCode`` since 2026-03-10 ("Sub-code of sCode … returns
    the sub-code if available; otherwise returns \"\""; the error table's 51008_1000 to 1003 are the
    insufficient-balance variants): it is in the error's message, its class still the ``sCode``'s
    (before, it was dropped)."""
    g = okx.Orders()
    entry = {"clOrdId": "tw1", "ordId": "", "sCode": "51008", "sMsg": "Order failed. Insufficient balance"}
    for sub, said in (("1001", " (subCode 1001)"), ("", ""), (None, "")):
        e = {**entry, "subCode": sub} if sub is not None else entry
        for read, arg in (
            (g.read_ws_answer, {"id": "tw9", "op": "order", "code": "1", "msg": "", "data": [e]}),
            (functools.partial(g.read_answer, 200), orjson.dumps({"code": "1", "msg": "", "data": [e]})),
            (g.read_order, e),
        ):
            with pytest.raises(InsufficientFunds) as got:
                read(arg)
            assert got.value.code == "51008"  # type: ignore[attr-defined]
            assert got.value.message == "Order failed. Insufficient balance" + said  # type: ignore[attr-defined]


def test_the_order_socket_names_the_instrument_by_its_code_and_rest_by_its_id() -> None:
    """OKX delisted ``instId`` from its WebSocket order ops in March 2026 ("any instId value provided
    will be ignored"; the demo answered "Parameter instIdCode can not be empty"): the ops name the
    instrument by the ``instIdCode`` the instruments list, in ``instId``'s place; REST keeps ``instId``.
    Before, every op sent ``instId`` alone."""
    g = okx.Orders()
    sizes = {"instType": "SPOT", "tickSz": "0.1", "lotSz": "0.0001", "minSz": "0.0001"}
    g.read_rules([{"instId": "BTC-USDT", "instIdCode": 1000, **sizes}, {"instId": "ETH-USDT", **sizes}])
    order = replace(_order(1), price=Decimal(100))
    rest = orjson.loads(g.new_order(order).body)
    placed = orjson.loads(g.ws_request(g.new_order(order), OKX.signer, "tw1") or b"")
    [arg] = placed["args"]
    assert list(arg) == ["instIdCode", *list(rest)[1:]] and arg["instIdCode"] == 1000
    assert {k: v for k, v in arg.items() if k != "instIdCode"} == {
        k: v for k, v in rest.items() if k != "instId"
    }
    for call in (
        g.cancel("BTC-USDT", "c1", None),
        g.amend(replace(order, client_id="c1"), None, Decimal(99)),
    ):
        [arg] = orjson.loads(g.ws_request(call, OKX.signer, "tw2") or b"")["args"]
        assert arg["instIdCode"] == 1000 and "instId" not in arg
        assert orjson.loads(call.body or b"")["instId"] == "BTC-USDT"  # over REST
    # An instrument the listing gave no code keeps its instId (the venue's answer then says why).
    [arg] = orjson.loads(g.ws_request(g.cancel("ETH-USDT", "c1", None), OKX.signer, "tw3") or b"")["args"]
    assert arg["instId"] == "ETH-USDT" and "instIdCode" not in arg


def test_orders_over_the_socket_reach_a_venue_that_takes_instIdCode_only() -> None:
    """The session's places, amends and cancels over the order socket, against the simulator that
    refuses an op without ``instIdCode`` as OKX does since 2026: each one lands, as the simulator's
    own order list shows. Before: ``tickwire.errors.OrderRejected: okx 50014: Parameter instIdCode can
    not be empty. (HTTP 200)``, no order placed over the socket."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        o = await a.rest_below(sim, tr, 30)
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open and o.order_id == str(theirs.id)
        await tr.cancel_order(o.symbol, client_id=o.client_id)
        assert not a.orders(sim, o.client_id)[0].open

    a.run(body, transport="ws", private_stream=False)


def test_an_order_the_venue_takes_late_over_rest_is_found_within_its_exptime() -> None:
    """A REST place carries ``expTime`` (OKX "Transaction timeouts": not processed once the server's time
    is past it), ``request_ttl_ms`` from its signing: the venue handles the place 1.2 s after it arrives
    (its queue), past the session's 0.5 s time-out, and reconciliation waits that window — the venue's
    bound, not the session's 30 s ``lost_order_wait_s`` guess — before calling the order absent, looks
    once more and finds it: the caller gets the order, the venue holds it once. Before 2026-12-07 REST
    places carried no ``expTime`` and the verdict waited the guess (30 s here). (The suite's ``expTime``
    is 2 s: ``conftest.short_okx_exptime``.)"""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ttl = tr.grammar.request_ttl_ms / 1000  # type: ignore[attr-defined]
        window = tr.request_window_s()
        assert window is not None and ttl <= window < ttl + 1, window  # expTime, and the clock's margins
        t0 = time.monotonic()
        await a.place_taken_late(sim, tr)
        assert time.monotonic() - t0 < ttl + 3

    a.run(body, private_stream=False, timeout=0.5, lost_order_wait_s=30)


def test_rest_places_and_amends_carry_exptime_and_other_calls_do_not() -> None:
    """The ``expTime`` header (ms) on a REST place, a template's REST send and an amend, as the
    simulator received them: the request's own ``OK-ACCESS-TIMESTAMP`` plus ``request_ttl_ms`` (to the
    clock's next reading); a cancel carries none (OKX takes it on places and amends only)."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        requests = _trade_requests(sim)
        o = await a.rest_below(sim, tr, 30)
        t = await asyncio.wait_for(tr.template(a.symbol, "buy").send(*_below(a, sim, tr, 31)), 2.0)
        await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - tr.rules[a.symbol].tick_size)
        await tr.cancel_order(a.symbol, client_id=t.client_id)
        seen = [(p, h) for m, p, h in requests if m == "POST"]
        paths = [p for p, _ in seen]
        assert paths == ["order", "order", "amend-order", "cancel-order"], paths
        ttl = tr.grammar.request_ttl_ms  # type: ignore[attr-defined]
        for path, headers in seen[:3]:
            stamp = datetime.fromisoformat(headers["ok-access-timestamp"].replace("Z", "+00:00"))
            # Read off the signer's clock beside the signature's timestamp, not from the same reading:
            # a millisecond or so apart under load (the review saw this fail once under -n 2).
            off = int(headers["exptime"]) - (round(stamp.timestamp() * 1000) + ttl)
            assert abs(off) <= 50, (path, off, headers)
        assert "exptime" not in seen[3][1]

    a.run(body, private_stream=False)


def _trade_requests(sim: Simulator) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path under ``/api/v5/trade/``, headers) of each trade request the simulated OKX is
    handed from now on, as it received them (filled in as they come)."""
    v: Any = sim.venue(OKX.venue)
    seen: list[tuple[str, str, dict[str, str]]] = []
    http = v.http

    async def recording(ep: Any, req: Any) -> Any:
        if req.path.startswith("/api/v5/trade/"):
            seen.append((req.method, req.path.removeprefix("/api/v5/trade/"), dict(req.headers)))
        return await http(ep, req)

    v.http = recording
    return seen


def _below(a: Any, sim: Simulator, tr: TradingSession, ticks: int) -> tuple[Decimal, Decimal]:
    bid, _ = a.touch(sim)
    price = bid - ticks * tr.rules[a.symbol].tick_size
    return price, a.size(tr, price)


@pytest.mark.usefixtures("okx_without_exptime")  # the session's wait, OKX bounding nothing
def test_the_wait_for_a_lost_order_ends_once_the_private_stream_tells_of_it() -> None:
    """With no ``expTime`` (the venue then bounds nothing), the private stream up and a 30 s
    ``lost_order_wait_s``: the stream's word of the order the venue took late ends the wait, and the call
    returns the order well before the 30 s."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        price = bid - 10 * tr.rules[a.symbol].tick_size
        ep = sim.endpoint(a.venue, 0)
        ep.delay(1.2)
        asyncio.get_running_loop().call_later(0.3, ep.delay, 0.0)
        began = time.monotonic()
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
        assert time.monotonic() - began < 10
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open and o.status == "new" and o.order_id == str(theirs.id)

    a.run(body, timeout=0.5, lost_order_wait_s=30)


@pytest.mark.usefixtures("okx_without_exptime")  # the session's wait, OKX bounding nothing
def test_an_amend_the_venue_applies_late_over_rest_is_found_not_called_not_taken() -> None:
    """With no ``expTime`` (the venue then bounds nothing): the venue applies the amend 1.2 s after it
    arrives, past the 0.5 s time-out, and the order's state shows the old terms while the queries run. The
    session's ``lost_order_wait_s`` (2 s) is waited before "did not take effect", and the last look finds
    the new price: the caller gets the order amended. Before, ``TransportError: okx: amend of … did not
    take effect`` came after the queries, the amend then applied at the venue."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 10)
        new_price = o.price - tr.rules[a.symbol].tick_size
        ep = sim.endpoint(a.venue, 0)
        ep.delay(1.2)
        asyncio.get_running_loop().call_later(0.3, ep.delay, 0.0)  # only the amend is held
        got = await tr.amend_order(a.symbol, client_id=o.client_id, price=new_price)
        [theirs] = a.orders(sim, o.client_id)
        tick = sim.venue(a.venue).instruments[a.symbol].tick
        assert got.price == new_price and theirs.open and theirs.price * tick == new_price

    a.run(body, private_stream=False, timeout=0.5, lost_order_wait_s=2)


@pytest.mark.usefixtures("okx_without_exptime")  # the session's wait, OKX bounding nothing
def test_a_lost_order_its_caller_gave_up_on_waits_from_its_loss_not_anew() -> None:
    """OKX sending no ``expTime``, the place never reaching the venue, the session's ``lost_order_wait_s``
    6 s: the caller gives up 2 s in (``asyncio.wait_for``), inside the wait; the order is settled in the
    background ("not placed", ``rejected``) once 6 s have passed since the loss — not 6 s after the caller
    gave up (before: the background's resolve started the wait anew, 8.6 s from the loss)."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        price = bid - 10 * tr.rules[a.symbol].tick_size
        sim.endpoint(a.venue, 0).fail(1, timeout=True)  # never reaches the venue
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price), 2.0)
        [o] = list(tr.tracker)
        await settle(lambda: tr.tracker.get(o.client_id).status == "rejected", "the verdict", 15)  # type: ignore[union-attr]
        took = time.monotonic() - started
        assert took < 7.6, took  # the wait to 6 s and a last look (anew from 2 s: ~8.6 s)
        assert a.orders(sim) == []

    a.run(body, timeout=0.5, private_stream=False, lost_order_wait_s=6.0)


def test_an_okx_order_query_carries_no_exptime() -> None:
    """``GET /api/v5/trade/order`` (the order's state) shares its path with a place: it must not carry
    the place's ``expTime`` header (OKX takes it on places and amends only). Before (a review of this
    stop): ``{'expTime': '1700000002000'}``."""
    g = okx.Orders()
    signer = okx.Signer("k", "s", "p", clock=lambda: 1_700_000_000_000)
    query = g.status("BTC-USDT", "c1", None)
    assert query.method == "GET" and query.path == "/api/v5/trade/order"
    assert g.rest_headers(query, signer) == {}, g.rest_headers(query, signer)
    place = Call("POST", "/api/v5/trade/order", body=b"{}")
    assert g.rest_headers(place, signer) == {"expTime": str(1_700_000_000_000 + g.request_ttl_ms)}


def test_the_session_queries_an_okx_order_without_exptime() -> None:
    """As the simulator receives them: a place carries ``expTime``, the order's state query none."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        requests = _trade_requests(sim)
        o = await a.rest_below(sim, tr, 30)
        await tr.order_status(a.symbol, client_id=o.client_id)
        seen = [(m, h) for m, p, h in requests if p == "order"]
        assert seen[0][0] == "POST" and "exptime" in seen[0][1], seen
        gets = [h for m, h in seen if m == "GET"]
        assert gets and all("exptime" not in h for h in gets), gets

    a.run(body, private_stream=False)
