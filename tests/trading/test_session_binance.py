"""``tickwire.trade("binance")`` over REST against the simulator: every assertion is checked against the
simulator's own order list, fills and ledger, never against what the client says of itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest
import tickwire
from tickwire.errors import InvalidOrder, TransportError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.venues import binance

KEY, SECRET = "trade-key", "trade-secret"
SYMBOL = "BTCUSDT"


def run(body: Callable[[Simulator, TradingSession], Awaitable[None]], **trade_kw: Any) -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            sim.venue("binance").add_key(ApiKey(KEY, secret=SECRET.encode()))  # type: ignore[attr-defined]
            sim.fund("binance", KEY, {"USDT": "1000000", "BTC": "100"})
            async with tickwire.trade(
                "binance",
                credentials=binance.Signer(KEY, SECRET),
                endpoints=sim.urls()["binance"],
                **trade_kw,
            ) as tr:
                await body(sim, tr)

    asyncio.run(go())


def sim_orders(sim: Simulator, client_id: str | None = None) -> list[Any]:
    engine = sim.venue("binance").engine
    return [o for o in engine.orders.values() if client_id is None or o.client_id == client_id]


def touch(sim: Simulator) -> tuple[Decimal, Decimal]:
    book = sim.book("binance", SYMBOL)
    return book.bids[0][0], book.asks[0][0]


def size(tr: TradingSession, price: Decimal, times: int = 1) -> Decimal:
    """The smallest quantity the venue's rules accept at ``price`` (lot, min qty, min notional),
    times ``times``."""
    r = tr.rules[SYMBOL]
    lots = ((r.min_notional or Decimal(0)) / price / r.lot_size).to_integral_value(rounding=ROUND_CEILING)
    return max(r.min_qty, lots * r.lot_size) * times


def test_rest_amend_unsupported_cancel_and_open_orders_agree_with_the_simulator() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = touch(sim)
        rules = tr.rules[SYMBOL]
        price = bid - 50 * rules.tick_size
        qty = size(tr, price, 3)
        o = await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        [theirs] = sim_orders(sim, o.client_id)
        assert theirs.open and str(theirs.id) == o.order_id and o.status == "new"
        assert [x.client_id for x in await tr.open_orders(SYMBOL)] == [o.client_id]
        st = await tr.order_status(SYMBOL, client_id=o.client_id)
        assert st.status == "new" and st.qty == qty
        with pytest.raises(tickwire.errors.NotSupported):
            await tr.amend_order(SYMBOL, client_id=o.client_id, qty=qty / 3)
        c = await tr.cancel_order(SYMBOL, client_id=o.client_id)
        assert c.status == "canceled" and not theirs.open
        assert await tr.open_orders(SYMBOL) == []

    run(body)


def test_a_marketable_order_fills_and_fills_and_balances_match_the_ledger() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        _, ask = touch(sim)
        seen: list[Any] = []
        tr._user_on_fill = seen.append
        qty = size(tr, ask, 2)
        o = await tr.place_order(SYMBOL, "buy", "limit", qty, ask, tif="IOC")
        [theirs] = sim_orders(sim, o.client_id)
        assert o.status == theirs.status.lower() == "filled"
        assert o.filled == qty
        fills = await tr.fills(SYMBOL)
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        assert sum((f.qty for f in fills), Decimal(0)) == qty
        assert {f.trade_id for f in seen} == {f.trade_id for f in fills} and len(seen) == len(fills)
        ledger = sim.venue("binance").engine.ledger
        bal = await tr.balances()
        for asset in ("BTC", "USDT"):
            assert bal[asset].free == ledger.free(KEY, asset)

    run(body)


def test_a_lost_answer_is_reconciled_into_exactly_one_order() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = touch(sim)
        rules = tr.rules[SYMBOL]
        sim.endpoint("binance", 0).lose_answer("POST /api/v3/order")
        price = bid - 10 * rules.tick_size
        o = await tr.place_order(SYMBOL, "buy", "limit", size(tr, price), price)
        # The venue placed it; the client never heard, asked, and found it — no second order.
        assert len(sim_orders(sim, o.client_id)) == 1 and len(sim_orders(sim)) == 1
        assert o.status == "new" and o.order_id == str(sim_orders(sim)[0].id)
        assert sim.endpoint("binance", 0).lost == ["POST /api/v3/order"]

    run(body, timeout=1.0)


def test_a_request_that_never_reached_the_venue_is_proven_absent_and_not_resent() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = touch(sim)
        rules = tr.rules[SYMBOL]
        sim.endpoint("binance", 0).fail(1, timeout=True)
        price = bid - 10 * rules.tick_size
        with pytest.raises(TransportError):
            await tr.place_order(SYMBOL, "buy", "limit", size(tr, price), price)
        assert sim_orders(sim) == []
        assert tr.tracker.open_orders() == [] and tr.tracker.in_flight() == []

    run(body, timeout=0.5)


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
    qty: str, price: str | None, rule: str | None
) -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = touch(sim)
        r = tr.rules[SYMBOL]
        args: dict[str, Any] = {
            "off-tick": (size(tr, bid), bid - r.tick_size / 2),
            "below-lot": (size(tr, bid) + r.lot_size / 2, bid),
            "negative": (-size(tr, bid), bid),
            "nan": (Decimal("NaN"), bid),
        }
        q, p = args[qty]
        with pytest.raises(InvalidOrder) as e:
            await tr.place_order(SYMBOL, "buy", "limit", q, p)
        if rule is not None:
            assert e.value.rule == rule
        with pytest.raises(InvalidOrder):
            await tr.place_order("NOPEUSDT", "buy", "limit", size(tr, bid), bid)
        assert sim_orders(sim) == []

    run(body)


def test_cancel_all_cancels_every_open_order_at_the_venue() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = touch(sim)
        r = tr.rules[SYMBOL]
        for i in range(3):
            price = bid - (10 + i) * r.tick_size
            await tr.place_order(SYMBOL, "buy", "limit", size(tr, price), price)
        assert len([o for o in sim_orders(sim) if o.open]) == 3
        done = await tr.cancel_all()
        assert len(done) == 3 and all(o.status == "canceled" for o in done)
        assert [o for o in sim_orders(sim) if o.open] == []

    run(body)


async def settle(check: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_each_fill_is_reported_once_though_the_answer_and_the_stream_both_carry_it() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.stream.connected
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        _, ask = touch(sim)
        qty = size(tr, ask, 3)
        o = await tr.place_order(SYMBOL, "buy", "limit", qty, ask, tif="IOC")
        [theirs] = sim_orders(sim, o.client_id)
        await settle(lambda: tr.stream is not None and tr.stream.events >= len(theirs.fills), "stream events")
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        assert tr._current(o.client_id).filled == qty

    run(body)


def test_a_lost_answer_for_a_filling_order_counts_its_fills_once() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        _, ask = touch(sim)
        qty = size(tr, ask, 2)
        sim.endpoint("binance", 0).lose_answer("POST /api/v3/order")
        o = await tr.place_order(SYMBOL, "buy", "limit", qty, ask, tif="IOC")
        [theirs] = sim_orders(sim)
        assert theirs.client_id == o.client_id and o.status == "filled" and o.filled == qty
        await asyncio.sleep(0.2)  # the stream's copies of the same executions, if any are late
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)

    run(body, timeout=1.0)


def test_what_changed_while_the_private_stream_was_down_is_reconciled_after_it_returns() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None
        seen: list[Any] = []
        tr._user_on_order = seen.append
        bid, _ = touch(sim)
        price = bid - 20 * tr.rules[SYMBOL].tick_size
        o = await tr.place_order(SYMBOL, "buy", "limit", size(tr, price), price)
        sim.endpoint("binance", 0).drop()
        # Canceled at the venue (another script on the key, say) while nothing listens.
        sim.venue("binance").engine.cancel(KEY, SYMBOL, int(o.order_id or 0), None)
        await settle(lambda: tr.stream is not None and tr.stream.connects >= 2, "the stream back")
        await settle(lambda: tr._current(o.client_id).status == "canceled", "the cancel reconciled")
        assert seen[-1].client_id == o.client_id and seen[-1].status == "canceled"
        assert not sim_orders(sim, o.client_id)[0].open

    run(body)


def test_over_the_order_socket_place_status_cancel_agree_with_the_simulator() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        bid, _ = touch(sim)
        price = bid - 30 * tr.rules[SYMBOL].tick_size
        # The socket's own fault proves the place went over it: it cuts the socket after the order.
        sim.endpoint("binance", 0).lose_answer("order.place")
        o = await tr.place_order(SYMBOL, "buy", "limit", size(tr, price), price)
        assert sim.endpoint("binance", 0).lost == ["order.place"]
        # The dropped order socket mid-request: reconciled into the one order the venue has.
        assert len(sim_orders(sim)) == 1 and sim_orders(sim, o.client_id)[0].open and o.status == "new"
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connects >= 2, "the socket back")
        c = await tr.cancel_order(SYMBOL, client_id=o.client_id)
        assert c.status == "canceled" and not sim_orders(sim, o.client_id)[0].open

    run(body, transport="auto", timeout=1.0)
