"""A symbol whose market the venue closes, and opens again, under a running session, against the
simulator's own state (``Simulator.set_status``: the venue's instrument list and its order entry):

- the venue's refusal ("Market is closed.") is typed ``MarketClosed`` and has the session read its
  instrument list again, after which the session refuses new orders on the symbol itself — nothing
  sent, the simulator's order entry sees no request — while a cancel still goes;
- a refusal made here on rules that say the market is closed reads the list again (at most every
  ``RECHECK_S``), so once the venue reopens the symbol the next order goes;
- a template's send and a quote rule send nothing while it is closed;
- an OKX pair announced and not yet listed (``preopen``, its fields empty) no longer stops a session
  from starting, and an order for it is refused before sending."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from session_cases import SimAccount
from test_rules_refresh import rules_timers
from test_session_binance import BINANCE
from test_session_okx import OKX
from tickwire.errors import InvalidOrder, MarketClosed
from tickwire.limits.budget import rate_limited
from tickwire.sim import Simulator
from tickwire.trading import rules_recheck
from tickwire.trading.session import TradingSession
from tickwire.trading.unsent import unsent


def order_requests(sim: Simulator) -> Callable[[], int]:
    """How many new-order requests the simulated Binance's order entry has been handed."""
    orders = sim.venue("binance").orders  # type: ignore[attr-defined]
    seen = [0]
    handle = orders.handle

    def counting(ep: Any, req: Any, account: str, params: dict[str, str]) -> Any:
        if req.method == "POST":
            seen[0] += 1
        return handle(ep, req, account, params)

    orders.handle = counting
    return lambda: seen[0]


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def quick_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_recheck, "RECHECK_S", 0.3)


def test_a_market_the_venue_closes_is_refused_typed_then_here_unsent_and_cancels_still_go() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sent = order_requests(sim)
        resting = await a.rest_below(sim, tr, 10)
        assert tr.rules[a.symbol].trading
        sim.set_status("binance", a.symbol, "cancel_only")
        bid, _ = a.touch(sim)
        price = bid - 20 * tr.rules[a.symbol].tick_size
        with pytest.raises(MarketClosed) as venue_said:
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
        assert "Market is closed" in str(venue_said.value)
        assert sent() == 2 and len(a.orders(sim)) == 1  # the refused one never reached the book
        refused = [o for o in list(tr.tracker) if o.status == "rejected"]
        assert len(refused) == 1 and refused[0].client_id != resting.client_id
        # The refusal had the session read the instrument list again: the venue's word is now its own.
        await until(lambda: not tr.rules[a.symbol].trading)
        assert tr.rules[a.symbol].status == "CANCEL_ONLY"
        with pytest.raises(MarketClosed) as here:
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
        assert "CANCEL_ONLY" in str(here.value)
        assert sent() == 2  # nothing went
        assert len(list(tr.tracker)) == 2  # nor was anything tracked for it
        # Cancels go on a cancel-only market.
        done = await tr.cancel_order(a.symbol, client_id=resting.client_id)
        assert done.status == "canceled" and a.open(sim) == []

    a.run(body)


def test_an_order_refused_here_on_a_closed_market_goes_once_the_venue_reopens_it() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.set_status("binance", a.symbol, "closed")
        await tr.load_rules()
        assert (tr.rules[a.symbol].status, tr.rules[a.symbol].trading) == ("HALT", False)
        sent = order_requests(sim)
        bid, _ = a.touch(sim)
        price = bid - 20 * tr.rules[a.symbol].tick_size
        qty = a.size(tr, price)
        tmpl = tr.template(a.symbol, "buy")
        with pytest.raises(MarketClosed):
            tmpl.send(price, qty)
        with pytest.raises(MarketClosed):
            tmpl.send(int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale)))  # one call
        assert sent() == 0
        sim.set_status("binance", a.symbol, "open")
        # The refusals above read the list again; what they read still said closed. Refused orders
        # keep reading it (at most every RECHECK_S) until the venue's word changes.
        reads = tr.rules_recheck.reads
        assert reads >= 1

        async def reopened() -> bool:
            try:
                await tr.place_order(a.symbol, "buy", "limit", qty, price)
            except MarketClosed:
                return False
            return True

        end = time.monotonic() + 5
        while not await reopened():
            assert time.monotonic() < end, "the session never read the reopened market"
            await asyncio.sleep(0.05)
        assert sent() == 1 and len(a.open(sim)) == 1
        assert tr.rules_recheck.reads <= reads + 5 / rules_recheck.RECHECK_S + 1  # at most every RECHECK_S
        placed = await tmpl.send(price, qty)
        assert placed.status == "new" and sent() == 2 and len(a.open(sim)) == 2

    a.run(body)


