"""The order hot path's rule (README, "one Python→Rust call"): ``tmpl.send(price, qty)`` from
``on_book`` is one call into the core, ``OrderTemplate.fire`` (client id, venue clock, fill,
signature, rate budget, write), beside the frame's own ``Dispatcher.on_frame``; a quote rule's order
is written inside the frame's one call, nothing more asked of the core for it — over REST and the
order socket, on both loops, against the simulated Binance spot.

Counted with ``sys.setprofile`` (``core_calls.CoreCalls``: what the core's callbacks call, ``on_book``
and a rule's ``on_sent``, is in ``within``); a property read is no call the profiler sees, so what the
write path reads of the form after its write is spied on (``core_calls.Spy``). One order in flight, each
step once the last order's answer was applied, the venue's order-count limit lifted (an order waiting for
the budget takes the Python path by design: not the steady state). A form's client ids are given
``IDS_AT_ONCE`` at a time (``OrderTemplate.give_ids``): that call is made once per so many orders.

What an order's answer costs (not the hot path, not asserted; measured 2026-12-07): over REST
``http_head`` and, for the three windows the venue reports, ``Window.state`` and ``Window.observe``
under the budget's lock (its ``__enter__`` and ``__exit__``): 9 calls; over the order socket one
window's, 4; a quote rule then loads its next order (``QuoteRule.load``, and three properties read)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import tickwire
from core_calls import CoreCalls, Spy, besides, count
from stalls import LOOPS, run
from template_cases import KEY, SECRET, SYMBOL, account
from tickwire.session.market import MarketData
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.trading.template import OrderTemplate
from tickwire.trading.template_write import IDS_AT_ONCE
from tickwire.venues import binance

QTY = 100  # lots of 0.00001 at the simulator's ~60,000: over its 5 USDT minimum
ORDERS = 150
# Far over the orders a test sends: the rate budget never has to wait.
LIFTED = {"binance": {"order_limit_10s": 1_000_000}}
Strategy = Callable[[Any], None]
Rig = tuple[Simulator, MarketData, TradingSession, list[Strategy]]


@contextlib.asynccontextmanager
async def trading(transport: str) -> AsyncIterator[Rig]:
    """Market data and a trading session on one simulated Binance; ``on_book`` runs what the test puts
    in the list it yields."""
    a = account()
    async with Simulator(["binance"], seed=31, rate=0, depth=20, profiles=LIFTED) as sim:
        a.register(sim.venue("binance"))
        sim.fund("binance", KEY, a.funds)
        strategy: list[Strategy] = []

        def on_book(book: Any) -> None:
            for f in strategy:
                f(book)

        async with tickwire.connect(
            "binance", [SYMBOL], endpoints=sim.urls()["binance"], on_book=on_book,
            probe_interval=None, clock_sync=None, coalesce=False,
        ) as md:  # fmt: skip
            async with md.trade(credentials=binance.Signer(KEY, SECRET), transport=transport) as tr:
                yield sim, md, tr, strategy


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


def spy_after_write(tmpl: OrderTemplate, reads: collections.Counter[str]) -> None:
    """What the write path reads of the form once its order is written, counted in ``reads``."""
    after_write = tmpl.after_write

    def spied(to: Any, *args: Any, **kw: Any) -> Any:
        return after_write(to._replace(form=Spy(to.form, reads)), *args, **kw)

    tmpl.after_write = spied  # type: ignore[method-assign]


def check_refills(calls: dict[tuple[str, str], int], reads: collections.Counter[str], orders: int) -> None:
    """Besides the order's own call, only the form's next client ids, once per ``IDS_AT_ONCE`` orders."""
    refills = {k: n for k, n in calls.items() if k[0] == "OrderTemplate.give_ids"}
    assert calls == refills, f"calls into the core for {orders} orders besides their own: {calls}"
    assert sum(refills.values()) <= orders // IDS_AT_ONCE + 1, (orders, refills)
    others = {k: n for k, n in reads.items() if k != "give_ids"}
    assert not others, f"properties of the form read after {orders} orders' writes: {others}"


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_send_from_on_book_is_one_call_into_the_core(transport: str, loop: str) -> None:
    async def go() -> None:
        async with trading(transport) as (sim, md, tr, strategy):
            tmpl = tr.template(SYMBOL, "buy", tif="IOC")
            tasks: list[asyncio.Task[Any]] = []

            def send(book: Any) -> None:
                price = book.best_bid_mantissa(tmpl.price_scale) - 50  # an IOC under the bid: no fill
                if not tasks or tasks[-1].done():  # one order in flight
                    tasks.append(tmpl.send(price, QTY))

            async def orders(n: int) -> None:
                for _ in range(n):
                    await until(lambda: not tasks or tasks[-1].done(), "the last order's answer")
                    sent = len(tasks)
                    sim.advance(1, "binance", SYMBOL)
                    await until(lambda s=sent: len(tasks) > s, "an order")  # type: ignore[misc]
                await until(lambda: tasks[-1].done(), "the last order's answer")

            strategy.append(send)
            await orders(20)  # steady state: connections open, the answer path warm
            reads: collections.Counter[str] = collections.Counter()
            spy_after_write(tmpl, reads)
            first, frames0 = len(tasks), md.lines[0].frames
            with CoreCalls(skip=[__file__]) as c:
                await orders(ORDERS)
            frames = md.lines[0].frames - frames0
            sent = len(tasks) - first
            statuses = collections.Counter(t.result().status for t in tasks[first:])
        assert sent == ORDERS and statuses == {"expired": ORDERS}, statuses
        assert count(c.calls, "Dispatcher.on_frame") == frames, (frames, dict(c.calls))
        assert count(c.within, "OrderTemplate.fire") == sent, (sent, dict(c.within))
        check_refills(besides(c.within, "OrderTemplate.fire"), reads, sent)

    run(go(), loop)


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_quote_rules_order_is_written_inside_the_frames_one_call(transport: str, loop: str) -> None:
    async def go() -> None:
        async with trading(transport) as (sim, md, tr, _):
            tmpl = tr.template(SYMBOL, "buy", tif="IOC")
            q = tmpl.quote(md, QTY, offset_ticks=-50, when="every")

            async def orders(n: int) -> None:
                for _ in range(n):
                    await until(lambda: q.in_flight is None and q.rule.loaded, "the rule loaded again")
                    sent = q.sent
                    sim.advance(1, "binance", SYMBOL)
                    await until(lambda s=sent: q.sent > s, "an order")  # type: ignore[misc]
                await until(lambda: q.in_flight is None, "the last order's answer")

            await orders(20)
            reads: collections.Counter[str] = collections.Counter()
            spy_after_write(tmpl, reads)
            first, frames0 = q.sent, md.lines[0].frames
            with CoreCalls(skip=[__file__]) as c:
                await orders(ORDERS)
            frames = md.lines[0].frames - frames0
            sent = q.sent - first
            assert q.error is None, q.error
        assert sent == ORDERS == frames, (sent, frames)
        assert count(c.calls, "Dispatcher.on_frame") == frames, (frames, dict(c.calls))
        check_refills(dict(c.within), reads, sent)

    run(go(), loop)


def test_sends_spending_a_forms_last_client_id_leave_the_rule_loaded_on_it_able_to_fire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The form's client ids are counted in Python (``Writing.spent``) rather than read from the form
    after every write: a send that spends the last one still gives the form more at once, so a quote
    rule loaded on the same form (the order socket's: one form for both) fires on the next tick — with
    no ids it would sit loaded and silent (``Fired::Nothing``) until something else gave it some."""
    for module in ("template_write", "template", "quote"):  # wherever a range's size is read
        monkeypatch.setattr(f"tickwire.trading.{module}.IDS_AT_ONCE", 3, raising=False)

    async def go() -> None:
        async with trading("ws") as (sim, md, tr, _):
            tmpl = tr.template(SYMBOL, "buy", tif="IOC")
            q = tmpl.quote(md, QTY, offset_ticks=-50, when="every")
            assert q.rule.loaded and tmpl.ws is not None and tmpl.ws.ids_left == 3
            price = md.book(SYMBOL).best_bid_mantissa(tmpl.price_scale) - 50
            for _ in range(3):
                await tmpl.send(price, QTY)
            got = (q.sent, q.rule.loaded, tmpl.ws.ids_left)
            assert got == (0, True, 3), got  # three ids spent by the sends, three more given by the third
            sim.advance(1, "binance", SYMBOL)
            await until(lambda: q.sent == 1, f"the rule's order (ids left {tmpl.ws.ids_left})")

    run(go(), "asyncio")
