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


def test_a_clock_readings_wait_for_the_budget_is_not_timed_as_its_round_trip() -> None:
    """``sync_venue``'s ``before`` (the wait for the address budget's room, up to a Retry-After) runs
    before the reading's send time is taken: timed inside it, a 2 s wait made the sample's round trip
    2 s and put the offset 1 s off a venue clock that agrees with ours."""
    from tickwire.clock import ClockSync, sync_venue

    now = [1_700_000_000_000_000_000]

    class Resp:
        def raise_for_status(self) -> None:
            pass

        def json(self) -> dict[str, float]:
            return {"serverTime": now[0] / 1e6}  # the venue's clock agrees with ours

    class Http:
        async def get(self, path: str) -> Resp:
            return Resp()

    async def wait_for_room() -> None:
        now[0] += 2_000_000_000  # 2 s for the budget's room

    async def go() -> None:
        clock = ClockSync(clock_ns=lambda: now[0])
        off = await sync_venue(clock, Http(), "binance", rounds=3, before=wait_for_room)  # type: ignore[arg-type]
        assert abs(off) < 1.0, f"offset {off:.1f} ms from a venue clock that agrees with ours"
        assert clock.rtt_ms is not None and clock.rtt_ms < 1.0, f"rtt {clock.rtt_ms} ms"

    asyncio.run(go())