def test_a_quote_rule_sends_nothing_while_the_market_is_closed_and_quotes_once_it_reopens() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.set_status("binance", a.symbol, "closed")
        await tr.load_rules()
        sent = order_requests(sim)
        bid, _ = a.touch(sim)
        async with tickwire.connect("binance", [a.symbol], endpoints=sim.urls()["binance"]) as md:
            await md.wait_synced(timeout=5)
            tmpl = tr.template(a.symbol, "buy")
            q = tmpl.quote(md, int(a.size(tr, bid).scaleb(tmpl.qty_scale)), offset_ticks=-50, when="every")
            for _ in range(30):  # the book moves; nothing is quoted
                sim.advance()
                await asyncio.sleep(0.02)
            assert sent() == 0 and not q.stopped
            sim.set_status("binance", a.symbol, "open")
            end = time.monotonic() + 5
            while sent() == 0:
                assert time.monotonic() < end, "the rule never quoted the reopened market"
                sim.advance()
                await asyncio.sleep(0.05)
            q.stop()
        assert a.orders(sim) and all(o.symbol == a.symbol for o in a.orders(sim))

    a.run(body)


def test_an_okx_pair_announced_not_listed_neither_stops_the_start_nor_is_sent_an_order() -> None:
    """Before: the session's start failed on the pair's empty ``tickSz`` (``InvalidOrder``)."""
    a: SimAccount = OKX

    async def go() -> None:
        profiles = {"okx": {"preopen": ["NEW-USDT"]}}
        async with Simulator(["okx"], seed=31, rate=0, depth=20, profiles=profiles) as sim:
            a.register(sim.venue("okx"))
            sim.fund("okx", a.key, a.funds)
            engine = sim.venue("okx").engine
            async with tickwire.trade("okx", credentials=a.signer, endpoints=sim.urls()["okx"]) as tr:
                new = tr.rules["NEW-USDT"]
                assert (new.status, new.trading) == ("preopen", False)
                assert tr.rules[a.symbol].trading
                with pytest.raises(MarketClosed):
                    await tr.place_order("NEW-USDT", "buy", "limit", Decimal(1), Decimal(1))
                assert not engine.place_requests
                sim.set_status("okx", a.symbol, "closed")
                await tr.load_rules()
                assert (tr.rules[a.symbol].status, tr.rules[a.symbol].trading) == ("suspend", False)
                with pytest.raises(MarketClosed):
                    await tr.place_order(a.symbol, "buy", "limit", Decimal("0.001"), Decimal(1000))
                assert not engine.place_requests

    asyncio.run(go())


def test_an_amend_refused_here_on_a_closed_market_reads_the_list_again_and_goes_once_it_reopens() -> None:
    """Review: an amend on a market the rules say is closed is refused with ``MarketClosed`` (nothing
    sent) — and, like an order's refusal, has the session read the instrument list again, so once
    the venue reopens the market the next amend goes. Before: amends never asked for a re-read, so a
    strategy that only amends was refused ``MarketClosed`` for good after the market reopened."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        resting = await a.rest_below(sim, tr, 10, times=2)
        sim.set_status("binance", a.symbol, "closed")
        await tr.load_rules()
        assert not tr.rules[a.symbol].trading
        sim.set_status("binance", a.symbol, "open")
        smaller = resting.qty / 2
        end = time.monotonic() + 5 * rules_recheck.RECHECK_S + 2
        while True:
            try:
                done = await tr.amend_order(a.symbol, client_id=resting.client_id, qty=smaller)
                break
            except MarketClosed:
                assert time.monotonic() < end, (
                    f"amends refused for good: {tr.rules_recheck.reads} re-reads of the list"
                )
                await asyncio.sleep(0.05)
        assert done.qty == smaller

    a.run(body)


def test_a_refusal_here_after_the_session_closed_starts_no_read_of_the_list() -> None:
    """Review: ``prepare`` on a closed market once the session has closed still refuses it with
    ``MarketClosed``, but starts no background read of the instrument list (before: a task was
    spawned after the close, outside the tasks the close cancels, and failed on the closed wire)."""
    a = BINANCE
    left: list[TradingSession] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.set_status("binance", a.symbol, "closed")
        await tr.load_rules()
        left.append(tr)

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            async with tickwire.trade(a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue]) as tr:
                await body(sim, tr)
            reads = tr.rules_recheck.reads
            with pytest.raises(MarketClosed):
                tr.prepare(a.symbol, "buy", "limit", Decimal("0.001"), Decimal(1000))
            assert tr.rules_recheck.reads == reads and not tr._tasks

    asyncio.run(go())


def test_a_quote_rule_the_venue_refuses_for_a_closed_market_holds_off_instead_of_firing_each_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The venue closes the market while the session's rules still say it trades (the list not read
    again: a venue whose list lags its order entry). A ``when="every"`` rule fires on a tick, is
    refused ``MarketClosed``, and holds off ``CLOSED_RETRY_S`` before its next order, instead of
    sending one refused order per tick (before: one per frame, 24 in 0.6 s here)."""
    monkeypatch.setattr(rules_recheck, "RECHECK_S", 3600.0)  # the list never read again here
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.rules_recheck.soon()  # spent now: no read of the list during the test
        sent = order_requests(sim)
        bid, _ = a.touch(sim)
        async with tickwire.connect("binance", [a.symbol], endpoints=sim.urls()["binance"]) as md:
            await md.wait_synced(timeout=5)
            sim.set_status("binance", a.symbol, "closed")
            tmpl = tr.template(a.symbol, "buy")
            q = tmpl.quote(md, int(a.size(tr, bid).scaleb(tmpl.qty_scale)), offset_ticks=-50, when="every")
            end = time.monotonic() + 5
            while sent() == 0:  # the rule's first order, refused
                assert time.monotonic() < end, "the rule never fired"
                sim.advance()
                await asyncio.sleep(0.025)
            first, end = sent(), time.monotonic() + 0.6
            while time.monotonic() < end:  # ~24 frames
                sim.advance()
                await asyncio.sleep(0.025)
            q.stop()
            assert tr.rules[a.symbol].trading  # the rules never said closed
            assert sent() - first <= 2, sent()  # one every CLOSED_RETRY_S (0.5 s), not one a frame
            assert a.orders(sim) == []

    a.run(body)


