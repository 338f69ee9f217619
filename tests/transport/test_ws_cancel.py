"""``open_ws`` cancelled as it connects: the connection picows opened is closed, not left half-open
at the venue — a private stream's start cancelled, then the stream closed, forty times at staggered
moments of its connect (before: 3 of 40 left a connection open at the simulator, for good)."""

from __future__ import annotations

import asyncio

from test_session_binance import BINANCE
from tickwire.sim import Simulator
from tickwire.streams import Endpoint
from tickwire.trading.stream import PrivateStream
from tickwire.venues import binance


def test_a_socket_start_cancelled_as_it_connects_leaves_no_connection_open() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            BINANCE.register(sim.venue("binance"))
            ep = sim.endpoint("binance", 0)
            g = binance.Orders()
            url = Endpoint.of(sim.urls()["binance"][0], 0).ws[g.stream_label]
            left: list[float] = []
            for i in range(40):
                s = PrivateStream(g, BINANCE.signer, url, lambda ev: None, lambda: asyncio.sleep(0))
                start = asyncio.ensure_future(s.start(2.0))
                await asyncio.sleep(0.0002 * i)  # 0 to 7.8 ms into the connect
                start.cancel()
                await asyncio.gather(start, return_exceptions=True)
                await s.close()
                for _ in range(40):
                    if not ep.conns:
                        break
                    await asyncio.sleep(0.025)
                if ep.conns:
                    left.append(0.0002 * i)
                    for c in list(ep.conns.values()):
                        c.abort()
                    await asyncio.sleep(0.05)
            assert left == [], f"connections left open when cancelled at {left} s"

    asyncio.run(go())
