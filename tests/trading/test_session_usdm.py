"""``tickwire.trade("binance-usdm")`` against the simulator: the shared cases (``session_cases``), the
listenKey user data stream (keep-alive and rotation, counted by the simulator), positions against the
simulator's ledger, reduce-only and post-only refusals, and the request shapes the derivatives docs
give for ``/fapi``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
import tickwire
from session_cases import Body, SessionCases, SimAccount, SocketCases, settle
from tickwire.errors import InsufficientFunds, InvalidOrder, OrderRejected
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.venues import binance
from tickwire.venues.binance import ListenKeyStream, UsdmOrders

KEY, SECRET = "usdm-key", "usdm-secret"

USDM = SimAccount(
    venue="binance-usdm",
    symbol="BTCUSDT",
    key=KEY,
    signer=binance.Signer(KEY, SECRET),
    register=lambda v: v.add_key(ApiKey(KEY, secret=SECRET.encode())),
    place_op="POST /fapi/v1/order",
    ws_place_op="order.place",
    amend_op="PUT /fapi/v1/order",
    unknown_symbol="NOPEUSDT",
    # Margin, not cash: 100k USDT at 20x carries 2M of notional; the shared refusal case sells 110
    # BTC (6.6M) and must be refused.
    funds={"USDT": "100000", "BTC": "100"},
)


def run(body: Body, *, keepalive_s: float | None = None, **trade_kw: Any) -> None:
    """``USDM.run`` with the user data stream's keep-alive period set before it starts."""
    a = USDM

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            tr = tickwire.trade(a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], **trade_kw)
            if keepalive_s is not None:
                assert isinstance(tr.stream, ListenKeyStream)
                tr.stream.keepalive_s = keepalive_s
            async with tr:
                await body(sim, tr)

    asyncio.run(go())


def listen_keys(sim: Simulator) -> Any:
    return sim.venue(USDM.venue).listen_keys


def ledger_position(sim: Simulator) -> tuple[Decimal, Decimal]:
    """The simulator's own position in BTCUSDT: (signed quantity, entry price)."""
    v = sim.venue(USDM.venue)
    inst = v.instruments[USDM.symbol]
    pos = v.engine.ledger.position(KEY, USDM.symbol)
    qty = inst.qty(abs(pos.lots)) * (1 if pos.lots > 0 else -1)
    return qty, abs(pos.cost) / abs(qty)


