"""Fills and averages as the venue has them, whichever word brings them: a cancel's answer naming the
order under another client id, an adopted order's fills heard on a stream that states no average.
Checked against the simulator's own orders and fills."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from session_cases import SimAccount, settle
from test_session_binance import BINANCE
from test_session_htx import HTX
from tickwire.sim import Simulator
from tickwire.trading.orders import Fill
from tickwire.trading.session import TradingSession


async def trade_into(sim: Simulator, a: SimAccount, theirs: Any, fills: int) -> None:
    """The simulator's market stepped until the engine's order ``theirs`` has ``fills`` fills."""
    v = sim.venue(a.venue)
    for i in range(200_000):
        if len(theirs.fills) >= fills or not theirs.open:
            return
        v.book_step(a.symbol)
        if i % 200 == 0:
            await asyncio.sleep(0)
    raise AssertionError("the market did not trade with the order")


async def resting_buy(sim: Simulator, a: SimAccount, tr: TradingSession, below: int, qty: Decimal) -> Any:
    """The simulator's market paused, a limit buy of ``qty`` placed ``below`` ticks under its best
    bid: the tracked order (the simulator's is ``a.orders(sim, o.client_id)``)."""
    sim.pause()
    bid, _ = a.touch(sim)
    return await tr.place_order(a.symbol, "buy", "limit", qty, bid - below * tr.rules[a.symbol].tick_size)


def as_the_venue_has_it(sim: Simulator, a: SimAccount, tr: TradingSession, cid: str) -> None:
    """The tracked order's quantity filled and average price are the simulator's."""
    [theirs] = a.orders(sim, cid)
    inst = sim.venue(a.venue).instruments[a.symbol]
    mine = tr.tracker.get(cid)
    assert mine is not None and theirs.filled > 0
    assert mine.filled == theirs.filled * inst.lot
    assert mine.avg_price == Decimal(theirs.quote) * inst.tick / theirs.filled, (
        mine.avg_price,
        Decimal(theirs.quote) * inst.tick / theirs.filled,
    )


@pytest.mark.parametrize("every", [False, True], ids=["cancel_order", "cancel_all"])
def test_a_binance_cancel_answer_naming_the_cancels_own_id_still_has_the_fills_fetched(every: bool) -> None:
    """Binance spot answers ``DELETE /api/v3/order`` (and each entry of ``DELETE
    /api/v3/openOrders``) with the order's client id as ``origClientOrderId`` and the cancel's own
    (one the venue makes up when the request names none) as ``clientOrderId``, as the simulator now
    does too (before stop 42 it left the cancel's out). No private stream: a resting buy fills in
    part and is cancelled (by ``cancel_order``, or by ``cancel_all``), the answer stating the
    quantity filled. The fills are fetched, so ``on_fill`` hears each of the simulator's once and the
    order's average is the venue's (before: the answer was read as the cancel's id, the order found
    untracked, and the fills never fetched — "timed out waiting for the fills of the cancelled order")."""
    a = BINANCE
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        bid, _ = a.touch(sim)
        r = tr.rules[a.symbol]
        o = await tr.place_order(a.symbol, "buy", "limit", (r.min_qty or r.lot_size) * 40_000, bid)
        [theirs] = a.orders(sim, o.client_id)
        await trade_into(sim, a, theirs, 2)
        assert theirs.open and fills == []
        if every:
            [got] = await tr.cancel_all(a.symbol)
        else:
            got = await tr.cancel_order(a.symbol, client_id=o.client_id)
        assert got.client_id == o.client_id and got.status == "canceled" == theirs.status.lower()
        await settle(lambda: len(fills) >= len(theirs.fills), "the fills of the cancelled order")
        await asyncio.sleep(0.2)
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        as_the_venue_has_it(sim, a, tr, o.client_id)

    a.run(body, on_fill=fills.append, private_stream=False)


def test_an_adopted_htx_orders_average_counts_the_fills_heard_on_top_of_the_earlier_runs() -> None:
    """Run 1 buys above the best ask: the buy takes three ask levels (three prices) and rests the
    rest at its limit; the run stops. Run 2 adopts it (the listing states the quantity filled and
    its cash amount) and the market fills it further, at its limit price, each fill heard on HTX's
    ``orders#`` stream — which states the quantity filled (``execAmt``), never the average. The
    order's average is the simulator's over every fill (before: it stayed the listing's, of run 1's
    fills alone)."""
    a = replace(HTX, funds={**HTX.funds, "USDT": "1e10"})

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            sim.pause()
            urls = sim.urls()[a.venue]
            async with tickwire.trade(a.venue, credentials=a.signer, endpoints=urls, strategy="mm") as tr:
                r = tr.rules[a.symbol]
                book = sim.book(a.venue, a.symbol)
                took = sum((q for _, q in book.asks[:3]), Decimal(0))
                rest = max((r.min_qty or r.lot_size) * 40_000, book.bids[0][1] * 200)
                qty = ((took + rest) / r.lot_size).to_integral_value() * r.lot_size
                o = await tr.place_order(a.symbol, "buy", "limit", qty, book.asks[2][0])
                [theirs] = a.orders(sim, o.client_id)
                assert len({f.price for f in theirs.fills}) == 3 and theirs.open
            fills: list[Fill] = []
            async with tickwire.trade(
                a.venue, credentials=a.signer, endpoints=urls, strategy="mm", on_fill=fills.append
            ) as tr:
                lot = sim.venue(a.venue).instruments[a.symbol].lot
                assert tr.tracker.adopted_base(o.client_id) == theirs.filled * lot  # run 1's
                before = len(theirs.fills)
                await trade_into(sim, a, theirs, before + 2)
                await settle(lambda: len(fills) >= len(theirs.fills) - before, "the fills since the adoption")
                await asyncio.sleep(0.2)
                assert sorted(f.trade_id for f in fills) == sorted(
                    str(f.trade_id) for f in theirs.fills[before:]
                )
                as_the_venue_has_it(sim, a, tr, o.client_id)

    asyncio.run(go())


def test_an_order_reconciliation_finds_only_in_the_open_orders_has_its_fills_fetched() -> None:
    """Binance spot, no private stream: a buy at the best ask for twice the level's quantity takes
    the level and rests the rest, and its answer is lost. The reconciliation's status query finds
    no trace at first (the venue's order lookup lagging its engine, once), the open-orders listing
    has the order, partly filled. Its fills are fetched then, as after a status answer: ``on_fill``
    hears each of the simulator's once and the order's average is the venue's (before: returned
    from the listing with nothing fetched, its fills unheard while it rested —
    "timed out waiting for the fills of the order found by the listing")."""
    from tickwire.sim.engine import EngineError

    a = BINANCE
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        engine = sim.venue(a.venue).engine
        find, lagging = engine.find, [True]

        def lags_once(*args: Any, **kw: Any) -> Any:
            if lagging:
                lagging.clear()
                raise EngineError("unknown", "Order does not exist.")
            return find(*args, **kw)

        engine.find = lags_once
        book = sim.book(a.venue, a.symbol)
        ask, ask_qty = book.asks[0]
        sim.endpoint(a.venue, 0).lose_answer("POST /api/v3/order")
        o = await tr.place_order(a.symbol, "buy", "limit", ask_qty * 2, ask)
        [theirs] = a.orders(sim, o.client_id)
        assert not lagging and theirs.open and theirs.filled > 0
        await settle(lambda: len(fills) >= len(theirs.fills), "the fills of the order found by the listing")
        await asyncio.sleep(0.2)
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        as_the_venue_has_it(sim, a, tr, o.client_id)

    a.run(body, on_fill=fills.append, private_stream=False)


@pytest.mark.parametrize(
    ("module", "name", "below"),
    [
        ("test_session_binance", "BINANCE", 0),
        ("test_session_okx", "OKX", 0),
        ("test_session_bybit", "BYBIT", 0),
        ("test_session_kraken", "KRAKEN", 3),  # (at its bid the seeded market takes it whole)
    ],
    ids=["binance", "okx", "bybit", "kraken"],
)
def test_a_partial_fill_lost_on_a_stream_that_stayed_up_is_fetched_once_the_next_word_states_it(
    module: str, name: str, below: int
) -> None:
    """A resting buy (``below`` ticks under the best bid) fills in part and the private stream hears
    it; then the venue's words are lost on a connection that stays up (the simulator's WebSocket
    frames dropped for 0.2 s: no ping goes unanswered, nothing reconnects) while the market fills it
    again, and the stream then delivers the next partial fill, whose word states the quantity filled
    with the lost one in it. The lost fill reaches ``on_fill`` once, with the rest (each of the
    simulator's fills of the order once), while the order still rests and without a reconnect; and
    the ordinary fill before asks the venue for nothing (Bybit's ``order`` word comes apart from its
    ``execution`` word). Before: the quantity filled was right but the lost fill never reached
    ``on_fill`` while the session ran — only a reconnect's reconciliation or the close asked for it
    ("timed out waiting for every one of the simulator's 3 fills, the lost one too")."""
    a: SimAccount = getattr(importlib.import_module(module), name)
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        o = await resting_buy(sim, a, tr, below, Decimal(5))  # many levels' worth
        [theirs] = a.orders(sim, o.client_id)
        await trade_into(sim, a, theirs, 1)
        await settle(lambda: len(fills) == len(theirs.fills), "the first fill, streamed")
        asked = len(ep.exchanges)
        await asyncio.sleep(0.8)
        assert len(ep.exchanges) == asked  # a fill heard whole costs no query
        ep.stall()  # WebSocket frames only, lost: the connection stays up
        await trade_into(sim, a, theirs, len(theirs.fills) + 1)
        await asyncio.sleep(0.2)
        ep.unstall()
        await trade_into(sim, a, theirs, len(theirs.fills) + 1)
        assert theirs.open
        await settle(
            lambda: len(fills) >= len(theirs.fills),
            f"every one of the simulator's {len(theirs.fills)} fills, the lost one too",
        )
        await asyncio.sleep(0.3)  # nothing heard twice
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        assert tr.stream is not None and tr.stream.connects == 1  # no reconnect reconciled it
        as_the_venue_has_it(sim, a, tr, o.client_id)

    a.run(body, on_fill=fills.append)
