"""A restarted script's session adopts the orders its earlier run left open (``adopt``, default: this
strategy's client-id prefix), against the simulator's own order list and fills."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import replace
from decimal import Decimal as D
from typing import Any, NamedTuple

import pytest
import tickwire
from kill_cases import ACCOUNTS, SYMBOLS, funded, rest_buy
from session_cases import settle
from tickwire.sim.market import BID
from tickwire.trading.adopt import adoptable
from tickwire.trading.client_ids import ClientIds
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.tracker import OrderTracker


async def trade_through(sim: Any, venue: str, symbol: str, client_id: str) -> Any:
    """The simulator's market process stepped until it has traded through the order; the order."""
    v = sim.venue(venue)
    [order] = [o for o in v.engine.orders.values() if o.client_id == client_id]
    for i in range(200_000):
        if not order.open:
            break
        v.book_step(symbol)
        if i % 500 == 0:
            await asyncio.sleep(0)
    assert order.status == "FILLED", "the market traded through the resting buy"
    return order


@pytest.mark.parametrize("venue", ["binance", "okx", "kraken"])
def test_a_restarted_session_adopts_its_open_orders_and_counts_their_fills_once(venue: str) -> None:
    """A script rests a buy at the best bid; another strategy on the key rests one lower; both stop (a
    clean close leaves orders open). Restarted with the same strategy, the session tracks its own order
    again — in ``open_orders()``, the other strategy's not — and when the market trades through it
    every fill reaches ``on_fill`` once, as the simulator recorded them (before: the tracker ignored
    every event of an order it had not placed itself, so the restarted script never saw the fills)."""
    _, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]

    async def go() -> None:
        async with funded(venue) as sim:
            urls = sim.urls()[venue]
            async with tickwire.trade(venue, credentials=signer, endpoints=urls, strategy="mm") as tr:
                mine = await rest_buy(sim, tr, symbol, 0)
            async with tickwire.trade(venue, credentials=signer, endpoints=urls, strategy="other") as tr:
                theirs = await rest_buy(sim, tr, symbol, 30)
            fills: list[Any] = []
            async with tickwire.trade(
                venue, credentials=signer, endpoints=urls, strategy="mm", on_fill=fills.append
            ) as tr:
                assert [o.client_id for o in tr.tracker.open_orders()] == [mine.client_id]
                assert tr.tracker.get(theirs.client_id) is None
                order = await trade_through(sim, venue, symbol, mine.client_id)
                await settle(lambda: tr._current(mine.client_id).status == "filled", "the fills")
                assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in order.fills)
                assert tr._current(mine.client_id).filled == mine.qty
                assert {f.client_id for f in fills} == {mine.client_id}

    asyncio.run(go())


def test_adopt_false_leaves_an_earlier_runs_orders_untracked() -> None:
    _, signer, _ = ACCOUNTS["binance"]

    async def go() -> None:
        async with funded("binance") as sim:
            urls = sim.urls()["binance"]
            async with tickwire.trade("binance", credentials=signer, endpoints=urls, strategy="mm") as tr:
                mine = await rest_buy(sim, tr, "BTCUSDT", 10)
            async with tickwire.trade(
                "binance", credentials=signer, endpoints=urls, strategy="mm", adopt=False
            ) as tr:
                assert tr.tracker.open_orders() == [] and tr.tracker.get(mine.client_id) is None

    asyncio.run(go())


def test_a_strategy_owns_the_ids_it_makes_not_those_of_a_prefix_that_begins_with_it() -> None:
    mm, mm2 = ClientIds("binance", "mm"), ClientIds("binance", "mm-2")
    ours, theirs = [mm.next() for _ in range(3)], [mm2.next() for _ in range(3)]
    later_run = ClientIds("binance", "mm").next()
    assert all(mm.owns(c) for c in [*ours, later_run]) and not any(mm.owns(c) for c in theirs)
    assert not mm.owns("mm-by-hand") and not mm.owns("other-" + ours[0])
    # A gateway takes a hand-made id with the strategy's prefix (what it asks is the prefix only).
    assert mm.has_prefix("mm-by-hand") and not mm.has_prefix("mm2-x") and not mm.has_prefix("other-mm-x")
    assert all(mm.mine(c) for c in ours) and not mm.mine(later_run) and not mm2.mine(ours[0])


