"""The instrument list read again every ``rules_refresh_s`` (``RulesRecheck(every_s=…)``), against the
simulator's own state (``Simulator.set_grid``, its count of exchangeInfo requests, its order list):

- a change no order shows — a tick made finer while the strategy's prices sit on both grids — is in
  the session's rules within ``rules_refresh_s`` with no order sent, and the new grid's order then
  goes once;
- the reads go on at that pace, a read of any cause (a refusal's, a caller's ``load_rules``) puts the
  next one ``every_s`` after it, a read that fails does not end them, and the close does;
- ``rules_refresh_s=None`` arms nothing, and a value that is not a positive number of seconds is
  refused before the session starts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
import tickwire
from test_session_binance import BINANCE
from test_stale_rules import binance_counts
from tickwire.sim import Simulator
from tickwire.trading import rules_recheck
from tickwire.trading.session import TradingSession


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def quick_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    """Periods of 0.2 to 1 s are allowed here (``MIN_REFRESH_S``)."""
    monkeypatch.setattr(rules_recheck, "MIN_REFRESH_S", 0.1)


def test_a_finer_tick_no_order_shows_is_read_within_rules_refresh_s() -> None:
    """The session starts on a 0.05 tick; the venue moves to 0.01 and the strategy sends nothing a
    grid refuses: within ``rules_refresh_s`` (0.5 s) the session reads the list on its own — one
    exchangeInfo request, no order — and a price on the new grid only goes once. The reads go on at
    that pace until the close, and none after it. Before, the session kept the 0.05 tick for its
    life: the same order was refused here (``InvalidOrder``) until a refusal had the list read."""
    a = BINANCE
    every = 0.5
    left: list[TradingSession] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[a.symbol].tick_size == Decimal("0.05")
        sent, lists = binance_counts(sim)
        t0 = time.monotonic()
        sim.set_grid("binance", a.symbol, tick="0.01")
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.01"), "the periodic read", 3.0)
        took = time.monotonic() - t0
        assert took < every + 0.5, took
        assert lists() == 1 and sent() == 0
        assert tr.rules_recheck.refreshes == 1 and tr.rules_recheck.reads == 1
        bid, _ = a.touch(sim)
        price = (bid - 10).quantize(Decimal("0.1"), ROUND_FLOOR) + Decimal("0.01")  # the new grid only
        placed = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
        [theirs] = a.orders(sim, placed.client_id)
        inst = sim.venue("binance").instruments[a.symbol]
        assert theirs.open and theirs.price * inst.tick == price and sent() == 1
        # The next reads come ``every`` apart (this VM is shared: a wide margin for when).
        t1 = time.monotonic()
        await until(lambda: lists() == 3, "two more periodic reads", 4 * every + 2.0)
        assert time.monotonic() - t1 >= 2 * every - 0.5 - 0.1
        assert tr.rules_recheck.refreshes == 3 and sent() == 1
        left.append(tr)

    a.run(body, before=lambda sim: sim.set_grid("binance", a.symbol, tick="0.05"), rules_refresh_s=every)
    [tr] = left
    assert not tr._tasks and tr.rules_recheck._timer_on is False  # the timer went with the close


def rules_timers(tr: TradingSession) -> list[asyncio.Task[Any]]:
    """The session's tasks that are the rules' timer (not, say, the open orders' audit's)."""
    return [t for t in tr._tasks if t.get_coro().__qualname__ == "RulesRecheck._timer"]  # type: ignore[union-attr]


@pytest.mark.parametrize("never", [None, 0, 0.0])
def test_rules_refresh_none_arms_no_timer_and_reads_nothing(never: float | None) -> None:
    """None, or 0 (what a gateway's TOML can write), reads the list on no timer."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        _, lists = binance_counts(sim)
        assert not rules_timers(tr)  # Binance announces no change ahead: nothing to time
        await asyncio.sleep(0.3)
        assert lists() == 0 and tr.rules_recheck.refreshes == 0

    a.run(body, rules_refresh_s=never)


def test_the_default_session_arms_one_timer_for_its_periodic_read() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        [timer] = rules_timers(tr)
        assert not timer.done() and tr.rules_recheck.refreshes == 0
        due = tr.rules_recheck._refresh
        assert due is not None
        assert rules_recheck.REFRESH_S - 5 < due - time.monotonic() <= rules_recheck.REFRESH_S

    a.run(body)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), 0.05, "60", True, Decimal(60)])
def test_a_rules_refresh_that_is_not_seconds_of_at_least_recheck_s_is_refused_before_the_start(
    bad: Any,
) -> None:
    """Negative, NaN, infinite (a timer that never wakes: say None), under ``MIN_REFRESH_S`` (the
    list would be read faster than a refusal's read of it may go), or not a real number."""
    ep = {"ws": "ws://127.0.0.1:9", "rest": "http://127.0.0.1:9"}
    with pytest.raises(ValueError, match="rules_refresh_s"):
        tickwire.trade("binance", credentials=BINANCE.signer, endpoints=[ep], rules_refresh_s=bad)


