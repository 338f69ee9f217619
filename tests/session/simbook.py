"""Test helpers: compare a session's books with the simulator's (the ground truth)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import tickwire
from tickwire.session.market import MarketData
from tickwire.sim import Simulator


def levels_equal(md: MarketData, sim: Simulator, venue: str, symbol: str, depth: int | None = None) -> bool:
    try:
        b = md.book(symbol)
    except KeyError:
        return False
    if not b.is_synced or not md.is_synced(symbol):
        return False
    truth = sim.book(venue, symbol, depth)
    n = depth or 100_000
    want_b = [(float(p), float(q)) for p, q in truth.bids[:n]]
    want_a = [(float(p), float(q)) for p, q in truth.asks[:n]]
    return b.levels("bid", n) == want_b and b.levels("ask", n) == want_a


async def eventually(
    pred: Callable[[], bool], timeout: float = 3.0, what: str | Callable[[], str] = ""
) -> None:
    """Until ``pred()``; ``what`` (or what it returns, read at the failure) names it in the error."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"not true within {timeout} s: {what() if callable(what) else what}")
        await asyncio.sleep(0.01)


async def quiet(*counted: Any, settle: float = 0.3, timeout: float = 10.0, what: str = "") -> None:
    """Until none of ``counted`` (lists, or anything with a length) grew for ``settle`` seconds: what
    was in flight when a simulated market paused has landed, however loaded the machine is."""
    end = time.monotonic() + timeout
    last: tuple[int, ...] | None = None
    while (now := tuple(len(c) for c in counted)) != last:
        if time.monotonic() > end:
            raise AssertionError(f"still growing after {timeout} s: {what}")
        last = now
        await asyncio.sleep(settle)


async def assert_books_match(
    md: MarketData, sim: Simulator, venue: str, symbols: list[str], depth: int | None = None
) -> None:
    """Once every book reports in sync, freeze the simulated market, let in-flight frames land, then
    every book must equal the truth."""
    for s in symbols:
        await eventually(lambda s=s: md.is_synced(s), what=f"{venue} {s} in sync; health {md.health()}")
    sim.pause()
    try:
        for s in symbols:
            await eventually(
                lambda s=s: levels_equal(md, sim, venue, s, depth),
                what=f"{venue} {s} == sim; health {md.health()}",
            )
    finally:
        sim.resume()


class Recorder:
    """Collects status events by kind."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, ev: Any) -> None:
        self.events.append(ev)

    def kinds(self, kind: str, symbol: str | None = None) -> list[Any]:
        return [e for e in self.events if e.kind == kind and (symbol is None or e.symbol == symbol)]


class Trades:
    """Every trade id the simulator publishes for ``symbols`` (``published``) and every one a session
    hands ``on_trade`` (``heard``, pass ``heard_one`` as the callback)."""

    def __init__(self, sim: Simulator, venue: str, symbols: list[str]) -> None:
        self.published: dict[str, list[int]] = {s: [] for s in symbols}
        self.heard: dict[str, list[int | None]] = {s: [] for s in symbols}
        v = sim.venue(venue)
        on_step = v.on_step

        def record(sym: str, step: Any) -> None:
            if sym in self.published:
                self.published[sym].extend(t.id for t in step.trades)
            on_step(sym, step)

        v.on_step = record  # type: ignore[method-assign]

    def heard_one(self, t: Any) -> None:
        self.heard[t.symbol].append(t.trade_id)

    async def assert_each_heard_once(self, in_order: bool = True) -> None:
        """Every trade published since the session's first one heard, once and (``in_order``) in the
        order published. Not in order: where a venue's trade ids are not consecutive per symbol, a
        connection behind another (a renewal's old one, an A/B line) may deliver its last trades
        after the other's newer ones (Binance's wait for the ones before them: ``hold_s``)."""
        for sym, published in self.published.items():
            last = published[-1]
            await eventually(lambda s=sym, n=last: n in self.heard[s], what=f"{sym} trade {last} heard")
            got = self.heard[sym]
            at = {t: i for i, t in enumerate(published)}
            start = min(at[t] for t in got if t in at)  # trades before the subscription are not sent
            want = published[start : published.index(last) + 1]
            head = [t for t in got if t is not None and at.get(t, len(published)) <= at[last]]
            missing, extra = sorted(set(want) - set(head)), [t for t in got if t not in at]
            where = next((i for i, (g, w) in enumerate(zip(head, want, strict=False)) if g != w), None)
            detail = (sym, f"missing {missing}, not published {extra}, first out of order at {where}")
            assert not extra and len(head) == len(set(head)), detail
            assert (head if in_order else sorted(head, key=at.__getitem__)) == want, detail


@contextlib.asynccontextmanager
async def quiet_once_synced(
    sim: Simulator, venue: str, symbol: str, depth: int | None = None, **connect: Any
) -> AsyncIterator[MarketData]:
    """A session on ``symbol`` (``connect``: more of ``tickwire.connect``'s options), the simulator
    moving it until the book syncs (USDⓈ-M syncs from buffered diffs) and quiet from then on; the
    book checked equal to the simulator's before it is handed over."""

    async def diffs() -> None:
        while True:
            sim.advance(1, venue, symbol)
            await asyncio.sleep(0.05)

    feeding = asyncio.create_task(diffs())
    try:
        async with tickwire.connect(venue, [symbol], endpoints=sim.urls()[venue], **connect) as md:
            feeding.cancel()  # from here the symbol is quiet
            await assert_books_match(md, sim, venue, [symbol], depth=depth)
            yield md
    finally:
        feeding.cancel()