def _event(cid: str, status: str, fill: Any = None) -> OrderEvent:
    return OrderEvent(
        source="stream", client_id=cid, order_id="o-" + cid, status=status, fill=fill,  # type: ignore[arg-type]
        symbol="BTCUSDT", side="buy", qty=D("1"), price=D("100"),
    )  # fmt: skip


def test_an_order_heard_of_as_ended_is_not_brought_back_by_an_older_listing() -> None:
    """The stream says another run's order was canceled (nothing to adopt); an open-orders listing
    taken just before says it is open: it stays untracked (before: adopted as open, for good)."""
    t = OrderTracker(adopt=functools.partial(adoptable, ClientIds("binance", "mm"), lambda cid: True))
    assert t.apply(_event("run1-a", "canceled")) is None
    assert t.apply(_event("run1-a", "new")) is None and t.open_orders() == []
    got = t.apply(_event("run1-b", "new"))  # one never heard of as ended is adopted
    assert got is not None and [o.client_id for o in t.open_orders()] == ["run1-b"]


def test_a_discarded_orders_late_fill_is_not_adopted_and_counted_again() -> None:
    fills: list[Any] = []
    t = OrderTracker(adopt=lambda ev: True, on_fill=fills.append)
    t.track(
        Order(
            venue="sim", symbol="BTCUSDT", side="buy", type="limit", qty=D("1"), price=D("100"), client_id="x"
        )
    )
    f = Fill(
        venue="sim", symbol="BTCUSDT", client_id="x", order_id="o-x", trade_id="T1", side="buy",
        price=D("100"), qty=D("1"),
    )  # fmt: skip
    t.apply(_event("x", "filled", f))
    t.discard("x")
    assert t.apply(_event("x", "filled", f)) is None and [x.trade_id for x in fills] == ["T1"]


def test_a_session_without_a_named_strategy_adopts_nothing_by_default() -> None:
    """The default prefix may be every script's on the key: without ``strategy=`` nothing is adopted
    unless ``adopt=True`` is asked for."""
    _, signer, _ = ACCOUNTS["binance"]

    async def go() -> None:
        async with funded("binance") as sim:
            urls = sim.urls()["binance"]
            async with tickwire.trade("binance", credentials=signer, endpoints=urls) as tr:
                mine = await rest_buy(sim, tr, "BTCUSDT", 10)
            async with tickwire.trade("binance", credentials=signer, endpoints=urls) as tr:
                assert tr.tracker.open_orders() == []
            async with tickwire.trade("binance", credentials=signer, endpoints=urls, adopt=True) as tr:
                assert [o.client_id for o in tr.tracker.open_orders()] == [mine.client_id]

    asyncio.run(go())


FILLS_QUERY = {"binance": "GET /api/v3/myTrades", "okx": "GET /api/v5/trade/fills"}


def _fills_asked(sim: Any, venue: str) -> int:
    """How often the simulator was asked for the account's trade history."""
    return sum(1 for _, op, _, _ in sim.endpoint(venue, 0).exchanges if op == FILLS_QUERY[venue])


async def _step_until(sim: Any, venue: str, symbol: str, order: Any, filled: Any) -> None:
    """The simulator's market stepped until ``order`` (the engine's) has more than ``filled`` lots."""
    v = sim.venue(venue)
    for i in range(200_000):
        if order.filled > filled:
            return
        v.book_step(symbol)
        if i % 500 == 0:
            await asyncio.sleep(0)
    raise AssertionError("the market did not trade with the order")


class Run1(NamedTuple):
    signer: Any
    symbol: str
    urls: Any
    order: Order
    engine_order: Any  # the simulator's
    fills: list[Any]  # as run 1's ``on_fill`` heard them


