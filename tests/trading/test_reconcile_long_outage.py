"""Reconciliation after an outage of the venue longer than the session's schedule of tries
(``trading/reconcile.py``): the venue's endpoint goes away with tens of orders resting, the market
trades through half of them meanwhile, and once the private stream is back the REST host still fails
(a 503 for longer than the tries, as a long outage or a 418 ban of minutes would). Every order must
end as the simulator has it and every fill reach ``on_fill`` once, however long the REST host took.
The schedule is scaled down (``LATER_S``, ``AWAY_RETRY_S``) so the case runs in seconds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from session_cases import settle
from template_cases import account
from tickwire.sim import Simulator
from tickwire.trading import after_gap, reconcile
from tickwire.trading.session import TradingSession

ORDERS = 20
# The scaled tries: 0.35 s of LATER_S after three 0.05 s rounds; the REST host fails for longer.
LATER_S = (0.05, 0.1, 0.2)
REST_FAILS_S = 2.0


def test_orders_the_venue_ended_during_a_long_outage_are_reconciled_once_it_answers_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reconcile, "LATER_S", LATER_S)
    monkeypatch.setattr(after_gap, "LATER_S", LATER_S)  # the stream's return asks on that schedule
    monkeypatch.setattr(after_gap, "AWAY_RETRY_S", 0.05)
    a = account()
    fills: list[Any] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        for k in range(ORDERS):
            await a.rest_below(sim, tr, k)
        ep = sim.endpoint(a.venue, 0)
        v = sim.venue(a.venue)
        mine = a.orders(sim)
        assert len(mine) == ORDERS
        await ep.down(1.0)
        ep.fail(10**9, status=503)  # REST keeps failing after the endpoint is back
        top = sorted(mine, key=lambda o: -o.price)[: ORDERS // 2]
        for i in range(200_000):  # the market trades through the upper half meanwhile
            if not any(o.open for o in top):
                break
            v.book_step(a.symbol)
            if i % 500 == 0:
                await asyncio.sleep(0)
        assert not any(o.open for o in top)
        await settle(lambda: bool(tr.stream is not None and tr.stream.connects >= 2), "the stream back", 10)
        await asyncio.sleep(REST_FAILS_S)
        ep.fail(0)

        def agrees() -> bool:
            return {o.client_id for o in a.open(sim)} == {o.client_id for o in tr.tracker.open_orders()}

        # Before: the tries ran out while REST failed ("reconcile_stuck"), and the orders the venue
        # filled in the gap stayed open here for the session's life, their fills never heard.
        await settle(agrees, "the open orders the simulator's once REST answers", 5)
        truth = sorted((o.client_id, str(f.trade_id)) for o in mine for f in o.fills)
        assert truth, "the market traded through the orders"
        await settle(lambda: len(fills) >= len(truth), f"every fill heard ({len(fills)} of {len(truth)})", 5)
        await asyncio.sleep(0.2)  # a copy heard late would come now
        assert sorted((f.client_id, str(f.trade_id)) for f in fills) == truth  # each once

    a.run(body, on_fill=fills.append)
