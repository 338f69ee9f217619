"""A market-data session's clock sync (``GET /api/v3/time``, every ``clock_sync`` s) is a request
from the address like any other: after a 429 another session of the process met there, it waits out
the Retry-After too — Binance bans an address (418) that goes on sending inside it."""

from __future__ import annotations

import asyncio

import pytest
import tickwire
from tickwire.errors import RateLimitError
from weighed import sent_inside, spend, weighed_binance


def test_a_market_sessions_clock_sync_waits_out_a_429_the_trading_session_met() -> None:
    async def go() -> None:
        async with weighed_binance("clock-sync-429", limit=50, window_s=3.0) as (sim, ep, tr):
            urls = sim.urls()["binance"]
            md = tickwire.connect("binance", ["BTCUSDT"], endpoints=urls, probe_interval=None, clock_sync=1.0)
            await md.start(wait=False)
            try:
                await asyncio.sleep(3.5)  # the start's weight out of the 3 s window
                await spend(ep, 50, "3s", "/api/v3/time")  # another process on the address
                with pytest.raises(RateLimitError):
                    await tr.open_orders("BTCUSDT")
                [(t429, _, _, retry_after)] = [x for x in ep.exchanges if x[2] == 429]
                assert retry_after is not None
                await asyncio.sleep(retry_after + 0.5)
            finally:
                await md.close()
        inside = sent_inside(ep, t429, retry_after)
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