async def _run1_fills_in_part(sim: Any, venue: str) -> Run1:
    """The market paused; run 1 (strategy ``mm``) rests a large buy at the best bid, the market fills
    it in part and the run stops."""
    _, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]
    sim.pause()
    urls = sim.urls()[venue]
    run1: list[Any] = []
    async with tickwire.trade(
        venue, credentials=signer, endpoints=urls, strategy="mm", on_fill=run1.append
    ) as tr:
        r = tr.rules[symbol]
        price = sim.book(venue, symbol).bids[0][0]
        o = await tr.place_order(symbol, "buy", "limit", (r.min_qty or r.lot_size) * 40_000, price)
        [engine_order] = [x for x in sim.venue(venue).engine.orders.values() if x.client_id == o.client_id]
        await _step_until(sim, venue, symbol, engine_order, 0)
        await settle(lambda: len(run1) == len(engine_order.fills), "run 1's fills")
    return Run1(signer, symbol, urls, o, engine_order, run1)


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_an_adopted_orders_earlier_fills_are_not_reported_again(venue: str) -> None:
    """Run 1's buy fills in part (its fills reach run 1's ``on_fill``) and the run stops. Run 2 adopts
    the order; the market fills it further while run 2's private stream delivers nothing, and the
    stream drops and comes back, so the open orders are reconciled and the order's fills fetched
    (run 1's among them in the answer). Run 2 hears only the fills made after it adopted the order —
    the simulator's fills minus run 1's (before: the history was searched from the beginning and
    every one of run 1's fills reached run 2's ``on_fill`` again); a second reconnect adds none."""

    async def go() -> None:
        async with funded(venue) as sim:
            signer, symbol, urls, o, engine_order, run1 = await _run1_fills_in_part(sim, venue)
            assert engine_order.open and run1
            run2: list[Any] = []
            async with tickwire.trade(
                venue, credentials=signer, endpoints=urls, strategy="mm", on_fill=run2.append
            ) as tr:
                assert tr._current(o.client_id).filled == sum(f.qty for f in run1)  # adopted as listed
                asked = _fills_asked(sim, venue)
                ep = sim.endpoint(venue, 0)
                ep.stall()
                await _step_until(sim, venue, symbol, engine_order, engine_order.filled)
                tr.stream.drop()  # type: ignore[union-attr]
                ep.unstall()
                await settle(lambda: _fills_asked(sim, venue) > asked, "the reconciliation's fills query")
                new = {str(f.trade_id) for f in engine_order.fills} - {f.trade_id for f in run1}
                await settle(lambda: len(run2) >= len(new), "the new fills")
                tr.stream.drop()  # type: ignore[union-attr]
                await settle(lambda: tr.stream_up(), "the stream back again")  # type: ignore[union-attr]
                await asyncio.sleep(0.5)
                assert sorted(f.trade_id for f in run2) == sorted(new)

    asyncio.run(go())


