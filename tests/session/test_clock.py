"""The session's venue clock: measured against a simulator whose clock runs ahead, and used by a
signer so the venue accepts requests it would reject with the local clock."""

from __future__ import annotations

import asyncio

import tickwire
from simbook import eventually
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.transport.http import HttpClient
from tickwire.venues import binance

SECRET = "s" * 64
SKEW_MS = 20_000  # well past Binance's recvWindow (5 s)


def test_session_clock_follows_the_venue_and_fixes_signed_timestamps() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=1, rate=50, depth=20) as sim:
            sim.venue("binance").add_key(ApiKey("k", secret=SECRET.encode()))
            sim.endpoint("binance").skew(SKEW_MS)
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], probe_interval=None, clock_sync=0.2
            ) as md:
                await eventually(lambda: md.clock.samples >= 3, what="clock samples")
                assert abs(md.clock.offset_ms - SKEW_MS) < 20, md.clock.offset_ms
                rest = sim.urls()["binance"][0]["rest"]
                async with HttpClient(rest) as http:
                    for signer, want in (
                        (binance.Signer("k", SECRET), 400),  # local clock: outside recvWindow
                        (binance.Signer("k", SECRET, clock=md.clock.now_ms), 200),
                    ):
                        req = signer.sign_request("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
                        r = await http.get("/api/v3/openOrders", query=req.query, headers=req.headers)
                        assert r.status == want, (r.status, r.body)
                        if want == 400:
                            assert r.json()["code"] == -1021

    asyncio.run(go())
