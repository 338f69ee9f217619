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
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.transport.http import HttpClient
from tickwire.venues import binance


async def _fill(ep: Any, limit: int) -> None:
    """Another process on the address spends the weight window up to its limit (no refusal)."""
    other = HttpClient(ep.rest_base, timeout=5.0)
    await other.connect()
    try:
        used = 0
        while used < limit:
            r = await other.request("GET", "/api/v3/ping")
            used = int(r.headers["x-mbx-used-weight-3s"])
    finally:
        await other.close()


def test_a_429_on_the_market_sessions_clock_reading_blocks_the_address() -> None:
    async def go() -> None:
        profile: dict[str, Any] = {"weight_limit": 50}
        async with Simulator(["binance"], seed=5, rate=0, depth=20, profiles={"binance": profile},
                             timeouts={"weight_window": 3.0, "ban": 30.0}) as sim:  # fmt: skip
            key = "clock-reading-429"
            sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
            urls = sim.urls()["binance"]
            ep = sim.endpoint("binance", 0)
            async with tickwire.trade(
                "binance", credentials=binance.Signer(key, "s3cret"), endpoints=urls,
                adopt=False, private_stream=False, rate_wait=0,
            ) as tr:  # fmt: skip
                md = tickwire.connect(
                    "binance", ["BTCUSDT"], endpoints=urls, probe_interval=None, clock_sync=0.5
                )
                await md.start(wait=False)
                try:
                    await asyncio.sleep(3.5)  # the start's weight out of the 3 s window
                    refused: list[Any] = []
                    for _ in range(6):  # the clock loop's next reading meets the full window
                        await _fill(ep, 50)
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
            inside = [
                (round(t - t429, 3), op, st) for t, op, st, _ in ep.exchanges if t429 < t < t429 + retry_after
            ]
            assert not inside, f"sent inside the venue's Retry-After of {retry_after} s: {inside}"

    asyncio.run(go())


def test_a_429_on_the_trading_sessions_clock_measurement_blocks_the_address() -> None:
    async def go() -> None:
        profile: dict[str, Any] = {"weight_limit": 50}
        async with Simulator(["binance"], seed=5, rate=0, depth=20, profiles={"binance": profile},
                             timeouts={"weight_window": 3.0, "ban": 30.0}) as sim:  # fmt: skip
            key = "clock-measure-429"
            sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
            ep = sim.endpoint("binance", 0)
            async with tickwire.trade(
                "binance", credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()["binance"],
                adopt=False, private_stream=False, rate_wait=0,
            ) as tr:  # fmt: skip
                await asyncio.sleep(3.5)  # the start's weight out of the 3 s window
                await _fill(ep, 50)
                # The venue clock measured again (as a -1021 refusal asks): its first reading is refused.
                with pytest.raises(RateLimitError):
                    await tr.wire.measure_clock(3)
                [(t429, _, _, retry_after)] = [x for x in ep.exchanges if x[2] == 429]
                assert retry_after is not None
                with pytest.raises(RateLimitError):  # the budget's refusal, or the venue's ban
                    await tr.open_orders("BTCUSDT")
                await asyncio.sleep(max(0.0, t429 + retry_after + 0.2 - time.monotonic()))
            inside = [
                (round(t - t429, 3), op, st) for t, op, st, _ in ep.exchanges if t429 < t < t429 + retry_after
            ]
            assert not inside, f"sent inside the venue's Retry-After of {retry_after} s: {inside}"

    asyncio.run(go())
