"""Listings that take more than one page (``tickwire.trading.account.every_page``): the open orders
of an account with more orders than the venue answers at once, against the simulator's own order list.

Bybit gives at most 50 open orders an answer (20 unless asked), OKX 100, Coinbase 100; the simulator
pages them as the venues do (newest first, a cursor or ``after``). The orders are placed in the
simulator's engine directly — another program's orders on the same key, unknown to the session —
so a page the session did not read is an order it cannot see or cancel."""

from __future__ import annotations

import importlib
import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from session_cases import SimAccount
from tickwire.errors import TransportError, VenueError
from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import BID
from tickwire.sim.simulator import venue_class
from tickwire.trading.account import every_page
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call

# (module, account, the other symbol, one page, the listing request)
PAGED = [
    ("test_session_bybit", "BYBIT", "ETHUSDT", 50, "GET /v5/order/realtime"),
    ("test_session_okx", "OKX", "ETH-USDT", 100, "GET /api/v5/trade/orders-pending"),
    ("test_session_coinbase", "COINBASE", "ETH-USD", 100, "GET /api/v3/brokerage/orders/historical/batch"),
]


def rest_in_engine(
    sim: Simulator, venue: str, key: str, symbol: str, n: int, prefix: str, now_ms: int = 0
) -> set[str]:
    """``n`` smallest buys resting below the best bid, placed in the simulator's engine for ``key``
    (as another program on the key would have) at ``now_ms``; their client ids."""
    v = sim.venue(venue)
    inst = v.engine.books[symbol].inst
    best = v.engine.books[symbol].side(BID).best()
    out = set()
    for i in range(n):
        ticks = best - 100 - i
        notional = inst.min_notional or Decimal(0)
        lots = max(inst.min_lots, math.ceil(notional / (inst.price(ticks) * inst.lot)))
        cid = f"{prefix}{i:04d}"
        _, step = v.engine.place(key, symbol, BID, "LIMIT", lots + 1, ticks, "GTC", cid, now_ms)
        if step is not None:
            v.on_step(symbol, step)
        out.add(cid)
    return out


# The kill-switch cases below spent most of their time waiting on the venues' rate limits: each kill
# asks the state of every order it cancelled (hundreds of status queries at 30-60 per window). What
# they prove does not depend on how long a window lasts, so it is shortened tenfold on both sides:
# the simulator enforces its unchanged limits over its shortened windows (refusing what would overrun
# them), the session's budget paces by the same limits over windows as short (plus its own margin).
# The same requests go out, still paced by the budget, and the venue refuses none (asserted).
FAST = 0.1


def fast_windows(venue: str) -> dict[str, float]:
    """The simulator's rate windows of ``venue`` (intervals named ``*_window``), ``FAST`` times as
    long: ``SimAccount.run(sim_timeouts=…)``."""
    return {k: v * FAST for k, v in venue_class(venue).intervals.items() if k.endswith("_window")}


def fast_budget(tr: TradingSession) -> None:
    """The session's limits, the same weights over windows ``FAST`` times as long (as a venue's
    announced limits replace the documented ones)."""
    limits = [replace(lim, window_s=lim.window_s * FAST) for lim in tr.budget.limits.values()]
    tr.budget.set_limits(limits, replace=True)


def rate_refusals(sim: Simulator, venue: str) -> int:
    """Requests the simulated venue refused for rate (its limiters' own count): none, for the
    shortened windows to have changed nothing but the waits."""
    v = sim.venue(venue)
    parts = [v, *(x for x in vars(v).values() if type(x).__module__.startswith("tickwire.sim.venues"))]
    seen = {
        id(lim): lim
        for part in parts
        for value in vars(part).values()
        for lim in (value.values() if isinstance(value, dict) else [value])
        if isinstance(lim, WeightLimiter)
    }
    return sum(lim.refused for lim in seen.values())


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
        fast_budget(tr)
        sim.fund(a.venue, a.key, {**a.funds, "USD": "1000000"})
        older = rest_in_engine(sim, a.venue, a.key, other, page + 3, "old")
        newer = rest_in_engine(sim, a.venue, a.key, a.symbol, page, "new")
        assert _open_ids(a, sim) == older | newer
        report = await tr.kill("pages")
        assert _open_ids(a, sim) == set()
        assert report.complete, report
        assert {o.client_id for o in report.cancelled} == older | newer
        assert rate_refusals(sim, a.venue) == 0

    a.run(body, sim_timeouts=fast_windows(a.venue))


