"""A market-data session's clock sync (``GET /api/v3/time``, every ``clock_sync`` s) is a request
from the address like any other: after a 429 another session of the process met there, it waits out
the Retry-After too — Binance bans an address (418) that goes on sending inside it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.transport.http import HttpClient
from tickwire.venues import binance


def test_a_market_sessions_clock_sync_waits_out_a_429_the_trading_session_met() -> None:
    async def go() -> None:
        profile: dict[str, Any] = {"weight_limit": 50}
        async with Simulator(["binance"], seed=5, rate=0, depth=20, profiles={"binance": profile},
                             timeouts={"weight_window": 3.0, "ban": 30.0}) as sim:  # fmt: skip
            key = "clock-sync-429"
            sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
            urls = sim.urls()["binance"]
            ep = sim.endpoint("binance", 0)
            async with tickwire.trade(
                "binance", credentials=binance.Signer(key, "s3cret"), endpoints=urls,
                adopt=False, private_stream=False, rate_wait=0,
            ) as tr:  # fmt: skip
                md = tickwire.connect(
                    "binance", ["BTCUSDT"], endpoints=urls, probe_interval=None, clock_sync=1.0
                )
                await md.start(wait=False)
                try:
                    await asyncio.sleep(3.5)  # the start's weight out of the 3 s window
                    other = HttpClient(ep.rest_base, timeout=5.0)  # another process on the address
                    await other.connect()
                    try:
                        used = 0
                        while used < 50:
                            r = await other.request("GET", "/api/v3/time")
                            used = int(r.headers["x-mbx-used-weight-3s"])
                    finally:
                        await other.close()
                    with pytest.raises(RateLimitError):
                        await tr.open_orders("BTCUSDT")
                    [(t429, _, _, retry_after)] = [x for x in ep.exchanges if x[2] == 429]
                    assert retry_after is not None
                    await asyncio.sleep(retry_after + 0.5)
                finally:
                    await md.close()
            inside = [
                (round(t - t429, 3), op, st) for t, op, st, _ in ep.exchanges if t429 < t < t429 + retry_after
            ]
            assert not inside, f"sent inside the venue's Retry-After of {retry_after} s: {inside}"

    asyncio.run(go())
