"""Busy polling: one spinner per loop, shared by sessions, gone with the last; a spinning session
still ends with books equal to the simulator's."""

from __future__ import annotations

import asyncio

import tickwire
from simbook import assert_books_match
from tickwire.session import busypoll
from tickwire.sim import Simulator


def test_spinner_is_refcounted_per_loop_and_keeps_the_loop_hot() -> None:
    async def go() -> None:
        assert not busypoll.spinning()
        busypoll.acquire()
        busypoll.acquire()
        assert busypoll.spinning()
        # The loop never sleeps: a 10 ms sleep elsewhere sees many loop iterations around it.
        loop = asyncio.get_running_loop()
        ticks = 0

        async def count() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        t = loop.create_task(count())
        await asyncio.sleep(0.01)
        t.cancel()
        assert ticks > 100
        busypoll.release()
        assert busypoll.spinning()
        busypoll.release()
        await asyncio.sleep(0)
        assert not busypoll.spinning()

    asyncio.run(go())


def test_sessions_share_the_spinner_and_stay_correct() -> None:
    async def go() -> None:
        async with Simulator(["binance", "okx"], seed=3, rate=300, depth=20) as sim:
            a = tickwire.connect("binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], busy_poll=True)
            b = tickwire.connect("okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], busy_poll=True)
            async with a, b:
                assert busypoll.spinning()
                await assert_books_match(a, sim, "binance", ["BTCUSDT"])
                await assert_books_match(b, sim, "okx", ["BTC-USDT"])
                await a.close()
                assert busypoll.spinning()  # b still wants it
            assert not busypoll.spinning()

    asyncio.run(go())