def test_a_quote_rule_refused_for_a_closed_market_sends_nothing_more_until_its_hold_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review: the refused order's answer takes a few frames to come (a slow path: 60 ms, frames every
    25 ms). ``_ended`` loaded the next write (``_answered``) before it looked at the refusal, and that
    load priced the frames that went by at once (``catch_up``): a second refused order went out right
    after the first, before the hold began — each hold let two through. Here no two order requests
    come closer than most of ``CLOSED_RETRY_S``."""
    monkeypatch.setattr(rules_recheck, "RECHECK_S", 3600.0)  # the list never read again here
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.rules_recheck.soon()  # spent now: no read of the list during the test
        times: list[float] = []
        orders = sim.venue("binance").orders  # type: ignore[attr-defined]
        handle = orders.handle

        def counting(ep: Any, req: Any, account: str, params: dict[str, str]) -> Any:
            if req.method == "POST":
                times.append(time.monotonic())
            return handle(ep, req, account, params)

        orders.handle = counting
        bid, _ = a.touch(sim)
        async with tickwire.connect("binance", [a.symbol], endpoints=sim.urls()["binance"]) as md:
            await md.wait_synced(timeout=5)
            sim.set_status("binance", a.symbol, "closed")
            sim.endpoint("binance", 0).delay(0.06)  # each answer three frames late
            tmpl = tr.template(a.symbol, "buy")
            q = tmpl.quote(md, int(a.size(tr, bid).scaleb(tmpl.qty_scale)), offset_ticks=-50, when="every")
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                sim.advance()
                await asyncio.sleep(0.025)
            q.stop()
            assert len(times) >= 2, times
            gaps = [round(t1 - t0, 3) for t0, t1 in itertools.pairwise(times)]
            assert min(gaps) >= 0.4, gaps  # CLOSED_RETRY_S apart, not one at each answer
            assert a.orders(sim) == []

    a.run(body)


def okx_list_reads(sim: Simulator) -> Callable[[], int]:
    """How many times the simulated OKX's instrument list has been asked for from now."""
    v: Any = sim.venue("okx")
    seen = [0]
    http = v.http

    async def counting(ep: Any, req: Any) -> Any:
        seen[0] += req.path == "/api/v5/public/instruments"
        return await http(ep, req)

    v.http = counting
    return lambda: seen[0]


