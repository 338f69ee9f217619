"""An order's executions fetched from the venue (``Reconciler.catch_up_fills``) when no private stream
told them: by the order's own id, every page of them, checked against the simulator's own fill list.

A time search lists the symbol's newest fills, one page of them: once more of the account's other
orders traded on the symbol than a page holds, the order's own fills were not in it and ``on_fill``
never heard them. OKX (``ordId``), Bybit (``orderId``), Coinbase (``order_ids``) and HTX (the order's
``matchresults``) are asked by order id; OKX, Bybit and Coinbase page the answer. Kraken is asked for
the account's trades since the order was sent, every page (``TradesHistory``, ``ofs``)."""

from __future__ import annotations

import asyncio
import importlib
import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from pytest import MonkeyPatch
from session_cases import SimAccount, settle
from tickwire.sim import Simulator
from tickwire.sim.market import ASK, BID
from tickwire.trading.orders import Fill, Order
from tickwire.trading.session import TradingSession

# (test module, account, the grammar's module and the fills request, for the paging case)
CB_FILLS = "GET /api/v3/brokerage/orders/historical/fills"
CAUGHT_UP = [
    ("test_session_okx", "OKX", "tickwire.venues.okx.orders", "GET /api/v5/trade/fills"),
    ("test_session_bybit", "BYBIT", "tickwire.venues.bybit.orders", "GET /v5/execution/list"),
    ("test_session_coinbase", "COINBASE", "tickwire.venues.coinbase.orders", CB_FILLS),
    ("test_session_htx", "HTX", "", ""),
    # No per-order listing: the account's trades since the order was sent, page after page.
    ("test_session_kraken", "KRAKEN", "", ""),
]
PAGED = [case for case in CAUGHT_UP if case[2]]


def _acct(module: str, name: str) -> SimAccount:
    acct: SimAccount = getattr(importlib.import_module(module), name)
    return acct


def crowd(sim: Simulator, a: SimAccount, n: int) -> int:
    """``n`` smallest IOC buys at the ask for ``a``'s key, placed in the simulator's engine (another
    program on the key): each trades. The fills they made."""
    v = sim.venue(a.venue)
    ep = sim.endpoint(a.venue, 0)
    book = v.engine.books[a.symbol]
    made = 0
    for i in range(n):
        ask = book.side(ASK).best()
        notional = book.inst.min_notional or Decimal(0)
        lots = max(book.inst.min_lots, math.ceil(notional / (book.inst.price(ask) * book.inst.lot)))
        o, step = v.engine.place(
            a.key, a.symbol, BID, "LIMIT", lots, ask, "IOC", f"crowd{i:04d}", ep.now_ms(), margin=False
        )
        if step is not None:
            v.on_step(a.symbol, step)
        made += len(o.fills)
    return made


def sweep(sim: Simulator, tr: TradingSession, a: SimAccount) -> tuple[Decimal, Decimal]:
    """An IOC buy's quantity and price that take every ask level the simulator shows, one fill a
    level."""
    book = sim.book(a.venue, a.symbol)
    far = book.asks[-1][0]
    qty = a.size(tr, far, 1) + sum((q for _, q in book.asks), Decimal(0))
    return (qty / tr.rules[a.symbol].lot_size).to_integral_value() * tr.rules[a.symbol].lot_size, far


async def traded_into(sim: Simulator, tr: TradingSession, a: SimAccount) -> tuple[Order, Any]:
    """A buy resting at the best bid, and the market traded into it (the simulator's order of it)."""
    v = sim.venue(a.venue)
    bid, _ = a.touch(sim)
    o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, bid, 2000), bid)
    [theirs] = a.orders(sim, o.client_id)
    for _ in range(50_000):
        if theirs.fills:
            break
        v.book_step(a.symbol)
    assert theirs.fills
    return o, theirs


