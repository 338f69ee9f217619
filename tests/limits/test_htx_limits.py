"""HTX's per-UID, per-endpoint limits against the simulator: a burst never crosses the place limit,
the budget follows ``X-HB-RateLimit-Requests-Remain`` when the venue grants less than declared,
cancels go through at the place limit, and a ``too-many-requests`` blocks placing for the window with
nothing sent inside it."""

from __future__ import annotations

import time

from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.venues import htx
from tickwire.venues.htx import limits
from venue_limits import Account, refusal_blocks, refusals, spend

V = "htx"
KEY, SECRET = "htx-limits-key", "htx-limits-secret"
A = Account(V, "btcusdt", KEY, htx.Signer(KEY, SECRET), lambda v: v.add_key(KEY, SECRET))
PLACE = "POST /v1/order/batch-orders"


def test_costs_and_usage_per_endpoint() -> None:
    place = Call("POST", "/v1/order/batch-orders", body="[]")
    assert limits.cost(place) == {"PLACE": 1}
    assert limits.cost(Call("POST", "/v1/order/orders/123/submitcancel")) == {"CANCEL": 1}
    assert limits.read_usage({"x-hb-ratelimit-requests-remain": "10"}, place) == {"PLACE": 40}


def test_a_burst_never_crosses_the_place_limit_and_cancels_go_through() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        t0 = time.monotonic()
        placed = await A.burst(sim, tr, 60)
        assert all(o.status == "new" for o in placed) and len(A.open(sim)) == 60
        assert refusals(sim, V) == 0
        assert time.monotonic() - t0 > 2.0  # 45 per 2.1 s
        assert len(await tr.cancel_all(A.symbol)) == 60 and not A.open(sim) and refusals(sim, V) == 0

    A.run(body, {})


def test_the_budget_follows_the_remaining_the_venue_reports() -> None:
    """The venue grants 10 places a second, the session declares 50 per 2 s: one at a time, it never
    sends a place the venue has no room for."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        for _ in range(12):
            await A.resting_buy(sim, tr)
        assert refusals(sim, V) == 0 and len(A.open(sim)) == 12

    A.run(body, {"order_rate_limit": 10}, timeouts={"rate_window": 1.0})


def test_too_many_requests_blocks_placing_for_the_window() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.venue(V).limits.limiters[(KEY, PLACE)] = spend(WeightLimiter(50, 2.0))
        await refusal_blocks(sim, tr, lambda: A.resting_buy(sim, tr), PLACE, 2.1)

    A.run(body, {}, rate_wait=0)