def test_an_okx_tick_change_announced_is_checked_from_its_time_on_without_a_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OKX lists a new ``tickSz`` (0.2 for 0.1) in ``upcChg`` with its ``effTime`` ~2 s ahead: until
    then an order on the old tick goes (the venue still takes it); shortly after, the session has
    read the list again — once, on the timer, no order refused — and refuses the old tick itself
    while the new one goes."""
    monkeypatch.setattr(rules_recheck, "AFTER_CHANGE_S", 0.2, raising=False)  # absent before the timer
    a = OKX
    eff: list[int] = []

    def announce(sim: Simulator) -> None:
        eff.append(int(time.time() * 1000) + 2000)
        sim.set_grid("okx", a.symbol, tick="0.2", at_ms=eff[0])

    async def body(sim: Simulator, tr: TradingSession) -> None:
        reads = okx_list_reads(sim)
        engine = sim.venue("okx").engine
        assert tr.rules[a.symbol].tick_size == Decimal("0.1")
        bid, _ = a.touch(sim)
        base = (bid - 10).quantize(Decimal(1))  # on both ticks
        odd, qty = base - Decimal("0.1"), Decimal("0.0001")  # on the old tick only
        early = await tr.place_order(a.symbol, "buy", "limit", qty, odd)
        assert sim.endpoint("okx").now_ms() < eff[0], "the session started too late for this test"
        assert [o.client_id for o in a.orders(sim)] == [early.client_id]
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.2"))
        assert sim.endpoint("okx").now_ms() >= eff[0]  # read after its time, not before
        assert reads() == 1 and tr.rules_recheck.timed == 1 and tr.rules_recheck.reads == 1
        assert not [o for o in list(tr.tracker) if o.status == "rejected"]
        before = len(engine.place_requests)
        with pytest.raises(InvalidOrder):
            await tr.place_order(a.symbol, "buy", "limit", qty, odd)
        assert len(engine.place_requests) == before and len(a.orders(sim)) == 1
        placed = await tr.place_order(a.symbol, "buy", "limit", qty, base)
        assert [o.client_id for o in a.orders(sim, placed.client_id)] == [placed.client_id]
        await asyncio.sleep(0.5)
        assert reads() == 1  # the list read since announces nothing more: no timer left

    a.run(body, before=announce)


def test_an_announced_change_far_ahead_arms_one_timer_that_the_close_cancels() -> None:
    a = OKX

    async def go() -> None:
        async with Simulator(["okx"], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue("okx"))
            hour = int(time.time() * 1000) + 3_600_000
            sim.set_grid("okx", a.symbol, tick="0.2", at_ms=hour)
            sim.set_grid("okx", a.symbol, min_qty="0.001", at_ms=hour + 1000)
            async with tickwire.trade("okx", credentials=a.signer, endpoints=sim.urls()["okx"]) as tr:
                [timer] = rules_timers(tr)  # one for both changes, asleep
                await tr.load_rules()  # read again: re-armed, still one
                await asyncio.sleep(0)
                assert rules_timers(tr) == [timer] and not timer.done()
            await asyncio.wait([timer], timeout=1)
            assert timer.cancelled() and tr.rules_recheck.timed == 0

    asyncio.run(go())


def test_the_timer_reads_once_after_the_earliest_change_and_not_after_a_close() -> None:
    """``RulesRecheck.at`` alone: re-armed for an earlier time, it reads once, at that time plus
    ``AFTER_CHANGE_S``; a change whose time passed long ago arms nothing; closing stops a due read."""

    async def go() -> None:
        loads: list[float] = []
        closing = [False]
        clock = [10_000_000]  # the venue's clock, ms

        async def load() -> None:
            loads.append(time.monotonic())

        def spawn(coro: Any) -> None:
            asyncio.get_running_loop().create_task(coro)

        rr = rules_recheck.RulesRecheck(load, spawn, lambda: closing[0], lambda: clock[0])
        start = time.monotonic()
        rr.at([clock[0] + 60_000])
        rr.at([clock[0] + 60_000, clock[0] - 700])  # one 0.7 s ago, not shown in force: again soon
        rr.at([clock[0] - 120_000])  # long past: nothing armed
        await asyncio.sleep(0.5)
        assert loads == [] and rr.timed == 0
        rr.at([clock[0] + 200])
        await until(lambda: bool(loads))
        assert 0.2 + rules_recheck.AFTER_CHANGE_S - 0.05 <= loads[0] - start - 0.5 < 2.5
        assert rr.timed == 1 and rr.reads == 1
        rr.at([clock[0] + 100])
        closing[0] = True
        await asyncio.sleep(rules_recheck.AFTER_CHANGE_S + 0.3)
        assert len(loads) == 1 and rr.timed == 1

    asyncio.run(go())


def test_a_read_the_budget_refused_unsent_goes_once_the_block_ends() -> None:
    """A read of the list refused here for rate (the budget blocked after the venue's 429: nothing
    sent, the venue not asked) is sent once the block ends — not counted as the window's read and
    dropped, which left the rules stale until a refusal after the window (found by
    ``test_exactly_once_rules_change``: OKX, a tick made finer after a 429 on the list)."""

    async def go() -> None:
        loads: list[float] = []

        async def load() -> None:
            loads.append(time.monotonic())
            if len(loads) == 1:
                raise unsent(rate_limited("okx", ["INSTRUMENTS"], 0.2))

        def spawn(coro: Any) -> None:
            asyncio.get_running_loop().create_task(coro)

        rr = rules_recheck.RulesRecheck(load, spawn)
        rr.soon()
        await until(lambda: len(loads) == 2, timeout=2.0)
        assert 0.15 < loads[1] - loads[0] < 1.0 and rr.reads == 1
        # The window counts from the read the venue saw: the next refusal within it reads nothing.
        rr.soon()
        await asyncio.sleep(0.05)
        assert len(loads) == 2

    asyncio.run(go())