def test_a_failed_later_page_keeps_the_pages_read_and_a_page_named_twice_is_an_error() -> None:
    """Bybit: the simulator fails the request for the second page (a 400), so ``every_page`` raises
    the venue's error — with the first page's 50 orders, the newest the simulator holds, already in
    ``out`` for the caller (the kill switch cancels them and reports the listing cut short). A venue
    whose cursor does not move is refused rather than read forever or quietly cut short."""
    from test_session_bybit import BYBIT as a

    async def body(sim: Simulator, tr: TradingSession) -> None:
        rest_in_engine(sim, a.venue, a.key, a.symbol, 60, "theirs")
        newest = sorted((o for o in a.open(sim)), key=lambda o: o.id, reverse=True)[:50]

        async def send(call: Call) -> Any:
            if "cursor" in call.params:
                sim.endpoint(a.venue, 0).fail(1, 400)
            return await tr.send(call)

        out: list[Any] = []
        with pytest.raises(VenueError):
            await every_page(send, tr.grammar, tr.grammar.open_orders(None), out)
        assert [o["orderLinkId"] for o in out] == [o.client_id for o in newest]

        class Stuck:
            @staticmethod
            def next_page(call: Call, body: Any) -> Call | None:
                return Call(call.method, call.path, {**call.params, "cursor": "same"})

        with pytest.raises(VenueError, match="twice"):
            await every_page(tr.send, Stuck(), tr.grammar.open_orders(None))

    a.run(body)


def test_the_kill_switch_cancels_the_pages_it_read_when_a_later_one_fails() -> None:
    """OKX: the second page of the kill's first listing fails. The first page's orders are cancelled
    at once (before: a listing error meant nothing listed), the report says the listing was cut
    short, and the kill's second listing still finds the rest."""
    from test_session_okx import OKX as a

    async def body(sim: Simulator, tr: TradingSession) -> None:
        fast_budget(tr)
        placed = rest_in_engine(sim, a.venue, a.key, a.symbol, 130, "theirs")
        ep = sim.endpoint(a.venue, 0)
        sends = tr.send_lane

        async def send_lane(call: Call, lane: Any) -> Any:
            if "after" in call.params and not failed:
                failed.append(call)
                ep.fail(1, 400)
            return await sends(call, lane)

        failed: list[Call] = []
        tr.send_lane = send_lane  # type: ignore[method-assign]
        report = await tr.kill("cut short")
        assert failed and _open_ids(a, sim) == set()
        assert not report.complete and any("past the pages read" in e for e in report.errors)
        # The first batch cancels were sent before the kill listed again.
        ops = [op for _, op, _, _ in ep.exchanges]
        first_cancel = ops.index("POST /api/v5/trade/cancel-batch-orders")
        assert ops[:first_cancel].count("GET /api/v5/trade/orders-pending") == 2
        assert {o.client_id for o in report.cancelled} == placed
        assert rate_refusals(sim, a.venue) == 0

    a.run(body, sim_timeouts=fast_windows(a.venue))


def test_htx_says_when_its_one_page_of_open_orders_is_full() -> None:
    """HTX answers at most 500 open orders (``size``) and its further paging is not followed: a full
    page is a ``VenueError``, not a listing quietly cut at 500. The kill switch cancels the 500, says
    its listing was cut short, and its second listing finds the rest."""
    from test_session_htx import HTX as a

    async def body(sim: Simulator, tr: TradingSession) -> None:
        fast_budget(tr)
        placed = rest_in_engine(sim, a.venue, a.key, a.symbol, 505, "theirs")
        with pytest.raises(VenueError, match="500 open orders"):
            await tr.open_orders()
        report = await tr.kill("a full page")
        assert _open_ids(a, sim) == set()
        assert not report.complete and any("past the pages read" in e for e in report.errors)
        assert {o.client_id for o in report.cancelled} == placed
        assert rate_refusals(sim, a.venue) == 0

    a.run(body, sim_timeouts=fast_windows(a.venue))


def test_htx_reconciliation_past_a_full_page_of_open_orders_still_proves_a_lost_order_absent() -> None:
    """505 orders of another program rest on the key; an order's request never reaches HTX (held
    unanswered). Reconciliation asks by client id (no such order), then lists the open orders, which
    stop at a full page of 500 (``VenueError``): it reads what the pages it got and the tracker say
    and, the order in neither, declares it not placed — ``TransportError``, nothing resent, the
    simulator's 505 orders only (before the cut-short fallback: the listing's error left the order
    unknown and the call raised ``UnknownOutcome``)."""
    from test_session_htx import HTX as a

    async def body(sim: Simulator, tr: TradingSession) -> None:
        theirs = rest_in_engine(sim, a.venue, a.key, a.symbol, 505, "theirs")
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        listed = _listings(sim, a.venue, "GET /v1/order/openOrders")
        with pytest.raises(TransportError, match="was not placed"):
            await a.rest_below(sim, tr, 10)
        assert _listings(sim, a.venue, "GET /v1/order/openOrders") > listed  # the cut-short path ran
        assert _open_ids(a, sim) == theirs  # nothing of ours, nothing resent
        assert tr.tracker.open_orders() == [] and tr.tracker.in_flight() == []

    a.run(body, timeout=0.5)
