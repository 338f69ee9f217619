"""The HTTP client sends a GET once more on a fresh connection when a kept-alive one closed under it
before any answer came (``HttpClient``: "closed an idle connection; resending"). A venue that had
processed the first counts both; the trading session's request path charges that resend again
(``Wire._resend_charged``), but the market-data session's clock readings (``GET /api/v3/time``) and
depth snapshots went through the client with no gate: each such resend reached the venue and
counted in its weight, never in the budget's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import tickwire
from tickwire.sim import Simulator

_WEIGHT = {"GET /api/v3/time": 1, "GET /api/v3/depth": 5}


def test_a_market_sessions_resent_clock_readings_are_charged() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=0, depth=20) as sim:
            ep = sim.endpoint("binance", 0)
            md = tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], probe_interval=None,
                clock_sync=0.2, venue_options={"snapshot_limit": 100},
            )  # fmt: skip
            await md.start(wait=True)
            try:
                start = time.monotonic()
                for n in range(1, 4):  # three readings' answers lost, each resent by the client
                    ep.lose_answer("GET /api/v3/time", 1)
                    end = time.monotonic() + 5.0
                    while len(ep.lost) < n and time.monotonic() < end:
                        await asyncio.sleep(0.01)
                    assert len(ep.lost) >= n
                await asyncio.sleep(0.5)
                budget = md.rest_budget()
                assert budget is not None
                counted = budget.windows["WEIGHT_1M"].used(budget.clock())
                log: list[Any] = list(ep.exchanges)
            finally:
                await md.close()
            arrived = sum(_WEIGHT.get(op, 0) for t, op, _, _ in log)
            resent = sum(1 for t, op, _, _ in log if op == "GET /api/v3/time" and t > start)
            assert counted >= arrived, (
                f"the budget counted {counted} weight, the venue {arrived} ({len(ep.lost)} answers "
                f"lost and resent among {resent} readings)"
            )

    asyncio.run(go())
