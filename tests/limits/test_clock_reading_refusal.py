"""A clock reading (``GET /api/v3/time``) refused for rate is a refusal like any other: its Retry-After
blocks the address's budget for every session of the process. The market-data session's clock sync
and the trading session's clock measurement each waited for room before a reading, but a 429 *on*
a reading went no further than a logged warning: nothing was blocked, and the next request from the
address (the trading session's, or the clock loop's next round) went inside the venue's Retry-After —
which Binance answers with a 418 ban (venues.md §1.2)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import tickwire
from tickwire.errors import RateLimitError
from weighed import sent_inside, spend, weighed_binance


def test_a_429_on_the_market_sessions_clock_reading_blocks_the_address() -> None:
    async def go() -> None:
        async with weighed_binance("clock-reading-429", limit=50, window_s=3.0) as (sim, ep, tr):
            urls = sim.urls()["binance"]
            md = tickwire.connect("binance", ["BTCUSDT"], endpoints=urls, probe_interval=None, clock_sync=0.5)
            await md.start(wait=False)
            try:
                await asyncio.sleep(3.5)  # the start's weight out of the 3 s window
                refused: list[Any] = []
                for _ in range(6):  # the clock loop's next reading meets the full window
                    await spend(ep, 50, "3s")  # the window spent to its limit
                    end = time.monotonic() + 1.5
                    while time.monotonic() < end and not refused:
                        refused = [x for x in ep.exchanges if x[2] == 429 and x[1] == "GET /api/v3/time"]
                        await asyncio.sleep(0.005)
                    if refused:
                        break
                assert refused, "the clock reading never met the full window"
                t429, _, _, retry_after = refused[0]
                assert retry_after is not None
                with pytest.raises(RateLimitError):  # the budget's refusal, or the venue's ban
                    await tr.open_orders("BTCUSDT")
                await asyncio.sleep(max(0.0, t429 + retry_after + 0.5 - time.monotonic()))
            finally:
                await md.close()
        inside = sent_inside(ep, t429, retry_after)
        assert not inside, f"sent inside the venue's Retry-After of {retry_after} s: {inside}"

    asyncio.run(go())


def test_a_429_on_the_trading_sessions_clock_measurement_blocks_the_address() -> None:
    async def go() -> None:
        async with weighed_binance("clock-measure-429", limit=50, window_s=3.0) as (_sim, ep, tr):
            await asyncio.sleep(3.5)  # the start's weight out of the 3 s window
            await spend(ep, 50, "3s")  # the window spent to its limit
            # The venue clock measured again (as a -1021 refusal asks): its first reading is refused.
            with pytest.raises(RateLimitError):
                await tr.wire.measure_clock(3)
            [(t429, _, _, retry_after)] = [x for x in ep.exchanges if x[2] == 429]
            assert retry_after is not None
            with pytest.raises(RateLimitError):  # the budget's refusal, or the venue's ban
                await tr.open_orders("BTCUSDT")
            await asyncio.sleep(max(0.0, t429 + retry_after + 0.2 - time.monotonic()))
        inside = sent_inside(ep, t429, retry_after)
        assert not inside, f"sent inside the venue's Retry-After of {retry_after} s: {inside}"

    asyncio.run(go())