@pytest.mark.parametrize(("module", "name", "grammar", "op"), CAUGHT_UP, ids=[n for _, n, *_ in CAUGHT_UP])
def test_an_orders_fills_are_found_past_a_page_of_the_symbols_other_fills(
    module: str, name: str, grammar: str, op: str
) -> None:
    """No private stream: an IOC buy fills, and before its answer reaches the session the key's other
    orders trade 120 times on the symbol (more than a page of the symbol's fills). The session learns
    the order filled and fetches its executions: ``on_fill`` hears the simulator's fills of it, each
    once (before, on OKX, Bybit, Coinbase and Kraken: a time search's one page held only the other
    orders' fills, and none was heard; HTX already asked by order id)."""
    a = _acct(module, name)
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        others: list[int] = []

        async def meanwhile() -> None:
            others.append(crowd(sim, a, 120))

        ep.hold_answer(a.place_op, meanwhile)
        _, ask = a.touch(sim)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask, 2), ask, tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        assert others and others[0] >= 120 and theirs.fills and o.filled > 0
        await settle(lambda: len(fills) >= len(theirs.fills), "the order's fills")
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        assert {f.client_id for f in fills} == {o.client_id}

    a.run(body, private_stream=False, on_fill=fills.append)


@pytest.mark.parametrize(("module", "name", "grammar", "op"), PAGED, ids=[n for _, n, *_ in PAGED])
def test_every_page_of_an_orders_fills_is_read(
    module: str, name: str, grammar: str, op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No private stream, and pages of 4 fills (the grammar's page size lowered; the simulator answers
    the ``limit`` asked and names the next page as the venue does): an IOC buy sweeps the ask side,
    one fill a level. The session fetches its executions, every page: ``on_fill`` hears the
    simulator's fills of it, each once."""
    a = replace(_acct(module, name), funds={"USDT": "1e10", "USD": "1e10", "BTC": "100"})
    monkeypatch.setattr(importlib.import_module(grammar), "FILLS_PAGE", 4)
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        o = await tr.place_order(a.symbol, "buy", "limit", *sweep(sim, tr, a), tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        assert len(theirs.fills) >= 9, f"the buy swept {len(theirs.fills)} levels"
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        assert o.filled == Decimal(theirs.filled) * sim.venue(a.venue).instruments[a.symbol].lot
        # Every page: a full one names the next (OKX: a full page may have more, so an empty one ends).
        pages = sum(1 for _, x, _, _ in ep.exchanges if x == op)
        assert -(-len(theirs.fills) // 4) <= pages <= len(theirs.fills) // 4 + 1

    a.run(body, private_stream=False, on_fill=fills.append)


@pytest.mark.parametrize(("module", "name", "grammar", "op"), CAUGHT_UP, ids=[n for _, n, *_ in CAUGHT_UP])
def test_order_status_finding_new_fills_without_a_stream_fetches_them_once(
    module: str, name: str, grammar: str, op: str
) -> None:
    """No private stream: a buy rests at the best bid and the market trades into it. ``order_status``
    states it filled beyond the fills heard and fetches them: ``on_fill`` hears the simulator's fills
    of it, each once; asked again, nothing new is fetched (before: the state changed and no fill was
    ever heard)."""
    a = _acct(module, name)
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        v = sim.venue(a.venue)
        o, theirs = await traded_into(sim, tr, a)
        assert not fills
        got = await tr.order_status(a.symbol, client_id=o.client_id)
        assert got.filled == Decimal(theirs.filled) * v.instruments[a.symbol].lot
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        asked = len(ep.exchanges)
        await tr.order_status(a.symbol, client_id=o.client_id)
        assert len(ep.exchanges) == asked + 1 and len(fills) == len(theirs.fills)

    a.run(body, private_stream=False, on_fill=fills.append)


def test_an_okx_orders_fills_older_than_three_days_are_read_from_the_history() -> None:
    """No private stream: a buy rests at the best bid and the market trades into it until it has
    several fills, the older half of them dated four days back (the order rested that long, the word
    of them missed). ``order_status`` states it filled beyond the fills heard: ``trade/fills`` (the
    last 3 days) holds only the newer half, so ``trade/fills-history`` (3 months) is read too, and
    ``on_fill`` hears every one of the simulator's fills of it, each once (before: the older half
    never, asked at every ``order_status``)."""
    a = _acct("test_session_okx", "OKX")
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v = sim.venue(a.venue)
        ep = sim.endpoint(a.venue, 0)
        bid, _ = a.touch(sim)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, bid, 4000), bid)
        [theirs] = a.orders(sim, o.client_id)
        for _ in range(200_000):
            if len(theirs.fills) >= 4 or not theirs.open:
                break
            v.book_step(a.symbol)
        assert len(theirs.fills) >= 2 and not fills
        old = theirs.fills[: len(theirs.fills) // 2]
        for f in old:
            f.time_ms -= 4 * 86_400_000
        got = await tr.order_status(a.symbol, client_id=o.client_id)
        assert got.filled == Decimal(theirs.filled) * v.instruments[a.symbol].lot
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        ops = [op for _, op, _, _ in ep.exchanges]
        assert ops.count("GET /api/v5/trade/fills-history") >= 1

    a.run(body, private_stream=False, on_fill=fills.append)


def test_every_page_of_a_binance_orders_fills_is_read_from_its_oldest(monkeypatch: MonkeyPatch) -> None:
    """Binance spot's per-order listing (``orderId``) without ``fromId`` gives the order's most recent
    trades, a page of them: an order with more fills than a page lost its oldest. Pages of 4 (the
    grammar's page size lowered), no private stream: an IOC buy sweeps the ask side, one fill a level,
    and its answer (the fills in it) is lost. The session finds the order filled and fetches its
    executions from its oldest (``orderId`` + ``fromId``, a documented combination), every page:
    ``on_fill`` hears the simulator's fills of it, each once (before: the newest 4)."""
    a = replace(_acct("test_session_binance", "BINANCE"), funds={"USDT": "1e10", "BTC": "100"})
    monkeypatch.setattr(importlib.import_module("tickwire.venues.binance.common"), "FILLS_PAGE", 4)
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        ep.lose_answer(a.place_op)
        o = await tr.place_order(a.symbol, "buy", "limit", *sweep(sim, tr, a), tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        assert len(theirs.fills) >= 9, f"the buy swept {len(theirs.fills)} levels"
        assert o.filled == Decimal(theirs.filled) * sim.venue(a.venue).instruments[a.symbol].lot
        await settle(lambda: len(fills) >= len(theirs.fills), "the order's fills")
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        pages = sum(1 for _, x, _, _ in ep.exchanges if x == "GET /api/v3/myTrades")
        assert -(-len(theirs.fills) // 4) <= pages <= len(theirs.fills) // 4 + 1

    a.run(body, private_stream=False, on_fill=fills.append)


# The fills search by time, and where a page is larger than 120 fills, the grammar module whose
# FILLS_PAGE is lowered to 50 (Binance: 1000 a page, oldest first, the next by ``fromId``).
SINCE = [(m, n) for m, n, *_ in CAUGHT_UP] + [
    ("test_session_binance", "BINANCE"),
    ("test_session_usdm", "USDM"),
]
SMALLER = {"BINANCE": "tickwire.venues.binance.common", "USDM": "tickwire.venues.binance.common"}


@pytest.mark.parametrize(("module", "name"), SINCE, ids=[n for _, n in SINCE])
def test_fills_since_a_time_list_every_page(module: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fills(symbol, since_ms)`` — what a restarted gateway tells its clients from — after the key
    traded 120 times on the symbol since the mark (more than a page): every fill the simulator made
    since, each once (before: the venue's first page, the newest 100 or 50, Binance's oldest 500)."""
    a = _acct(module, name)
    if name in SMALLER:
        monkeypatch.setattr(importlib.import_module(SMALLER[name]), "FILLS_PAGE", 50)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v = sim.venue(a.venue)
        mark = sim.endpoint(a.venue, 0).now_ms()
        crowd(sim, a, 120)
        got = await tr.fills(a.symbol, since_ms=mark)
        made = [f for o in v.engine.orders.values() for f in o.fills if o.symbol == a.symbol]
        assert len(made) >= 120
        assert sorted(f.trade_id for f in got) == sorted(str(f.trade_id) for f in made)

    a.run(body, private_stream=False)


# A fills query that fails after the order's state is known ---------------------------------------------
#
# The catch-up is a step after the venue stated the order (an acknowledgement's status query, a
# reconciliation that found it, the Coinbase stream's cumulative fill): its failure must not make the
# order look unplaced (``TransportError`` reads "not placed, safe to send again") or unknown, and the
# fills are asked for again later until ``on_fill`` heard each (``Reconciler.settle_fills``).


def _trade_ids(sim: Simulator, a: SimAccount, cid: str) -> list[str]:
    [theirs] = a.orders(sim, cid)
    return sorted(str(f.trade_id) for f in theirs.fills)


@pytest.mark.parametrize("answer_lost", [False, True], ids=["acknowledged", "answer_lost"])
def test_a_failed_fills_query_leaves_the_order_filled_and_is_asked_again(answer_lost: bool) -> None:
    a = _acct("test_session_okx", "OKX")
    fills_path = "GET /api/v5/trade/fills"

    async def body(sim: Simulator, tr: TradingSession) -> None:
        heard: list[Fill] = []
        tr._user_on_fill = heard.append
        _, ask = a.touch(sim)
        ep = sim.endpoint(a.venue, 0)
        if answer_lost:  # placed and filled, its answer lost: reconciliation finds it filled
            ep.lose_answer(a.place_op)
        ep.lose_answer(fills_path, times=2)  # the fills query and its keep-alive retry
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask, 2), ask, tif="IOC")
        assert o.status == "filled"
        [theirs] = a.orders(sim, o.client_id)
        assert not theirs.open and theirs.fills and fills_path in ep.lost, ep.lost
        await settle(lambda: sorted(f.trade_id for f in heard) == _trade_ids(sim, a, o.client_id),
                     "the fills asked for again", timeout=5.0)  # fmt: skip
        assert not tr.tracker.unheard(o.client_id)

    a.run(body, private_stream=False, timeout=1.0)


def test_a_streamed_fill_whose_fills_query_drops_still_reaches_on_fill() -> None:
    """Coinbase's user channel states cumulative fills only: each is fetched, and a dropped fetch is
    tried again while the stream stays up and nothing else happens to the order."""
    a = _acct("test_session_coinbase", "COINBASE")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        heard: list[Fill] = []
        tr._user_on_fill = heard.append
        bid, _ = a.touch(sim)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, bid, 2000), bid)  # rests at the bid
        sim.endpoint(a.venue, 0).lose_answer(CB_FILLS, times=2)
        for _ in range(400):  # the market trades into the resting order
            sim.advance(1, a.venue, a.symbol)
            if a.orders(sim, o.client_id)[0].fills:
                break
        want = _trade_ids(sim, a, o.client_id)
        assert want
        await settle(lambda: sorted(f.trade_id for f in heard) == want, "the fills asked for again", 5.0)

    a.run(body)


# How far back each venue's fills search by time reaches, and a mark older than that: Bybit's
# ``/v5/execution/list`` answers 7 days from ``startTime`` ("Only startTime is passed, return range
# between startTime and startTime+7 days"), OKX's ``trade/fills`` the last 3 days (``fills-history``
# the last 3 months).
OLD_MARK = [("test_session_bybit", "BYBIT", 8), ("test_session_okx", "OKX", 4)]


@pytest.mark.parametrize(("module", "name", "days"), OLD_MARK, ids=[n for _, n, _ in OLD_MARK])
def test_fills_since_a_time_older_than_the_venues_window_list_every_fill_since(
    module: str, name: str, days: int
) -> None:
    """``fills(symbol, since_ms)`` from a mark ``days`` ago (a gateway restarted after that long, the
    symbol quiet meanwhile): a fill made just after the mark and those made now, each once (before:
    Bybit's first week alone, OKX's last 3 days alone)."""
    a = _acct(module, name)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        v = sim.venue(a.venue)
        crowd(sim, a, 3)
        orders = [o for o in v.engine.orders.values() if o.symbol == a.symbol]
        for f in orders[0].fills:
            f.time_ms -= days * 86_400_000
        mark = orders[0].fills[0].time_ms - 1000
        got = await tr.fills(a.symbol, since_ms=mark)
        made = [f for o in orders for f in o.fills]
        assert sorted(f.trade_id for f in got) == sorted(str(f.trade_id) for f in made)

    a.run(body, private_stream=False)


@pytest.mark.parametrize("mid", [False, True])
def test_a_kraken_orders_fills_are_found_with_the_venues_clock_behind_ours(mid: bool) -> None:
    """Kraken, no private stream, the venue's clock 3 s behind ours (from the start, or stepped back
    mid-session): an IOC buy at the ask whose answer is lost is found filled by reconciliation, and
    its fills come from the trade history since its send, which the venue stamps on its clock. Each
    of the simulator's fills reaches ``on_fill`` (before: Kraken's nonces check no clock, so the
    session never read the venue's and searched from our send time — past the fill: none heard)."""
    from test_session_kraken import KRAKEN as a

    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        if mid:
            await a.rest_below(sim, tr, 40)  # the session trading before the step
            ep.skew(-3000)
        _, ask = a.touch(sim)
        ep.lose_answer(a.place_op)
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask, 3), ask, tif="IOC")
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.fills and ep.lost == [a.place_op]
        await settle(lambda: len(fills) >= len(theirs.fills), "the fills from the trade history", 2.0)
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        # A reading before a search is no remedy: nothing was refused for its time.
        assert tr.health()["clock_resyncs"] == 0

    def behind(sim: Simulator) -> None:
        sim.endpoint(a.venue, 0).skew(0 if mid else -3000)

    a.run(body, before=behind, timeout=1.0, private_stream=False, on_fill=fills.append)


def test_fills_whose_fetch_fails_past_the_schedule_are_fetched_once_the_venue_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No private stream: a buy rests at the best bid and the market trades into it; ``order_status``
    states it filled, and the fetch of its executions loses its answer (``myTrades``) more times than
    the schedule of later tries holds (scaled to 0.05 and 0.1 s) — a long outage, a ban. ``on_fill``
    still hears the simulator's fills of it, each once, once an answer comes (before: after the
    schedule the tries ended, ``fills_unheard_stuck`` audited, and the fills were never heard)."""
    import tickwire.trading.fills_catch_up as catch_up

    monkeypatch.setattr(catch_up, "LATER_S", (0.05, 0.1))
    a = _acct("test_session_binance", "BINANCE")
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        v = sim.venue(a.venue)
        o, theirs = await traded_into(sim, tr, a)
        assert not fills
        ep.lose_answer("GET /api/v3/myTrades", 6)  # the first fetch and the schedule's two, and more
        got = await tr.order_status(a.symbol, client_id=o.client_id)
        assert got.filled == Decimal(theirs.filled) * v.instruments[a.symbol].lot
        await settle(lambda: len(fills) >= len(theirs.fills), "the order's fills", 5.0)
        assert "GET /api/v3/myTrades" not in ep.lose_left  # every loss was asked through
        await asyncio.sleep(0.3)  # a copy heard late would come now
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)

    a.run(body, private_stream=False, on_fill=fills.append)


def test_stream_words_that_raise_nothing_fetch_nothing_while_a_later_ask_is_due(
    monkeypatch: MonkeyPatch,
) -> None:
    """Review of ``after_cumulative``: Coinbase's ``user`` channel says an order's total again
    (a duplicate, a snapshot at a resubscribe, a status change) while the venue's history lags, so
    a first fetch found its fills unheard and the order's later asks are due (``LATER_S``). "One
    fetch at a time without a rise" counted only a fetch running, not one due: each such word
    fetched at once. Here five words after the first fetch, before its first later ask, ask the
    venue nothing more (before: five more fetches)."""
    from tickwire.trading import fills_catch_up as fcu

    monkeypatch.setattr(fcu, "LATER_S", (0.3, 0.3))
    order = Order(
        venue="coinbase", symbol="BTC-USD", side="buy", type="limit", qty=Decimal(2), price=Decimal(1),
        client_id="c1", order_id="o1", filled=Decimal(1), status="filled",
    )  # fmt: skip

    class Tracker:
        def unheard(self, cid: str) -> bool:
            return True  # the venue's history never lists the fill here

        def get(self, cid: str) -> Order:
            return order

    async def go() -> int:
        c = fcu.FillsCatchUp()
        asked = [0]

        async def catch_up_fills(cid: str) -> None:
            asked[0] += 1
            await asyncio.sleep(0.005)

        c.catch_up_fills = catch_up_fills  # type: ignore[method-assign]
        c.port = type("Port", (), {"tracker": Tracker(), "venue": "coinbase"})()  # type: ignore[assignment]
        tasks: set[asyncio.Task[None]] = set()
        c.spawn = lambda coro: tasks.add(asyncio.get_running_loop().create_task(coro))
        c.after_cumulative(order, None)  # the word a REST answer left the fetch to
        await asyncio.sleep(0.05)
        assert asked[0] == 1
        for _ in range(5):  # the same total, said again
            c.after_cumulative(order, None)
            await asyncio.sleep(0.02)
        first_due = asked[0]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return first_due

    assert asyncio.run(go()) == 1