def test_a_rules_refresh_of_a_float_subclass_is_taken() -> None:
    class Seconds(float):  # numpy.float64 is one
        pass

    rr = rules_recheck.RulesRecheck(lambda: asyncio.sleep(0), lambda coro: None, every_s=Seconds(60))
    assert rr._every == 60.0


def _recheck(
    every: float | None, fail: Callable[[int], bool] = lambda n: False
) -> tuple[rules_recheck.RulesRecheck, list[float], list[bool]]:
    """A ``RulesRecheck`` alone whose ``load`` records when it ran and calls ``at()`` as the session's
    ``load_rules`` does after a read that succeeded; ``fail(n)``: the n-th read (from 1) raises."""
    loads: list[float] = []
    closing = [False]
    rr: rules_recheck.RulesRecheck

    async def load() -> None:
        loads.append(time.monotonic())
        if fail(len(loads)):
            raise ConnectionError("the venue is down")
        rr.at()

    def spawn(coro: Any) -> None:
        asyncio.get_running_loop().create_task(coro)

    rr = rules_recheck.RulesRecheck(load, spawn, lambda: closing[0], every_s=every)
    return rr, loads, closing


def test_a_read_that_fails_does_not_end_the_periodic_reads() -> None:
    async def go() -> None:
        rr, loads, closing = _recheck(0.2, fail=lambda n: n == 1)
        start = time.monotonic()
        rr.at()  # the session's first read
        await until(lambda: len(loads) == 3, "three periodic reads, the first failing", 3.0)
        gaps = [b - a for a, b in zip([start, *loads], loads, strict=False)]
        assert all(0.15 < g < 1.0 for g in gaps), gaps
        assert rr.refreshes == 3 and rr.reads == 3
        closing[0] = True
        await asyncio.sleep(0.5)
        assert len(loads) == 3  # none once the session closes

    asyncio.run(go())


def test_a_read_of_another_cause_puts_the_next_periodic_one_every_s_after_it() -> None:
    async def go() -> None:
        rr, loads, closing = _recheck(0.6)
        rr.at()
        await asyncio.sleep(0.4)
        rr.soon()  # a refusal's read, 0.4 s in
        await until(lambda: len(loads) == 1, "the refusal's read")
        await until(lambda: len(loads) == 2, "the periodic read after it", 3.0)
        assert 0.5 < loads[1] - loads[0] < 1.2, loads  # from the refusal's read, not from the start
        assert rr.refreshes == 1 and rr.reads == 2
        closing[0] = True

    asyncio.run(go())


def test_every_s_none_and_no_announced_change_spawns_nothing() -> None:
    async def go() -> None:
        spawned: list[Any] = []

        async def load() -> None:
            pass

        def spawn(coro: Any) -> None:
            spawned.append(coro)
            coro.close()

        rr = rules_recheck.RulesRecheck(load, spawn)
        rr.at()
        rr.at(())
        assert spawned == [] and rr._next() is None
        with pytest.raises(ValueError, match="rules_refresh_s"):
            rules_recheck.RulesRecheck(load, spawn, every_s=-5)
        assert rules_recheck.RulesRecheck(load, spawn, every_s=0)._every is None

    asyncio.run(go())


def test_an_announced_change_and_the_periodic_read_share_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    """OKX's announced change 0.2 s ahead and a 1 s period: one timer task; the change's read comes
    first (``timed``), and the periodic one ``every_s`` after that read, not after the start."""
    monkeypatch.setattr(rules_recheck, "AFTER_CHANGE_S", 0.05)

    async def go() -> None:
        clock = [10_000_000]
        loads: list[float] = []
        tasks: list[asyncio.Task[None]] = []
        rr: rules_recheck.RulesRecheck

        async def load() -> None:
            loads.append(time.monotonic())
            rr.at()  # this read announces nothing more

        def spawn(coro: Any) -> None:
            tasks.append(asyncio.get_running_loop().create_task(coro))

        rr = rules_recheck.RulesRecheck(load, spawn, now_ms=lambda: clock[0], every_s=1.0)
        start = time.monotonic()
        rr.at([clock[0] + 200])
        await until(lambda: len(loads) == 2, "the change's read, then the periodic one", 4.0)
        assert 0.2 <= loads[0] - start < 0.8, loads[0] - start
        assert 0.9 <= loads[1] - loads[0] < 1.8, loads[1] - loads[0]
        assert (rr.timed, rr.refreshes, rr.reads) == (1, 1, 2)
        timers = [t for t in tasks if t.get_coro().__name__ == "_timer"]  # type: ignore[union-attr]
        assert len(timers) == 1 and not timers[0].done()
        timers[0].cancel()

    asyncio.run(go())
