"""What the quote rule tests share: a trading session beside market data on one simulated Binance,
a rule that never moves the book it watches, market steps taken one tick in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import tickwire
from session_cases import settle
from template_cases import KEY, SECRET, SYMBOL, account
from tickwire.sim import Simulator
from tickwire.trading.quote import Quote
from tickwire.trading.session import TradingSession
from tickwire.venues import binance

Body = Callable[[Simulator, Any, TradingSession, list[tuple[int, int, int]]], Awaitable[None]]
QTY = 100  # lots of 0.00001 at the simulator's ~60,000: over its 5 USDT minimum


def ioc(tr: TradingSession, md: Any) -> Quote:
    """A rule sending an IOC buy 50 ticks under the bid on every update: each finds nothing and
    ends at once, so the rule's own orders never move the book it watches (a resting order would:
    the simulator's book is the venue's, the account's orders in it)."""
    q = tr.template(SYMBOL, "buy", tif="IOC").quote(md, QTY, offset_ticks=-50, when="every")
    md.quotes.append(q)
    return q


def run(
    body: Body,
    register: Callable[[Any], None] | None = None,
    recv_window: int | None = None,
    **trade_kw: Any,
) -> None:
    """``body(sim, md, tr, seen)`` with market data and a trading session on one simulated Binance;
    ``seen`` gets ``(orders the simulator holds, orders the rule wrote, best bid)`` per ``on_book``.
    ``recv_window``: the signer's (a lost order is called absent only once it has passed)."""
    a = account() if register is None else replace(account(), register=register)
    seen: list[tuple[int, int, int]] = []
    quotes: list[Quote] = []

    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue("binance"))
            sim.fund("binance", KEY, a.funds)

            def on_book(book: Any) -> None:
                if quotes:
                    seen.append((len(a.orders(sim)), quotes[0].sent, book.best_bid_mantissa(2)))

            async with tickwire.connect(
                "binance", [SYMBOL], endpoints=sim.urls()["binance"], on_book=on_book,
                probe_interval=None, coalesce=False,
            ) as md:  # fmt: skip
                signer = binance.Signer(KEY, SECRET, recv_window=recv_window)
                async with md.trade(credentials=signer, **trade_kw) as tr:
                    md.quotes = quotes  # where on_book finds the rule
                    await body(sim, md, tr, seen)

    asyncio.run(go())


async def moves(sim: Simulator, q: Quote, n: int) -> None:
    """``n`` market steps, each once the rule's previous order was answered (one tick in flight)."""
    for _ in range(n):
        await settle(lambda: q.in_flight is None and q.rule.loaded, "the rule loaded again")
        sent = q.sent
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda s=sent: q.sent > s, "an order")
    await settle(lambda: q.in_flight is None, "the last answer")
