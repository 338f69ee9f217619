"""Clarofinlore's limits against the simulator (seed-venues.md: tiered, bursts up to 10,000 per second,
HTTP 429 with ``Retry-After`` to be honoured). At a tier the session is told (``limits.tier``) a
burst never crosses it; a 429 blocks the key for the Retry-After and nothing is sent inside it."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from tickwire.errors import OrderNotFound, RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.trading.session import TradingSession
from tickwire.venues import clarofinlore
from tickwire.venues.clarofinlore import limits
from venue_limits import Account, cancel_at_the_limit, refusal_blocks, refusals, spend

V = "clarofinlore"
KEY, SECRET = "claro-limits-key", "claro-limits-secret"
A = Account(
    V,
    "btc-usdt",
    KEY,
    clarofinlore.Signer(KEY, SECRET),
    lambda v: v.add_key(KEY, SECRET),
    {"USDT": "100000000", "BTC": "100"},
)


def test_declared_at_the_documented_burst_ceiling() -> None:
    assert [(lim.limit, lim.window_s) for lim in limits.LIMITS] == [(10_000, 1.0)]


def test_a_burst_never_crosses_the_accounts_tier() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([limits.tier(20)], replace=True)
        t0 = time.monotonic()
        placed = await A.burst(sim, tr, 50)
        assert all(o.status == "new" for o in placed) and len(A.open(sim)) == 50
        assert refusals(sim, V) == 0  # no 429
        assert time.monotonic() - t0 > 2.0  # 18 per 1.1 s
        assert len(await tr.cancel_all(A.symbol)) == 50 and not A.open(sim) and refusals(sim, V) == 0

    A.run(body, {"rate_limit": 20})


def test_at_the_tier_a_cancel_uses_the_reserve() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([limits.tier(20)], replace=True)
        await cancel_at_the_limit(sim, tr, lambda: A.resting_buy(sim, tr))

    A.run(body, {"rate_limit": 20}, rate_wait=0)


def test_a_429_blocks_the_key_for_its_retry_after() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.venue(V).auth.limiters[(0, KEY)] = spend(WeightLimiter(20, 2.0))
        # Retry-After: 2 (the simulator states whole seconds).
        await refusal_blocks(sim, tr, lambda: A.resting_buy(sim, tr), "POST /v1/orders", 2.0)

    A.run(body, {"rate_limit": 20}, rate_wait=0)


def test_log_ins_and_the_resend_after_one_are_charged_like_any_request() -> None:
    """The venue forgot its tokens (a restart): the next query is refused (401), the session
    refreshes (refused), logs in and sends the query again — four requests the venue counts. Each
    is charged to the budget, so at a tier of 5 a second the queries that follow stop here before
    the venue refuses (before, three of the four went uncharged and the third query met a 429)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([limits.tier(5)], replace=True)
        await asyncio.sleep(2.3)  # the start's requests out of both windows
        auth = sim.venue(V).auth
        auth.jwt_key, _ = b"restarted", auth.refresh_tokens.clear()
        asked = 0
        with pytest.raises(RateLimitError):
            for i in range(6):
                with contextlib.suppress(OrderNotFound):
                    await tr.order_status(A.symbol, client_id=f"neverplaced{i}")
                asked += 1
        assert tr.wire.relogins == 1 and asked >= 1 and refusals(sim, V) == 0

    A.run(body, {"rate_limit": 5}, rate_wait=0)