class TestUsdm(SessionCases, SocketCases):
    acct = USDM

    def test_a_marketable_order_fills_and_fills_and_balances_match_the_ledger(self) -> None:
        """The shared case, with margin balances: ``free`` is what new orders may still use (the
        simulator's margin_free), and the fill opened a position the ledger holds too."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            _, ask = a.touch(sim)
            seen: list[Any] = []
            tr._user_on_fill = seen.append
            qty = a.size(tr, ask, 2)
            o = await tr.place_order(a.symbol, "buy", "limit", qty, ask, tif="IOC")
            [theirs] = a.orders(sim, o.client_id)
            assert o.status == theirs.status.lower() == "filled" and o.filled == qty
            fills = await tr.fills(a.symbol)
            assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
            assert sum((f.qty for f in fills), Decimal(0)) == qty
            assert all(f.client_id == o.client_id for f in fills)
            # The REST answer lists no executions: the stream reported each one, once.
            await settle(lambda: len(seen) >= len(fills), "the stream's fills")
            assert sorted(f.trade_id for f in seen) == sorted(f.trade_id for f in fills)
            bal = await tr.balances()
            ledger = sim.venue(a.venue).engine.ledger
            assert bal["USDT"].free == ledger.margin_free(KEY, "USDT") < Decimal(a.funds["USDT"])
            assert bal["USDT"].total == Decimal(a.funds["USDT"])  # nothing realised yet
            assert (await tr.positions())[a.symbol].qty == qty == ledger_position(sim)[0]

        a.run(body)

    # positions ------------------------------------------------------------------------------------

    def test_positions_after_fills_equal_the_simulators_ledger_and_the_account_updates(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert await tr.positions() == {}
            bid, ask = a.touch(sim)
            buy = a.size(tr, ask, 5)
            await tr.place_order(a.symbol, "buy", "limit", buy, ask, tif="IOC")
            sell = a.size(tr, bid, 2)
            await tr.place_order(a.symbol, "sell", "limit", sell, bid, tif="IOC")
            qty, entry = ledger_position(sim)
            assert qty == buy - sell
            [pos] = (await tr.positions()).values()
            assert (pos.symbol, pos.qty, pos.entry_price) == (a.symbol, qty, entry)
            # The stream's ACCOUNT_UPDATE after the last fill says the same.
            stream: Any = tr.stream
            await settle(
                lambda: a.symbol in stream.positions and stream.positions[a.symbol].qty == qty, "update"
            )
            assert stream.positions[a.symbol].entry_price == entry
            wallet = sim.venue(a.venue).engine.ledger.balances[KEY]["USDT"]
            assert stream.wallet["USDT"] == wallet

        a.run(body)

    # reduce-only and post-only ----------------------------------------------------------------------

    def test_a_reduce_only_order_that_would_open_a_position_is_refused_and_one_that_closes_fills(
        self,
    ) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            bid, ask = a.touch(sim)
            qty = a.size(tr, ask, 2)
            with pytest.raises(OrderRejected) as e:
                await tr.place_order(a.symbol, "sell", "limit", qty, bid, tif="IOC", reduce_only=True)
            assert str(e.value.code) == "-2022"  # type: ignore[attr-defined]
            assert a.orders(sim) == [] and [o.status for o in tr.tracker] == ["rejected"]
            await tr.place_order(a.symbol, "buy", "limit", qty, ask, tif="IOC")
            # More than the position: still refused; exactly the position: closes it.
            with pytest.raises(OrderRejected):
                await tr.place_order(a.symbol, "sell", "limit", qty * 2, bid, tif="IOC", reduce_only=True)
            bid, _ = a.touch(sim)
            o = await tr.place_order(a.symbol, "sell", "limit", qty, bid, tif="IOC", reduce_only=True)
            assert o.status == "filled" and o.reduce_only
            assert sim.venue(a.venue).engine.ledger.position(KEY, a.symbol).lots == 0
            assert await tr.positions() == {}

        a.run(body)

    def test_a_post_only_order_rests_as_gtx_and_one_that_would_take_is_refused(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            bid, ask = a.touch(sim)
            o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, bid), bid, post_only=True)
            [theirs] = a.orders(sim, o.client_id)
            assert theirs.open and theirs.post_only and o.status == "new"
            with pytest.raises(OrderRejected) as e:
                await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask), ask, post_only=True)
            assert str(e.value.code) == "-5022"  # type: ignore[attr-defined]
            assert len(a.orders(sim)) == 1

        a.run(body)

    # amend, batch cancel, cancel-all ----------------------------------------------------------------

    def test_amend_of_a_partly_filled_order_keeps_its_fills_and_ids(self) -> None:
        """PUT /fapi/v1/order's quantity is the new total, filled part included."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            # A buy at the ask for more than the ask level holds: it takes the level and rests.
            ask, level = sim.book(a.venue, a.symbol).asks[0]
            o = await tr.place_order(a.symbol, "buy", "limit", level + a.size(tr, ask, 2), ask)
            [theirs] = a.orders(sim, o.client_id)
            inst = sim.venue(a.venue).instruments[a.symbol]
            filled = o.filled
            assert o.status == "partially_filled" and filled == level == inst.qty(theirs.filled)
            got = await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2)
            assert (got.qty, got.filled, got.order_id) == (o.qty * 2, filled, o.order_id)
            [theirs] = a.orders(sim, o.client_id)
            assert (inst.qty(theirs.qty), inst.qty(theirs.filled)) == (o.qty * 2, filled)
            with pytest.raises(InvalidOrder):  # not above what has filled
                await tr.amend_order(a.symbol, client_id=o.client_id, qty=filled)
            g: Any = tr.grammar
            with pytest.raises(InvalidOrder):  # a market order has no price to amend to
                g.amend(replace(o, type="market", price=None), None, None)

        a.run(body)

    def test_over_the_order_socket_amend_is_order_modify(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            o = await a.rest_below(sim, tr, 30)
            assert o.price is not None
            g: Any = tr.grammar
            new_price = o.price - 3 * tr.rules[a.symbol].tick_size
            # The socket's own fault proves the modify went over it: the venue acts, the answer is lost.
            sim.endpoint(a.venue, 0).lose_answer("order.modify")
            got = await tr.amend_order(a.symbol, client_id=o.client_id, price=new_price)
            assert sim.endpoint(a.venue, 0).lost == ["order.modify"]
            [theirs] = a.orders(sim, o.client_id)
            assert sim.venue(a.venue).instruments[a.symbol].price(theirs.price) == new_price == got.price
            await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket back")
            [st] = g.read_order(await tr.send(g.status(a.symbol, o.client_id, None)))
            assert st.price == new_price and st.status == "new" and len(a.orders(sim)) == 1

        a.run(body, transport="auto", timeout=1.0)

    def test_cancel_all_batches_cancels_by_ten_and_reports_each_order(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(12):
                await a.rest_below(sim, tr, 10 + i)
            sent: list[str] = []
            send = tr.send

            async def spy(call: Any, lane: Any = "query") -> Any:
                sent.append(f"{call.method} {call.path}")
                return await send(call, lane)

            tr.send = spy  # type: ignore[method-assign]
            done = await tr.cancel_all(a.symbol)
            assert sent == ["GET /fapi/v1/openOrders"] + ["DELETE /fapi/v1/batchOrders"] * 2
            assert len(done) == 12 and all(o.status == "canceled" for o in done) and a.open(sim) == []

        a.run(body)

    def test_a_batch_entry_for_an_order_already_gone_is_skipped_not_fatal(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            orders = [await a.rest_below(sim, tr, 10 + i) for i in range(3)]
            listed = await tr.open_orders(a.symbol)
            sim.venue(a.venue).engine.cancel(KEY, a.symbol, int(orders[1].order_id or 0), None)
            g: Any = tr.grammar
            [call] = g.cancel_orders(a.symbol, listed)
            body_ = await tr.send(call)
            assert [e.get("code") for e in body_] == [None, -2011, None]  # the venue's per-entry error
            tr.grammar.cancel_orders = lambda s, os: [call]  # type: ignore[method-assign]
            tr.grammar.cancel_all = lambda s: None  # type: ignore[method-assign]
            await tr.cancel_all(a.symbol)
            assert a.open(sim) == []

        a.run(body)

    def test_all_open_orders_cancels_at_the_venue_and_the_stream_reports_each(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            orders = [await a.rest_below(sim, tr, 10 + i) for i in range(3)]
            g: Any = tr.grammar
            answer = await tr.send(g.cancel_all_open(a.symbol))
            assert answer["code"] == 200 and a.open(sim) == []
            await settle(
                lambda: all(tr._current(o.client_id).status == "canceled" for o in orders), "stream cancels"
            )

        a.run(body)

    # the listenKey user data stream -----------------------------------------------------------------

    def test_the_listen_key_is_kept_alive_on_a_timer_and_never_replaced_while_alive(self) -> None:
        async def body(sim: Simulator, tr: TradingSession) -> None:
            stream: Any = tr.stream
            keys = listen_keys(sim)
            assert keys.issued == [stream.key] and stream.url.endswith("/private/ws/" + stream.key)
            await settle(lambda: len(keys.kept_alive) >= 3, "three keep-alives")
            assert set(keys.kept_alive) == {stream.key} and keys.issued == [stream.key]
            assert stream.keepalives >= 3 and stream.rotations == 0 and stream.connects == 1

        run(body, keepalive_s=0.05)

    def test_an_expired_key_is_rotated_and_what_changed_meanwhile_is_reconciled(self) -> None:
        a = USDM

        async def body(sim: Simulator, tr: TradingSession) -> None:
            stream: Any = tr.stream
            keys = listen_keys(sim)
            o = await a.rest_below(sim, tr, 20)
            old = keys.expire_now(KEY)
            # Canceled at the venue while no key is live: no stream carries it.
            sim.venue(a.venue).engine.cancel(KEY, a.symbol, int(o.order_id or 0), None)
            await settle(lambda: stream.rotations == 1 and stream.connects >= 2, "the new key's stream")
            assert keys.expired == [old] and keys.issued == [old, stream.key] and stream.key != old
            await settle(lambda: tr._current(o.client_id).status == "canceled", "the cancel reconciled")
            # The new key's stream carries the next order's events.
            before = stream.events
            await a.rest_below(sim, tr, 25)
            await settle(lambda: stream.events > before, "an event on the new key")

        run(body)

    def test_a_key_that_expired_unseen_is_replaced_at_the_next_keep_alive(self) -> None:
        async def body(sim: Simulator, tr: TradingSession) -> None:
            stream: Any = tr.stream
            keys = listen_keys(sim)
            old = stream.key
            keys.keys.clear()  # gone at the venue, and the expiry event never arrived
            await settle(lambda: stream.rotations == 1 and stream.connects >= 2, "a new key")
            assert keys.issued == [old, stream.key] and stream.key in keys.keys

        run(body, keepalive_s=0.05)

    def test_a_reconnect_on_an_expired_key_takes_a_new_one_first(self) -> None:
        async def body(sim: Simulator, tr: TradingSession) -> None:
            stream: Any = tr.stream
            keys = listen_keys(sim)
            old = stream.key
            keys.keys.clear()
            sim.endpoint(USDM.venue, 0).drop()
            await settle(lambda: stream.connects >= 2, "the stream back")
            assert stream.rotations == 1 and keys.issued == [old, stream.key]
            assert stream.url.endswith(stream.key) and stream.connected

        run(body)

    def test_without_a_private_stream_there_is_no_listen_key(self) -> None:
        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.stream is None and listen_keys(sim).issued == []

        run(body, private_stream=False)


# request shapes (derivatives docs "New Order", "Modify Order", "Cancel Multiple Orders", ...) ------


def _order(**kw: Any) -> Order:
    base: dict[str, Any] = {
        "venue": "binance-usdm",
        "symbol": "BTCUSDT",
        "side": "sell",
        "type": "limit",
        "qty": Decimal("0.010"),
        "price": Decimal("60000.10"),
        "client_id": "tw-abc-1",
    }
    return Order(**{**base, **kw})


def test_new_order_shapes() -> None:
    g = UsdmOrders()
    c = g.new_order(_order(post_only=True, reduce_only=True))
    assert (c.method, c.path, c.signed) == ("POST", "/fapi/v1/order", True)
    assert dict(c.params) == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "quantity": "0.01",
        "timeInForce": "GTX",
        "price": "60000.1",
        "reduceOnly": "true",
        "newClientOrderId": "tw-abc-1",
        "newOrderRespType": "RESULT",
    }
    m = g.new_order(_order(type="market", price=None, side="buy"))
    assert dict(m.params) == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.01",
        "newClientOrderId": "tw-abc-1",
        "newOrderRespType": "RESULT",
    }
    assert g.new_order(_order(tif="IOC")).params["timeInForce"] == "IOC"


def test_amend_cancel_status_and_query_shapes() -> None:
    g = UsdmOrders()
    a = g.amend(_order(order_id="42"), None, Decimal("59999.9"))
    assert (a.method, a.path) == ("PUT", "/fapi/v1/order")
    assert dict(a.params) == {
        "symbol": "BTCUSDT",
        "orderId": "42",
        "side": "SELL",
        "quantity": "0.01",
        "price": "59999.9",
    }
    assert g.amend(_order(), Decimal("0.02"), None).params["origClientOrderId"] == "tw-abc-1"
    assert dict(g.cancel("BTCUSDT", "tw-abc-1", None).params) == {
        "symbol": "BTCUSDT",
        "origClientOrderId": "tw-abc-1",
    }
    assert g.status("BTCUSDT", None, "7").params["orderId"] == "7"
    assert g.cancel_all("BTCUSDT") is None
    assert (g.open_orders(None).path, dict(g.open_orders(None).params)) == ("/fapi/v1/openOrders", {})
    f = g.fills("BTCUSDT", 1700000000000)
    assert (f.path, dict(f.params)) == (
        "/fapi/v1/userTrades",
        {"symbol": "BTCUSDT", "startTime": "1700000000000"},
    )
    assert g.balances().path == "/fapi/v2/balance"
    assert (g.positions().path, dict(g.positions("ETHUSDT").params)) == (
        "/fapi/v2/positionRisk",
        {"symbol": "ETHUSDT"},
    )
    i = g.instruments()
    assert (i.path, i.signed) == ("/fapi/v1/exchangeInfo", False)
    lk, ka = g.listen_key(), g.keep_alive("K")
    assert (lk.method, lk.path, lk.signed, dict(lk.params)) == ("POST", "/fapi/v1/listenKey", False, {})
    assert (ka.method, dict(ka.params), ka.signed) == ("PUT", {"listenKey": "K"}, False)


def test_cancel_orders_batch_by_ten_with_json_arrays() -> None:
    g = UsdmOrders()
    with_ids = [_order(order_id=str(100 + i), client_id=f"c{i}") for i in range(23)]
    calls = g.cancel_orders("BTCUSDT", [*with_ids, _order(client_id="only-cid")])
    assert [(c.method, c.path) for c in calls] == [("DELETE", "/fapi/v1/batchOrders")] * 4
    lists = [orjson.loads(c.params.get("orderIdList", "[]")) for c in calls[:3]]
    assert [len(x) for x in lists] == [10, 10, 3] and lists[0][:2] == [100, 101]
    assert calls[0].params["orderIdList"].startswith("[100,101,")  # no spaces, as the docs ask
    assert dict(calls[3].params) == {"symbol": "BTCUSDT", "origClientOrderIdList": '["only-cid"]'}


def test_ws_api_methods() -> None:
    g = UsdmOrders()
    signer = binance.Signer(KEY, SECRET, clock=lambda: 1_700_000_000_000)
    want = [
        (g.new_order(_order()), "order.place"),
        (g.amend(_order(order_id="1"), None, None), "order.modify"),
        (g.cancel("BTCUSDT", "x", None), "order.cancel"),
        (g.status("BTCUSDT", "x", None), "order.status"),
    ]
    for call, method in want:
        raw = g.ws_request(call, signer, "r1")
        assert raw is not None
        msg = orjson.loads(raw)
        assert msg["method"] == method and msg["id"] == "r1"
        assert msg["params"]["apiKey"] == KEY and "signature" in msg["params"]
    # Everything else goes over REST.
    assert g.ws_request(g.fills("BTCUSDT", None), signer, "r2") is None
    assert g.ws_request(g.positions(), signer, "r3") is None


def test_documented_answers_read() -> None:
    """The derivatives docs' example answers (trimmed), read."""
    g = UsdmOrders()
    [ev] = g.read_order(
        {
            "clientOrderId": "testOrder",
            "cumQty": "0",
            "cumQuote": "0",
            "executedQty": "0",
            "orderId": 22542179,
            "avgPrice": "0.00000",
            "origQty": "10",
            "price": "0",
            "reduceOnly": False,
            "side": "BUY",
            "positionSide": "SHORT",
            "status": "NEW",
            "stopPrice": "9300",
            "closePosition": False,
            "symbol": "BTCUSDT",
            "timeInForce": "GTD",
            "type": "TRAILING_STOP_MARKET",
            "origType": "TRAILING_STOP_MARKET",
            "updateTime": 1566818724722,
        }
    )
    assert (ev.client_id, ev.order_id, ev.status, ev.avg_price, ev.tif) == (
        "testOrder",
        "22542179",
        "new",
        None,
        None,
    )
    with pytest.raises(tickwire.errors.OrderNotFound):
        g.read_order({"code": -2011, "msg": "Unknown order sent."})
    [fill] = g.read_fills(
        [
            {
                "buyer": False,
                "commission": "-0.07819010",
                "commissionAsset": "USDT",
                "id": 698759,
                "maker": False,
                "orderId": 25851813,
                "price": "7819.01",
                "qty": "0.002",
                "quoteQty": "15.63802",
                "realizedPnl": "-0.91539999",
                "side": "SELL",
                "positionSide": "SHORT",
                "symbol": "BTCUSDT",
                "time": 1569514978020,
            }
        ]
    )
    assert (fill.trade_id, fill.side, fill.price, fill.qty, fill.liquidity) == (
        "698759",
        "sell",
        Decimal("7819.01"),
        Decimal("0.002"),
        "taker",
    )
    [(asset, bal)] = g.read_balances(
        [
            {
                "accountAlias": "SgsR",
                "asset": "USDT",
                "balance": "122607.35137903",
                "crossWalletBalance": "23.72469206",
                "crossUnPnl": "0.00000000",
                "availableBalance": "23.72469206",
                "maxWithdrawAmount": "23.72469206",
                "marginAvailable": True,
                "updateTime": 1617939110373,
            }
        ]
    ).items()
    assert asset == "USDT" and bal.free == Decimal("23.72469206") and bal.total == Decimal("122607.35137903")
    [ev] = g.read_stream(
        {
            "e": "ORDER_TRADE_UPDATE",
            "E": 1568879465651,
            "T": 1568879465650,
            "o": {
                "s": "BTCUSDT",
                "c": "TEST",
                "S": "SELL",
                "o": "TRAILING_STOP_MARKET",
                "f": "GTC",
                "q": "0.001",
                "p": "0",
                "ap": "0",
                "sp": "7103.04",
                "x": "NEW",
                "X": "NEW",
                "i": 8886774,
                "l": "0",
                "z": "0",
                "L": "0",
                "N": "USDT",
                "n": "0",
                "T": 1568879465650,
                "t": 0,
                "m": False,
                "R": False,
                "ps": "LONG",
            },
        }
    )
    assert (ev.client_id, ev.order_id, ev.status, ev.fill, ev.qty) == (
        "TEST",
        "8886774",
        "new",
        None,
        Decimal("0.001"),
    )
    assert g.key_expired({"e": "listenKeyExpired", "E": 1576653824250, "listenKey": "x"})
    got = g.read_account_update(
        {
            "e": "ACCOUNT_UPDATE",
            "E": 1564745798939,
            "T": 1564745798938,
            "a": {
                "m": "ORDER",
                "B": [{"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678", "bc": "50.12345678"}],
                "P": [
                    {
                        "s": "BTCUSDT",
                        "pa": "0",
                        "ep": "0.00000",
                        "cr": "200",
                        "up": "0",
                        "mt": "isolated",
                        "iw": "0",
                        "ps": "BOTH",
                    },
                    {
                        "s": "BTCUSDT",
                        "pa": "20",
                        "ep": "6563.66500",
                        "cr": "0",
                        "up": "2850.2",
                        "mt": "isolated",
                        "iw": "13200",
                        "ps": "LONG",
                    },
                ],
            },
        }
    )
    assert got is not None
    wallet, pos = got
    assert (
        wallet == {"USDT": Decimal("122624.12345678")} and pos["BTCUSDT"].qty == 0
    )  # hedge-mode legs skipped


def test_binance_usdm_trade_session_has_the_listen_key_stream_and_order_socket() -> None:
    tr = tickwire.trade("binance-usdm", credentials=binance.Signer(KEY, SECRET), transport="auto")
    assert isinstance(tr.grammar, UsdmOrders) and isinstance(tr.stream, ListenKeyStream)
    assert tr.stream.base == "wss://fstream.binance.com/private/ws"
    assert tr.orders_ws is not None and tr.orders_ws.url == "wss://ws-fapi.binance.com/ws-fapi/v1"
    assert tr.endpoint.rest == "https://fapi.binance.com"


def test_insufficient_margin_is_insufficient_funds() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        _, ask = USDM.touch(sim)
        # 100k USDT at 20x carries 2M: 40 BTC at 60k is 2.4M.
        with pytest.raises(InsufficientFunds):
            await tr.place_order(
                USDM.symbol, "buy", "limit", Decimal(40), ask + 1000 * tr.rules[USDM.symbol].tick_size
            )
        assert USDM.orders(sim) == []

    run(body)