OPEN_ORDERS_QUERY = {"binance": "GET /api/v3/openOrders", "okx": "GET /api/v5/trade/orders-pending"}


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_a_fill_made_while_the_adopting_listing_was_on_its_way_is_counted_once(venue: str) -> None:
    """Run 1's buy fills in part and the run stops. Run 2 lists the open orders to adopt it; after the
    venue wrote that listing and before run 2 reads it, the order fills again while the private
    stream delivers nothing (a stall: the stream misses it). Run 2 adopts the order with the listed,
    older quantity filled; when its stream drops and returns, reconciliation finds the fill in the
    trade history — reported once, as the simulator made it, and none of run 1's fills again
    (before: the search began when run 2 adopted the order, after that fill, and ``on_fill`` never
    heard of it)."""

    async def go() -> None:
        async with funded(venue) as sim:
            signer, symbol, urls, o, engine_order, run1 = await _run1_fills_in_part(sim, venue)
            ep = sim.endpoint(venue, 0)
            listed_filled: list[Any] = []

            async def fill_meanwhile() -> None:
                listed_filled.append(engine_order.filled)
                ep.stall()
                await _step_until(sim, venue, symbol, engine_order, engine_order.filled)
                await asyncio.sleep(0.3)  # the answer's way back (a slow link, a loaded venue)
                ep.unstall()

            ep.hold_answer(OPEN_ORDERS_QUERY[venue], fill_meanwhile)
            run2: list[Any] = []
            async with tickwire.trade(
                venue, credentials=signer, endpoints=urls, strategy="mm", on_fill=run2.append
            ) as tr:
                assert listed_filled and engine_order.filled > listed_filled[0] and engine_order.open
                assert tr._current(o.client_id).filled == sum(f.qty for f in run1)  # the listing's
                await asyncio.sleep(0.2)
                assert run2 == []  # the stream missed it
                made = {str(f.trade_id) for f in engine_order.fills} - {f.trade_id for f in run1}
                assert made
                tr.stream.drop()  # type: ignore[union-attr]
                await settle(lambda: len(run2) == len(made), "the fill made while the listing was held")
                tr.stream.drop()  # type: ignore[union-attr]
                await settle(lambda: tr.stream_up(), "the stream back again")  # type: ignore[union-attr]
                await asyncio.sleep(0.5)
                assert sorted(f.trade_id for f in run2) == sorted(made)
                o2 = tr._current(o.client_id)
                assert sum(f.qty for f in run1) + sum(f.qty for f in run2) == o2.filled

    asyncio.run(go())


def test_a_fill_heard_before_the_word_that_adopts_its_order_is_reported_once() -> None:
    """Bybit's stream may push an ``execution`` (a fill naming symbol and side, not the order's
    quantity) before the ``order`` push of an earlier run's order: the fill cannot adopt it. It is
    held, and reported once when the ``order`` push adopts the order (before: dropped — in the
    quantity filled the ``order`` push stated, but never in ``on_fill``). Another script's fill is not
    held. (Events shaped as ``BybitOrders.read_stream`` makes them.)"""
    fills: list[Fill] = []
    t = OrderTracker(
        adopt=functools.partial(adoptable, ClientIds("bybit", "mm"), lambda cid: cid.startswith("run1-")),
        on_fill=fills.append,
    )
    fill = Fill(
        venue="bybit", symbol="BTCUSDT", client_id="run1-a", order_id="o-run1-a", trade_id="e1",
        side="buy", price=D("100"), qty=D("0.4"),
    )  # fmt: skip
    execution = OrderEvent(
        source="stream", client_id="run1-a", order_id="o-run1-a", fill=fill, venue="bybit",
        symbol="BTCUSDT", side="buy",
    )  # fmt: skip
    other = replace(execution, client_id="theirs-b", fill=replace(fill, client_id="theirs-b", trade_id="e2"))
    assert t.apply(execution) is None and t.apply(other) is None and fills == []
    order = replace(_event("run1-a", "partially_filled"), filled_cum=D("0.4"))
    got = t.apply(order)
    assert got is not None and [f.trade_id for f in fills] == ["e1"]
    o = t.get("run1-a")
    assert o is not None and o.filled == D("0.4") and o.status == "partially_filled"
    assert t.apply(execution) is None and len(fills) == 1  # the stream's copy again: counted once
    assert t.get("theirs-b") is None


