"""The session API beyond books: runtime (un)subscription with reference counts, ``async for``
events, embedding in an application's own loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from simbook import assert_books_match, eventually
from tickwire.session.events import StatusEvent
from tickwire.sim import Simulator


def test_runtime_subscribe_and_refcounted_unsubscribe() -> None:
    async def go() -> None:
        async with Simulator(["okx"], seed=41, rate=300, depth=20) as sim:
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], probe_interval=None
            ) as md:
                ep = sim.endpoint("okx")
                conn = next(iter(ep.conns.values()))
                await md.subscribe(["ETH-USDT"])
                await md.subscribe(["ETH-USDT"])  # a second holder of the same subscription
                await eventually(lambda: md.is_synced("ETH-USDT"), what="ETH in sync")
                await assert_books_match(md, sim, "okx", ["BTC-USDT", "ETH-USDT"])
                await md.unsubscribe(["ETH-USDT"])
                await asyncio.sleep(0.1)
                assert any("ETH-USDT" in t for t in conn.topics)  # still held once
                await md.unsubscribe(["ETH-USDT"])
                await eventually(lambda: not any("ETH-USDT" in t for t in conn.topics), what="unsubscribed")
                with pytest.raises(KeyError):
                    await md.unsubscribe(["ETH-USDT"])
                # A reconnect resubscribes exactly the live set.
                ep.drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                conn = next(iter(ep.conns.values()))
                await eventually(lambda: any("BTC-USDT" in t for t in conn.topics), what="resubscribed")
                assert not any("ETH-USDT" in t for t in conn.topics)

    asyncio.run(go())


def test_async_for_events_delivers_books_trades_and_status() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=42, rate=400, depth=20) as sim:
            md = tickwire.connect(
                "binance",
                ["BTCUSDT"],
                channels=["book", "trades"],
                endpoints=sim.urls()["binance"],
                probe_interval=None,
            )
            events = md.events()
            await md.start()
            seen: dict[str, Any] = {}
            async for kind, value in events:
                seen.setdefault(kind, value)
                if {"book", "trade", "status"} <= set(seen):
                    break
            assert seen["book"].symbol == "BTCUSDT"
            assert isinstance(seen["status"], StatusEvent)
            assert seen["trade"].symbol == "BTCUSDT" and seen["trade"].price > 0
            await md.close()
            # The iterator ends when the session closes.
            rest = [k async for k, _ in events]
            assert isinstance(rest, list)

    asyncio.run(go())


def test_runs_inside_the_applications_loop_without_touching_its_policy() -> None:
    policy = asyncio.get_event_loop_policy()

    async def app() -> None:
        loop = asyncio.get_running_loop()
        async with Simulator(["okx"], seed=43, rate=100, depth=20) as sim:
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], probe_interval=None
            ) as md:
                assert md.is_synced()
                assert asyncio.get_running_loop() is loop
        assert type(loop).__module__.startswith("asyncio")  # still the application's plain asyncio loop

    asyncio.run(app())
    assert asyncio.get_event_loop_policy() is policy
