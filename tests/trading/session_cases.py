"""The trading-session cases every venue's REST grammar must pass against the simulator, checked against
the simulator's own order list, fills and ledger, never against what the client says of itself.

A venue's test module subclasses :class:`SessionCases` as ``Test<Venue>`` with its :class:`SimAccount`;
pytest collects the inherited cases under that class."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, Decimal
from typing import Any, ClassVar

import pytest
import tickwire
from tickwire.errors import InsufficientFunds, InvalidOrder, OrderNotFound, TransportError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

Body = Callable[[Simulator, TradingSession], Awaitable[None]]


@dataclass(frozen=True)
class SimAccount:
    """One funded account on one simulated venue and the session's view of it."""

    venue: str
    symbol: str
    key: str
    signer: Any  # the venue's Signer for ``key``
    register: Callable[[Any], None]  # adds ``key`` to the simulator's venue
    place_op: str  # the REST operation that places an order, for ``lose_answer``
    unknown_symbol: str
    ws_place_op: str = ""  # the order socket's place operation (method or op), for ``lose_answer``
    amend_op: str = ""  # the REST operation that amends an order, for ``lose_answer``
    amend_reprices: bool = True  # False: the venue's amend only lowers the quantity (Binance spot)
    funds: dict[str, str] = field(default_factory=lambda: {"USDT": "1000000", "BTC": "100"})
    # The same key's Signer with a request window shorter than the venue's default (Binance spot's
    # ``recvWindow``), for the cases that wait one out after a request was lost; None: ``signer``.
    short_window_signer: Any = None

    def run(
        self,
        body: Body,
        before: Callable[[Simulator], None] | None = None,
        *,
        sim_timeouts: Mapping[str, float] | None = None,
        **trade_kw: Any,
    ) -> None:
        """``body`` with a session on a fresh simulator; ``before``: on the simulator first;
        ``sim_timeouts``: the simulator's intervals overridden by name (``Simulator(timeouts=…)``)."""

        async def go() -> None:
            async with Simulator([self.venue], seed=31, rate=0, depth=20, timeouts=sim_timeouts) as sim:
                self.register(sim.venue(self.venue))
                sim.fund(self.venue, self.key, self.funds)
                if before is not None:
                    before(sim)
                async with tickwire.trade(
                    self.venue, credentials=self.signer, endpoints=sim.urls()[self.venue], **trade_kw
                ) as tr:
                    await body(sim, tr)

        asyncio.run(go())

    def short_window(self) -> SimAccount:
        """This account signing with ``short_window_signer`` where it has one: a case that must wait
        out the venue's request window after losing a request waits 1 s instead of 5."""
        return self if self.short_window_signer is None else replace(self, signer=self.short_window_signer)

    def orders(self, sim: Simulator, client_id: str | None = None) -> list[Any]:
        """The simulator's orders (of ``client_id``)."""
        engine = sim.venue(self.venue).engine
        return [o for o in engine.orders.values() if client_id is None or o.client_id == client_id]

    def open(self, sim: Simulator) -> list[Any]:
        return [o for o in self.orders(sim) if o.open]

    def touch(self, sim: Simulator) -> tuple[Decimal, Decimal]:
        book = sim.book(self.venue, self.symbol)
        return book.bids[0][0], book.asks[0][0]

    def size(self, tr: TradingSession, price: Decimal, times: int = 1) -> Decimal:
        """The smallest quantity the venue's rules accept at ``price`` (lot, min qty, min notional),
        times ``times``."""
        r = tr.rules[self.symbol]
        notional = r.min_notional or Decimal(0)
        lots = (notional / price / r.lot_size).to_integral_value(rounding=ROUND_CEILING)
        return max(r.min_qty, lots * r.lot_size) * times

    def free(self, sim: Simulator, asset: str) -> Decimal:
        return Decimal(sim.venue(self.venue).engine.ledger.free(self.key, asset))

    async def place_taken_late(self, sim: Simulator, tr: TradingSession) -> None:
        """A buy the venue handles 1.2 s after it arrives (its queue; only the place is held), past
        a 0.5 s session time-out: the caller gets the order as the venue holds it, once — not "not
        placed" (the session waits its request's window, else ``lost_order_wait_s``, and looks again)."""
        bid, _ = self.touch(sim)
        price = bid - 10 * tr.rules[self.symbol].tick_size
        ep = sim.endpoint(self.venue, 0)
        ep.delay(1.2)
        asyncio.get_running_loop().call_later(0.3, ep.delay, 0.0)
        o = await tr.place_order(self.symbol, "buy", "limit", self.size(tr, price), price)
        [theirs] = self.orders(sim, o.client_id)
        assert theirs.open and o.status == "new" and o.order_id == str(theirs.id)

    async def rest_below(self, sim: Simulator, tr: TradingSession, ticks: int, times: int = 1) -> Any:
        """A buy resting ``ticks`` below the best bid."""
        bid, _ = self.touch(sim)
        price = bid - ticks * tr.rules[self.symbol].tick_size
        return await tr.place_order(self.symbol, "buy", "limit", self.size(tr, price, times), price)