def test_held_fills_count_when_the_order_is_stated_ended_and_not_as_the_earlier_runs() -> None:
    """The one-fill case: Bybit's ``execution`` first, then the ``order`` push saying ``filled`` —
    a word that alone would not adopt (nothing left to count). The held fill makes it adopt, the fill
    is reported once and nothing stays held. And the fills replayed at adoption come off what the
    adopted quantity filled attributes to the earlier run: a fill lost later still shows as
    unaccounted once the order ends. A fill naming its client id only in the fill is held too."""
    fills: list[Fill] = []
    t = OrderTracker(
        adopt=functools.partial(adoptable, ClientIds("bybit", "mm"), lambda cid: cid.startswith("run1-")),
        on_fill=fills.append,
    )

    def execution(cid: str, trade: str, qty: str, named_in_fill_only: bool = False) -> OrderEvent:
        f = Fill(
            venue="bybit", symbol="BTCUSDT", client_id=cid, order_id="o-" + cid, trade_id=trade,
            side="buy", price=D("100"), qty=D(qty),
        )  # fmt: skip
        return OrderEvent(
            source="stream", client_id="" if named_in_fill_only else cid, order_id="o-" + cid, fill=f,
            venue="bybit", symbol="BTCUSDT", side="buy",
        )  # fmt: skip

    assert t.apply(execution("run1-b", "b1", "1", named_in_fill_only=True)) is None
    got = t.apply(replace(_event("run1-b", "filled"), filled_cum=D("1")))
    assert got is not None and got.status == "filled" and [f.trade_id for f in fills] == ["b1"]
    assert t._orphans == {} and t._orphan_count == 0

    # Held e1 (0.4); adopted at 0.4 filled; e2 (0.3) heard; e3 (0.3) lost; the order ends filled.
    fills.clear()
    t.apply(execution("run1-c", "e1", "0.4"))
    t.apply(replace(_event("run1-c", "partially_filled"), filled_cum=D("0.4")))
    t.apply(execution("run1-c", "e2", "0.3"))
    t.apply(replace(_event("run1-c", "filled"), filled_cum=D("1")))
    assert [f.trade_id for f in fills] == ["e1", "e2"]
    assert t.unaccounted() == ["run1-c"]  # e3's 0.3: asked for once the stream is back


@pytest.mark.parametrize("asked_ms", [2, 5])
def test_a_fill_held_before_the_adopting_listing_counts_as_the_listing_could_have_it(asked_ms: int) -> None:
    """A fill's ``execution`` push (fill c, 0.2, at 3 ms) is held before the listing that adopts its
    order is read; the listing states 0.5 filled (the earlier run's a and b). Asked for at 2 ms, the
    listing was written after or around c — c is not taken for part of its 0.5; asked for at 5 ms,
    after c, the listing's quantity had c, so c comes off what the earlier run filled. Either way c
    is reported once, and when the order ends at 0.9 with a further 0.2 (d) lost, the fills search
    is asked for what the listing did not state, and never returns an earlier run's fill."""
    from tickwire.clock import Stamp
    from tickwire.trading.fills_catch_up import newest

    fills: list[Fill] = []
    t = OrderTracker(
        adopt=functools.partial(adoptable, ClientIds("bybit", "mm"), lambda cid: cid.startswith("run1-")),
        on_fill=fills.append,
    )

    def fill(trade: str, qty: str, ms: int) -> Fill:
        return Fill(
            venue="bybit", symbol="BTCUSDT", client_id="run1-d", order_id="o-run1-d", trade_id=trade,
            side="buy", price=D("100"), qty=D(qty), ts_ns=ms * 1_000_000,
        )  # fmt: skip

    def execution(f: Fill) -> OrderEvent:
        return OrderEvent(
            source="stream", client_id="run1-d", order_id="o-run1-d", fill=f, venue="bybit",
            symbol="BTCUSDT", side="buy",
        )  # fmt: skip

    before = [fill("a", "0.3", 1), fill("b", "0.2", 2)]
    c, d = fill("c", "0.2", 3), fill("d", "0.2", 6)
    written_with_c = asked_ms > 3
    stated = D("0.7") if written_with_c else D("0.5")
    assert t.apply(execution(c)) is None  # held: no word of the order yet
    t.adopting_since = Stamp(asked_ms, 0.0)
    got = t.apply(replace(_event("run1-d", "partially_filled"), source="rest", filled_cum=stated))
    t.adopting_since = None
    assert got is not None and [f.trade_id for f in fills] == ["c"]
    assert t.adopted_base("run1-d") == D("0.5")  # a and b: the earlier run's
    t.apply(replace(_event("run1-d", "filled"), filled_cum=D("0.9")))  # d's push was lost
    assert t.unaccounted() == ["run1-d"]
    o = t.get("run1-d")
    base = t.adopted_base("run1-d")
    assert o is not None and base is not None
    assert {f.trade_id for f in newest([*before, c, d], o.filled - base)} == {"c", "d"}


