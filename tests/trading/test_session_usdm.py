"""``tickwire.trade("binance-usdm")`` against the simulator: the shared cases (``session_cases``), the
listenKey user data stream (keep-alive and rotation, counted by the simulator), positions against the
simulator's ledger, reduce-only and post-only refusals (the request shapes the derivatives docs give
for ``/fapi``: ``tests/venues/test_binance_usdm.py``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from session_cases import Body, SessionCases, SimAccount, SocketCases, settle
from tickwire.errors import InsufficientFunds, InvalidOrder, OrderRejected
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
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

            async def spy(call: Any, lane: Any = "query", **kw: Any) -> Any:
                sent.append(f"{call.method} {call.path}")
                return await send(call, lane, **kw)

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
            assert keys.issued == [stream.key]
            assert stream.url.endswith(
                f"/private/ws?listenKey={stream.key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired"
            )
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
            assert f"listenKey={stream.key}&" in stream.url and stream.connected

        run(body)

    def test_the_stream_is_up_while_the_reconciliation_after_a_reconnect_asks(self) -> None:
        """An order rests; the stream is dropped and comes back on its key, and the reconciliation's
        status query is held at the venue: the stream counts as up meanwhile (``connected``, what
        ``health()`` and ``Watch(link_lost_s=…)`` read), as every other venue's private stream does,
        and the venue's next event on it is applied before the query is answered. Before, the
        listen-key stream awaited the reconciliation inside its connect step: down for as long as the
        queries took ("timed out waiting for the stream up while the query is held")."""
        a = USDM

        async def body(sim: Simulator, tr: TradingSession) -> None:
            stream: Any = tr.stream
            o = await a.rest_below(sim, tr, 20)
            other = await a.rest_below(sim, tr, 21)
            gate, asked = asyncio.Event(), asyncio.Event()

            async def meanwhile() -> None:
                asked.set()
                await gate.wait()

            ep = sim.endpoint(a.venue, 0)
            ep.hold_answer("GET /fapi/v1/order", meanwhile)
            ep.drop()
            await asyncio.wait_for(asked.wait(), 5)
            try:
                await settle(
                    lambda: stream.connected and stream.connects >= 2,
                    "the stream up while the query is held",
                    3,
                )
                await tr.cancel_order(a.symbol, client_id=other.client_id)  # its event on the stream
                assert tr._current(other.client_id).status == "canceled"
                assert tr.health()["stream_connected"] is True
            finally:
                gate.set()
            await settle(lambda: tr._current(o.client_id).status == "new", "the reconciled order")

        run(body)

    def test_without_a_private_stream_there_is_no_listen_key(self) -> None:
        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.stream is None and listen_keys(sim).issued == []

        run(body, private_stream=False)


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