async def settle(check: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    """Waits until ``check()`` holds (a stream event, a reconnect)."""
    end = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def market_buy_cost(sim: Any, venue: str, symbol: str, qty: Decimal) -> Decimal:
    """What a market buy of ``qty`` takes from the simulator's own asks (its book is the venue's)."""
    left, cost = qty, Decimal(0)
    for price, size in sim.book(venue, symbol).asks:
        take = min(left, size)
        cost, left = cost + take * price, left - take
        if left <= 0:
            return cost
    raise AssertionError("the simulator's book cannot fill it")


async def _amend_checked(a: SimAccount, sim: Simulator, tr: TradingSession, o: Any) -> None:
    """Amends ``o`` (resting, 3 minimum sizes) down to 2 sizes one tick lower (at its price where the
    venue's amend cannot reprice), then refuses an off-tick price without sending it; the simulator's
    order must carry exactly the tracked terms."""
    inst = sim.venue(a.venue).instruments[a.symbol]
    tick = tr.rules[a.symbol].tick_size
    qty, price = o.qty * 2 / 3, o.price - tick if a.amend_reprices else o.price

    def venue_terms() -> tuple[Decimal, Decimal]:
        [theirs] = a.orders(sim, o.client_id)
        return theirs.qty * inst.lot, theirs.price * inst.tick

    got = await tr.amend_order(a.symbol, client_id=o.client_id, qty=qty, price=price)
    assert (got.qty, got.price, got.order_id, got.status) == (qty, price, o.order_id, "new")
    assert venue_terms() == (qty, price)
    with pytest.raises(InvalidOrder):
        await tr.amend_order(a.symbol, client_id=o.client_id, price=price + tick / 2)
    with pytest.raises(InvalidOrder):
        await tr.amend_order(a.symbol, client_id=o.client_id, qty=Decimal(0))
    assert venue_terms() == (qty, price) and tr.tracker.get(o.client_id) == got


class SessionCases:
    acct: ClassVar[SimAccount]

    def test_rest_amend_cancel_and_open_orders_agree_with_the_simulator(self) -> None:
        """Rest → amend (where the venue has one; else ``NotSupported``) → cancel, every step checked
        against the simulator's own order: its id, quantity and price."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            o = await a.rest_below(sim, tr, 50, 3)
            [theirs] = a.orders(sim, o.client_id)
            assert theirs.open and str(theirs.id) == o.order_id and o.status == "new"
            assert [x.client_id for x in await tr.open_orders(a.symbol)] == [o.client_id]
            st = await tr.order_status(a.symbol, client_id=o.client_id)
            assert st.status == "new" and st.qty == o.qty and st.price == o.price
            if not hasattr(tr.grammar, "amend"):
                with pytest.raises(tickwire.errors.NotSupported):
                    await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty / 3)
            else:
                await _amend_checked(a, sim, tr, o)
            if not hasattr(tr.grammar, "positions"):  # a spot venue
                with pytest.raises(tickwire.errors.NotSupported):
                    await tr.positions()
            c = await tr.cancel_order(a.symbol, client_id=o.client_id)
            assert c.status == "canceled" and not a.orders(sim, o.client_id)[0].open
            assert await tr.open_orders(a.symbol) == []

        a.run(body)

    def test_an_amend_whose_answer_is_lost_is_reconciled_and_one_never_sent_is_not_applied(self) -> None:
        """An amend the venue applied though its answer was lost is reconciled into the applied terms;
        one that never reached the venue (held unanswered until the 1 s request time-out) is "did not
        take effect" once the venue could no longer take it — where the venue bounds that by a signed
        request window (Binance spot's ``recvWindow``), after a 1 s one has passed — and the
        simulator's order keeps the reconciled terms."""
        a = self.acct
        if not a.amend_op:
            pytest.skip(f"{a.venue}: no amend operation declared")
        a = a.short_window()

        async def body(sim: Simulator, tr: TradingSession) -> None:
            o = await a.rest_below(sim, tr, 50, 3)
            tick = tr.rules[a.symbol].tick_size
            inst = sim.venue(a.venue).instruments[a.symbol]

            def change(n: int) -> dict[str, Decimal]:
                # n ticks lower; where the venue's amend only lowers the quantity, n sizes smaller
                return {"price": o.price - n * tick} if a.amend_reprices else {"qty": o.qty * (3 - n) / 3}

            def venue_terms() -> tuple[Decimal, Decimal]:
                [theirs] = a.orders(sim, o.client_id)
                return theirs.qty * inst.lot, theirs.price * inst.tick

            sim.endpoint(a.venue, 0).lose_answer(a.amend_op)
            got = await tr.amend_order(a.symbol, client_id=o.client_id, **change(1))
            assert sim.endpoint(a.venue, 0).lost == [a.amend_op]  # the venue did it; the answer was lost
            assert {k: getattr(got, k) for k in change(1)} == change(1)
            assert venue_terms() == (got.qty, got.price)
            sim.endpoint(a.venue, 0).fail(1, timeout=True)
            with pytest.raises(TransportError, match="did not take effect"):
                await tr.amend_order(a.symbol, client_id=o.client_id, **change(2))
            assert tr.tracker.get(o.client_id) == got and venue_terms() == (got.qty, got.price)
            assert len(a.orders(sim)) == 1  # amended in place: no second order

        a.run(body, timeout=1.0)

    def test_a_marketable_order_fills_and_fills_and_balances_match_the_ledger(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            _, ask = a.touch(sim)
            seen: list[Any] = []
            tr._user_on_fill = seen.append
            qty = a.size(tr, ask, 2)
            o = await tr.place_order(a.symbol, "buy", "limit", qty, ask, tif="IOC")
            [theirs] = a.orders(sim, o.client_id)
            assert o.status == theirs.status.lower() == "filled"
            assert o.filled == qty
            fills = await tr.fills(a.symbol)
            assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
            assert sum((f.qty for f in fills), Decimal(0)) == qty
            assert all(f.client_id == o.client_id for f in fills)
            assert {f.trade_id for f in seen} == {f.trade_id for f in fills} and len(seen) == len(fills)
            bal = await tr.balances()
            for asset in ("BTC", "USDT"):
                assert bal[asset].free == a.free(sim, asset)

        a.run(body)

    def test_a_lost_answer_is_reconciled_into_exactly_one_order(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            sim.endpoint(a.venue, 0).lose_answer(a.place_op)
            o = await a.rest_below(sim, tr, 10)
            # The venue placed it; the client never heard, asked, and found it — no second order.
            assert len(a.orders(sim, o.client_id)) == 1 and len(a.orders(sim)) == 1
            assert o.status == "new" and o.order_id == str(a.orders(sim)[0].id)
            assert sim.endpoint(a.venue, 0).lost == [a.place_op]

        a.run(body, timeout=1.0)

    def test_a_request_that_never_reached_the_venue_is_proven_absent_and_not_resent(self) -> None:
        """Proven absent once the venue can no longer take it (Binance spot: its ``recvWindow``, 1 s
        here, after the last signature), and never resent."""
        a = self.acct.short_window()

        async def body(sim: Simulator, tr: TradingSession) -> None:
            sim.endpoint(a.venue, 0).fail(1, timeout=True)
            with pytest.raises(TransportError):
                await a.rest_below(sim, tr, 10)
            assert a.orders(sim) == []
            assert tr.tracker.open_orders() == [] and tr.tracker.in_flight() == []

        a.run(body, timeout=0.5)

    def test_a_5xx_on_submit_is_reconciled_not_resent(self) -> None:
        """An HTTP 503 says nothing of the order's fate: reconciled (here it never reached the venue),
        then the same intent placed anew succeeds once. (Binance spot: "not placed" only once its
        ``recvWindow``, 1 s here, has passed.)"""
        a = self.acct.short_window()

        async def body(sim: Simulator, tr: TradingSession) -> None:
            sim.endpoint(a.venue, 0).fail(1, status=503)
            with pytest.raises(TransportError, match="was not placed"):
                await a.rest_below(sim, tr, 10)
            assert a.orders(sim) == [] and tr.tracker.in_flight() == []
            o = await a.rest_below(sim, tr, 10)
            assert [x.client_id for x in a.orders(sim)] == [o.client_id]

        a.run(body)

    def test_a_refusal_is_the_venues_typed_error_and_the_order_is_rejected(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            _, ask = a.touch(sim)
            price = ask + 100 * tr.rules[a.symbol].tick_size
            with pytest.raises(InsufficientFunds):
                await tr.place_order(a.symbol, "sell", "limit", Decimal(a.funds["BTC"]) + 10, price)
            [mine] = list(tr.tracker)
            assert mine.status == "rejected" and a.open(sim) == []

        a.run(body)

    @pytest.mark.parametrize(
        "qty,price,rule",
        [
            ("off-tick", "tick", "tick_size"),
            ("below-lot", None, "lot_size"),
            ("negative", None, None),
            ("nan", None, None),
        ],
    )
    def test_bad_input_gets_a_typed_error_and_sends_nothing(
        self, qty: str, price: str | None, rule: str | None
    ) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            bid, _ = a.touch(sim)
            r = tr.rules[a.symbol]
            one = a.size(tr, bid)
            args: dict[str, Any] = {
                "off-tick": (one, bid - r.tick_size / 2),
                "below-lot": (one + r.lot_size / 2, bid),
                "negative": (-one, bid),
                "nan": (Decimal("NaN"), bid),
            }
            q, p = args[qty]
            with pytest.raises(InvalidOrder) as e:
                await tr.place_order(a.symbol, "buy", "limit", q, p)
            if rule is not None:
                assert e.value.rule == rule
            with pytest.raises(InvalidOrder):
                await tr.place_order(a.unknown_symbol, "buy", "limit", one, bid)
            assert a.orders(sim) == []

        a.run(body)

    def test_cancel_all_cancels_every_open_order_at_the_venue(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(3):
                await a.rest_below(sim, tr, 10 + i)
            assert len(a.open(sim)) == 3
            done = await tr.cancel_all()
            assert len(done) == 3 and all(o.status == "canceled" for o in done)
            assert a.open(sim) == []

        a.run(body)


class AckCases:
    """The cases of a venue whose place and cancel answer with an acknowledgement only (OKX, Bybit):
    the session asks for the order's state with ``status_op``; market buys are sized in the base
    asset; a cancel of a closed order and the status of an unknown one are ``OrderNotFound``."""

    acct: ClassVar[SimAccount]
    status_op: ClassVar[str]  # the REST operation of the status query, for ``lose_answer``

    def test_a_market_buy_is_sized_in_the_base_asset_and_fills(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            _, ask = a.touch(sim)
            usdt = a.free(sim, "USDT")
            qty = a.size(tr, ask, 3)
            o = await tr.place_order(a.symbol, "buy", "market", qty)
            [theirs] = a.orders(sim, o.client_id)
            assert o.status == "filled" and o.filled == qty == sum(f.qty for f in await tr.fills(a.symbol))
            assert theirs.status == "FILLED" and o.avg_price is not None
            assert a.free(sim, "BTC") == Decimal(a.funds["BTC"]) + qty
            assert a.free(sim, "USDT") == usdt - qty * o.avg_price

        a.run(body)

    def test_an_ack_whose_state_query_is_lost_still_returns_the_placed_order(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            sim.endpoint(a.venue, 0).lose_answer(self.status_op)
            o = await a.rest_below(sim, tr, 10)
            [theirs] = a.orders(sim)
            assert o.order_id == str(theirs.id) and o.status == "new"  # as the ack left it, not resent
            assert sim.endpoint(a.venue, 0).lost == [self.status_op]
            assert (await tr.order_status(a.symbol, client_id=o.client_id)).status == "new"

        a.run(body, timeout=1.0)

    def test_cancelling_a_closed_order_is_order_not_found(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            o = await a.rest_below(sim, tr, 10)
            await tr.cancel_order(a.symbol, client_id=o.client_id)
            with pytest.raises(OrderNotFound):
                await tr.cancel_order(a.symbol, client_id=o.client_id)
            with pytest.raises(OrderNotFound):
                await tr.order_status(a.symbol, client_id="neverplaced1")

        a.run(body)


class SocketCases:
    """The cases of a venue with a private stream and an order socket (``transport="auto"``)."""

    acct: ClassVar[SimAccount]

    def test_each_fill_is_reported_once_though_the_answer_and_the_stream_both_carry_it(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.stream is not None and tr.stream.connected
            fills: list[Any] = []
            tr._user_on_fill = fills.append
            _, ask = a.touch(sim)
            qty = a.size(tr, ask, 3)
            o = await tr.place_order(a.symbol, "buy", "limit", qty, ask, tif="IOC")
            [theirs] = a.orders(sim, o.client_id)
            assert theirs.fills  # it traded: the answer (or its state query) and the stream both report
            await settle(
                lambda: tr.stream is not None and tr.stream.events >= len(theirs.fills), "stream events"
            )
            assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
            assert tr._current(o.client_id).filled == qty

        a.run(body)

    def test_duplicated_and_reordered_private_events_leave_every_order_as_the_venue_has_it(self) -> None:
        """The venue's private stream sends each message twice and out of order: a cancel only the
        stream reports still ends canceled, each fill of a marketable order is reported once, and
        nothing is flagged as an anomaly."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.stream is not None and tr.stream.connected
            faults = sim.venue(a.venue).private_faults
            sim.venue(a.venue).scramble_private(duplicate=1000, reorder=True)
            fills: list[Any] = []
            tr._user_on_fill = fills.append
            resting = await a.rest_below(sim, tr, 20)
            sim.venue(a.venue).engine.cancel(a.key, a.symbol, None, resting.client_id)
            _, ask = a.touch(sim)
            qty = a.size(tr, ask, 3)
            o = await tr.place_order(a.symbol, "buy", "limit", qty, ask, tif="IOC")
            [theirs] = a.orders(sim, o.client_id)
            await settle(lambda: tr._current(resting.client_id).status == "canceled", "the venue's cancel")
            await settle(lambda: len(fills) >= len(theirs.fills), "every fill")
            await asyncio.sleep(0.2)  # the held and duplicated copies, all delivered
            assert faults.sent > 0 and faults.duplicate < 1000  # the stream did scramble
            assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
            assert tr._current(o.client_id).filled == qty and tr._current(o.client_id).status == "filled"
            assert tr._current(resting.client_id).status == "canceled" and tr.tracker.anomalies == 0

        a.run(body)

    def test_a_lost_answer_for_a_filling_order_counts_its_fills_once(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            fills: list[Any] = []
            tr._user_on_fill = fills.append
            _, ask = a.touch(sim)
            qty = a.size(tr, ask, 2)
            sim.endpoint(a.venue, 0).lose_answer(a.place_op)
            o = await tr.place_order(a.symbol, "buy", "limit", qty, ask, tif="IOC")
            [theirs] = a.orders(sim)
            assert theirs.client_id == o.client_id and o.status == "filled" and o.filled == qty
            await asyncio.sleep(0.2)  # the stream's copies of the same executions, if any are late
            assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)

        a.run(body, timeout=1.0)

    def test_what_changed_while_the_private_stream_was_down_is_reconciled_after_it_returns(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.stream is not None
            seen: list[Any] = []
            tr._user_on_order = seen.append
            o = await a.rest_below(sim, tr, 20)
            sim.endpoint(a.venue, 0).drop()
            # Canceled at the venue (another script on the key, say) while nothing listens.
            sim.venue(a.venue).engine.cancel(a.key, a.symbol, int(o.order_id or 0), None)
            await settle(lambda: tr.stream is not None and tr.stream.connects >= 2, "the stream back")
            await settle(lambda: tr._current(o.client_id).status == "canceled", "the cancel reconciled")
            assert seen[-1].client_id == o.client_id and seen[-1].status == "canceled"
            assert not a.orders(sim, o.client_id)[0].open

        a.run(body)

    def test_over_the_order_socket_a_socket_cut_mid_request_is_reconciled_into_one_order(self) -> None:
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.orders_ws is not None and tr.orders_ws.connected
            # The socket's own fault proves the place went over it: it cuts the socket after the order.
            sim.endpoint(a.venue, 0).lose_answer(a.ws_place_op)
            o = await a.rest_below(sim, tr, 30)
            assert sim.endpoint(a.venue, 0).lost == [a.ws_place_op]
            assert len(a.orders(sim)) == 1 and a.orders(sim, o.client_id)[0].open and o.status == "new"
            await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connects >= 2, "the socket back")
            if not hasattr(tr.grammar, "positions"):  # a spot venue
                with pytest.raises(tickwire.errors.NotSupported):
                    await tr.positions()
            c = await tr.cancel_order(a.symbol, client_id=o.client_id)
            assert c.status == "canceled" and not a.orders(sim, o.client_id)[0].open

        a.run(body, transport="auto", timeout=1.0)
