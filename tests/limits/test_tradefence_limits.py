"""Tradefence's limit against the simulator (seed-venues.md: ``2001`` rate limit exceeded → back off,
with HTTP 429 and ``Retry-After``; the document gives no number). A burst never crosses the declared
100 per second; a 2001 blocks the client for its Retry-After and nothing is sent inside it."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.trading.session import TradingSession
from tickwire.venues.tradefence import limits
from venue_limits import cancel_at_the_limit, refusal_blocks, refusals, spend

# The OAuth code flow against the simulator, as the Tradefence session tests run it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trading"))
from test_session_tradefence import CID, TRADEFENCE

V = "tradefence"
A = TRADEFENCE


def test_declared_limit_and_refusal_code() -> None:
    [lim] = limits.LIMITS
    assert (lim.limit, lim.window_s, lim.codes) == (100, 1.0, frozenset({"2001"}))


def test_a_burst_never_crosses_the_declared_limit() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        t0 = time.monotonic()
        gate = asyncio.Semaphore(8)

        async def one() -> Any:
            async with gate:
                return await A.rest_below(sim, tr, 50)

        placed = await asyncio.gather(*(one() for _ in range(130)))
        assert all(o.status == "new" for o in placed) and len(A.open(sim)) == 130
        assert refusals(sim, V) == 0  # no 2001
        assert time.monotonic() - t0 > 1.0  # 90 per 1.1 s
        assert len(await tr.cancel_all(A.symbol)) == 130 and not A.open(sim) and refusals(sim, V) == 0

    A.run(body, sim_profile={"rate_limit": 100})


def test_at_the_limit_a_cancel_uses_the_reserve() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await cancel_at_the_limit(sim, tr, lambda: A.rest_below(sim, tr, 50))

    A.run(body, sim_profile={"rate_limit": 100}, rate_wait=0)


def test_a_2001_blocks_the_client_for_its_retry_after() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.venue(V).limiters[CID] = spend(WeightLimiter(100, 2.0))
        await refusal_blocks(sim, tr, lambda: A.rest_below(sim, tr, 50), "POST /v1/orders", 2.0)

    A.run(body, rate_wait=0)