def test_a_fill_made_while_an_adopted_orders_fills_are_asked_for_costs_none_of_this_runs() -> None:
    """Run 2 adopts run 1's partly filled buy; the market fills it further while run 2's stream
    delivers nothing, and the stream drops. Reconciliation asks the order's state, and while that
    answer is on its way the order fills again, by at least as much: the state answered is older
    than the fills listing that follows. Every fill the simulator made after the adoption reaches
    ``on_fill`` once (before: the listing's newest fills worth the stated quantity were taken — the
    ones made meanwhile — and this run's earlier fills were never reported)."""
    venue = "binance"

    async def go() -> None:
        async with funded(venue) as sim:
            signer, symbol, urls, o, engine_order, run1 = await _run1_fills_in_part(sim, venue)
            ep = sim.endpoint(venue, 0)
            run2: list[Any] = []
            async with tickwire.trade(
                venue, credentials=signer, endpoints=urls, strategy="mm", on_fill=run2.append
            ) as tr:
                ep.stall()  # the stream misses what the market does now
                base = engine_order.filled
                await _step_until(sim, venue, symbol, engine_order, base)
                first = engine_order.filled - base  # this run's, unheard
                ep.unstall()

                async def fill_meanwhile() -> None:
                    ep.stall()
                    at = engine_order.filled
                    while engine_order.filled < at + first:
                        await _step_until(sim, venue, symbol, engine_order, engine_order.filled)
                    await asyncio.sleep(0.05)
                    ep.unstall()

                ep.hold_answer("GET /api/v3/order", fill_meanwhile)
                asked = _fills_asked(sim, venue)
                tr.stream.drop()  # type: ignore[union-attr]
                await settle(lambda: _fills_asked(sim, venue) > asked, "the fills query", timeout=10)
                made = {str(f.trade_id) for f in engine_order.fills} - {f.trade_id for f in run1}
                await settle(lambda: len(run2) >= len(made), "every fill since the adoption", timeout=5)
                await asyncio.sleep(0.5)
                assert sorted(f.trade_id for f in run2) == sorted(made)
                assert sum(f.qty for f in run1) + sum(f.qty for f in run2) == tr._current(o.client_id).filled

    asyncio.run(go())


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_an_order_adopted_from_its_first_stream_report_keeps_its_terms(venue: str) -> None:
    """An earlier run's limit order first heard of in a user-stream report (placed after the listing
    at start): tracked with the type, time in force and price the venue holds (before stop 44 the
    report's ``o``/``f``/``p`` went unread: a limit order tracked as a market one with no price)."""
    key, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]

    async def go() -> None:
        async with funded(venue) as sim:
            urls = sim.urls()[venue]
            async with tickwire.trade(venue, credentials=signer, endpoints=urls, strategy="mm") as tr:
                earlier = ClientIds(tr.client_ids.format, "mm").next()  # the earlier run's, by its prefix
                v = sim.venue(venue)
                inst = v.instruments[symbol]
                r = tr.rules[symbol]
                price = sim.book(venue, symbol).bids[0][0] - 40 * r.tick_size
                qty = max(r.min_qty, (r.min_notional or D(0)) / price * 2).quantize(r.lot_size)
                lots, ticks = int(qty / inst.lot), int(price / inst.tick)
                v.engine.place(key, symbol, BID, "LIMIT", lots, ticks, "GTC", earlier, 0)
                await settle(lambda: tr.tracker.get(earlier) is not None, "the report that adopts it")
                o = tr.tracker.get(earlier)
                assert o is not None
                assert (o.type, o.tif, o.price, o.qty) == ("limit", "GTC", price, qty), o

    asyncio.run(go())
