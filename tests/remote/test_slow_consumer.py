"""A remote consumer (engine "rust") stalled in its own callback while the venue bursts (a slow
consumer): what its subscriber could not keep is lost, and every book must end equal to the
simulator's, never say it is in sync with a hole."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import tickwire.remote
from market_cases import one_market
from simbook import eventually, levels_equal
from tickwire.bus.server import cluster
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator


def test_a_consumer_stalled_in_on_book_past_its_bound_ends_equal_to_the_venue() -> None:
    """The consumer runs on its own thread's loop (the gateway and the venue go on meanwhile);
    ``max_pending`` 4; ``on_book`` holds that loop for 1 s once while the venue moves: the subscriber
    keeps the newest 4 messages and drops the rest. The loss must be counted, and once the market is
    quiet every book must be in sync and equal the simulator's."""
    syms = ["BTCUSDT", "ETHUSDT"]
    stall = threading.Event()
    box: dict[str, Any] = {}

    def on_book(_book: object) -> None:
        if stall.is_set():
            stall.clear()
            time.sleep(1.0)  # the strategy's callback holds the consumer's loop

    def consumer(urls: list[str], started: threading.Event, stop: threading.Event) -> None:
        async def run() -> None:
            md = tickwire.remote.connect(urls, "binance", syms, engine="rust", max_pending=4, on_book=on_book)
            box["md"] = md
            try:
                await md.start(timeout=10.0)
                started.set()
                while not stop.is_set():
                    await asyncio.sleep(0.01)
            finally:
                await md.close()

        try:
            asyncio.run(run())
        except BaseException as e:  # told to the test's thread
            box["error"] = e
            started.set()

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=23, rate=300, depth=25) as sim:
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, syms)).start()
                started, stop = threading.Event(), threading.Event()
                th = threading.Thread(target=consumer, args=(nats.urls, started, stop), daemon=True)
                th.start()
                try:
                    await eventually(started.is_set, 15.0, what="consumer started")
                    assert "error" not in box, box.get("error")
                    md = box["md"]
                    stall.set()
                    await eventually(
                        lambda: md.sub.state()["overflowed"] > 0,
                        10.0,
                        what=lambda: f"messages dropped at the bound; {md.health()}",
                    )
                    await eventually(lambda: md.counters["dropped"] > 0, 5.0, what="the loss counted")
                    sim.pause()
                    await asyncio.sleep(0.5)  # what was in flight has landed
                    for s in syms:
                        await eventually(
                            lambda s=s: md.is_synced(s) and levels_equal(md, sim, "binance", s),
                            10.0,
                            what=lambda s=s: f"{s}: consumer in sync and == sim; {md.health()}",
                        )
                    assert md.sub.state()["dropped"] == 0  # async-nats itself dropped nothing
                finally:
                    sim.resume()
                    stop.set()
                    await asyncio.get_running_loop().run_in_executor(None, th.join, 10.0)
                    await gw1.close()

    asyncio.run(go())
