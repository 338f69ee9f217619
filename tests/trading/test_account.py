"""Listings that take more than one page (``tickwire.trading.account.every_page``): the open orders
of an account with more orders than the venue answers at once, against the simulator's own order list.

Bybit gives at most 50 open orders an answer (20 unless asked), OKX 100, Coinbase 100; the simulator
pages them as the venues do (newest first, a cursor or ``after``). The orders are placed in the
simulator's engine directly — another program's orders on the same key, unknown to the session —
so a page the session did not read is an order it cannot see or cancel."""

from __future__ import annotations

import importlib
import math
from decimal import Decimal

import pytest
from session_cases import SimAccount
from tickwire.sim import Simulator
from tickwire.sim.market import BID
from tickwire.trading.session import TradingSession

# (module, account, the other symbol, one page, the listing request)
PAGED = [
    ("test_session_bybit", "BYBIT", "ETHUSDT", 50, "GET /v5/order/realtime"),
    ("test_session_okx", "OKX", "ETH-USDT", 100, "GET /api/v5/trade/orders-pending"),
    ("test_session_coinbase", "COINBASE", "ETH-USD", 100, "GET /api/v3/brokerage/orders/historical/batch"),
]


def rest_in_engine(sim: Simulator, venue: str, key: str, symbol: str, n: int, prefix: str) -> set[str]:
    """``n`` smallest buys resting below the best bid, placed in the simulator's engine for ``key``
    (as another program on the key would have); their client ids."""
    v = sim.venue(venue)
    inst = v.engine.books[symbol].inst
    best = v.engine.books[symbol].side(BID).best()
    out = set()
    for i in range(n):
        ticks = best - 100 - i
        notional = inst.min_notional or Decimal(0)
        lots = max(inst.min_lots, math.ceil(notional / (inst.price(ticks) * inst.lot)))
        cid = f"{prefix}{i:04d}"
        _, step = v.engine.place(key, symbol, BID, "LIMIT", lots + 1, ticks, "GTC", cid, 0)
        if step is not None:
            v.on_step(symbol, step)
        out.add(cid)
    return out


def _open_ids(a: SimAccount, sim: Simulator) -> set[str]:
    return {o.client_id for o in a.open(sim)}


def _listings(sim: Simulator, venue: str, op: str) -> int:
    return sum(1 for _, x, _, _ in sim.endpoint(venue, 0).exchanges if x == op)


@pytest.mark.parametrize(("module", "name", "other", "page", "op"), PAGED, ids=[n for _, n, *_ in PAGED])
def test_open_orders_reads_every_page(module: str, name: str, other: str, page: int, op: str) -> None:
    a: SimAccount = getattr(importlib.import_module(module), name)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        placed = rest_in_engine(sim, a.venue, a.key, a.symbol, page + 7, "theirs")
        before = _listings(sim, a.venue, op)
        listed = await tr.open_orders()
        assert sorted(o.client_id for o in listed) == sorted(_open_ids(a, sim)) == sorted(placed)
        assert _listings(sim, a.venue, op) - before == 2  # a full page, then the rest
        assert all(o.is_open and o.symbol == a.symbol for o in listed)
        # One symbol: the same paging with the symbol named.
        assert len(await tr.open_orders(a.symbol)) == page + 7

    a.run(body)


@pytest.mark.parametrize(("module", "name", "other", "page", "op"), PAGED, ids=[n for _, n, *_ in PAGED])
def test_the_kill_switch_cancels_orders_past_the_first_page(
    module: str, name: str, other: str, page: int, op: str
) -> None:
    """The older orders are on another symbol, so only later pages name them: Bybit's kill cancels by
    symbol (cancel-all per listed symbol), OKX's and Coinbase's the listed orders. Three pages: the
    kill's second listing (for orders taken while it ran) would also see a second page once the
    first is cancelled, never a third."""
    a: SimAccount = getattr(importlib.import_module(module), name)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.fund(a.venue, a.key, {**a.funds, "USD": "1000000"})
        older = rest_in_engine(sim, a.venue, a.key, other, page + 3, "old")
        newer = rest_in_engine(sim, a.venue, a.key, a.symbol, page, "new")
        assert _open_ids(a, sim) == older | newer
        report = await tr.kill("pages")
        assert _open_ids(a, sim) == set()
        assert report.complete, report
        assert {o.client_id for o in report.cancelled} == older | newer

    a.run(body)
