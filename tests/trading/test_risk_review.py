"""Risk limits (``tickwire.trading.risk``): exits that must give the gate back what they took, and
order paths that must pass it — found in review."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from template_cases import account
from tickwire.errors import RiskLimitExceeded
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.trading import RiskLimits
from tickwire.trading.session import TradingSession

SYMBOL = "BTCUSDT"
A = account()


def _run(body: Any, **trade_kw: Any) -> None:
    """``body(sim, tr)`` on a simulated Binance spot."""
    import tickwire

    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            A.register(sim.venue("binance"))
            sim.fund("binance", A.key, A.funds)
            async with tickwire.trade("binance", credentials=A.signer, endpoints=sim.urls()["binance"],
                                      **trade_kw) as tr:  # fmt: skip
                await body(sim, tr)

    asyncio.run(go())


def test_a_template_send_cancelled_before_its_task_ran_gives_its_reservation_back() -> None:
    """A send whose write has to wait (here for the rate budget) holds a reservation until its task
    ends. Cancelled before the task's first step (a caller's time-out, a task group torn down), the
    coroutine never runs — nor its ``finally``: the reservation must still go, or the symbol counts
    one order more for the session's life (here, under max_open_orders=2, every later order is
    refused)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        # One order per 0.3 s for this account (the reserve keeps the second slot for cancels).
        tr.budget.set_limits([Limit("ORDERS_TEST", 2, 0.3, per="account", counts="ORDERS")], replace=True)
        tmpl = tr.template(SYMBOL, "buy")
        bid, _ = A.touch(sim)
        p = bid - 30 * tr.rules[SYMBOL].tick_size
        pm, qm = int(p.scaleb(tmpl.price_scale)), int(A.size(tr, p).scaleb(tmpl.qty_scale))
        first = await tmpl.send(pm, qm)
        task = tmpl.send(pm, qm)
        assert tr.risk.exposure(SYMBOL)["reserved"] == 1  # waiting for the budget: not written yet
        task.cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        assert task.cancelled() and len(tr.tracker) == 1
        assert tr.risk.exposure(SYMBOL)["reserved"] == 0, tr.risk.exposure(SYMBOL)
        second = await tmpl.send(pm, qm)  # the limit's second slot is free
        assert (first.status, second.status) == ("new", "new") and len(A.open(sim)) == 2

    _run(body, risk=RiskLimits(max_open_orders=2))


def test_a_tradefence_batchs_created_orders_pass_the_gate_together_or_nothing_is_sent() -> None:
    """Tradefence's batch creates orders in one request (tracked like ``place_order``'s): they pass
    the gate as ``place_order``'s do, each counting the batch's earlier ones. One order rests under
    max_open_orders=2: a batch creating two more is refused whole, nothing sent and nothing
    tracked; a batch creating one goes. Before, the batch passed no gate and the venue held three."""
    from test_session_tradefence import TRADEFENCE as a
    from tickwire.venues import tradefence

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await a.rest_below(sim, tr, 20)
        bid, _ = a.touch(sim)
        two = [tr.prepare(a.symbol, "buy", "limit", Decimal(1), bid - Decimal(i) / 10) for i in (3, 4)]
        with pytest.raises(RiskLimitExceeded, match="max_open_orders"):
            await tradefence.batch(tr, [tradefence.CreateOrder(o) for o in two])
        assert len(a.orders(sim)) == 1 and len(tr.tracker) == 1
        assert tr.risk.exposure(a.symbol)["open_orders"] == 1
        assert tr.risk.exposure(a.symbol)["reserved"] == 0
        [created] = await tradefence.batch(tr, [tradefence.CreateOrder(two[0])])
        assert created.ok and len(a.open(sim)) == 2 and tr.risk.exposure(a.symbol)["open_orders"] == 2

    a.run(body, risk=RiskLimits(max_open_orders=2))


def test_a_tradefence_position_update_cannot_take_the_position_past_max_position() -> None:
    """``UPDATE_POSITION`` reaches its target with a market order the session does not place: under
    max_position=2 a target of 4 is refused with nothing sent (the venue's position stays 0), and a
    target of 2 goes. Before, the batch passed no gate and the venue held 4."""
    from test_session_tradefence import TRADEFENCE as a
    from tickwire.venues import tradefence

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue(a.venue).engine
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal(4))])
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal(-4))])
        assert engine.position(a.key, a.symbol) == 0 and engine.orders == {}
        [moved] = await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal(2))])
        assert moved.ok and engine.position(a.key, a.symbol) == 2

    a.run(body, risk=RiskLimits(max_position=Decimal(2)))


def test_a_tradefence_batch_that_creates_orders_is_refused_after_a_kill() -> None:
    """A batch is an order path too: after ``kill`` it creates nothing (``TradingHalted``, nothing
    sent), as ``place_order`` does; a batch of cancels still goes. Before, its orders went out."""
    from test_session_tradefence import TRADEFENCE as a
    from tickwire.errors import TradingHalted
    from tickwire.venues import tradefence

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        order = tr.prepare(a.symbol, "buy", "limit", Decimal(1), bid - Decimal(3) / 10)
        await tr.kill("test")
        with pytest.raises(TradingHalted):
            await tradefence.batch(tr, [tradefence.CreateOrder(order)])
        assert a.orders(sim) == [] and tr.tracker.get(order.client_id) is None
        tr.resume()
        [made] = await tradefence.batch(tr, [tradefence.CreateOrder(order)])
        assert made.ok and len(a.open(sim)) == 1

    a.run(body)
