"""A gateway restarted on a host whose wall clock is behind the old host's: its reports of its own
books (``tickwire.remote.gateways.UpstreamBooks``) are taken, judged by the consumer's ``is_synced``
against the simulator's book."""

from __future__ import annotations

import asyncio
import time
import types

import pytest
import tickwire.gateway.market
import tickwire.remote
from market_cases import close_all, one_market
from simbook import eventually, levels_equal
from tickwire.bus.server import cluster
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator

BEHIND_NS = 60 * 1_000_000_000


def test_a_gateway_restarted_on_a_host_with_a_slower_wall_clock_vouches_for_its_books(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gw1 closes cleanly (its last report: every book unsynced) and starts again, same name, on a
    host whose wall clock is a minute behind (a stand-in ``time`` for the gateway's market module).
    Its new instance has the book in sync and says so: the consumer must count its book in sync and
    equal the simulator. before: reports are ordered by their wall-clock ``seq`` across instances,
    so the new one's were older than the old one's last and dropped for a minute — the consumer said
    "not synced" all that while ("books not in sync")."""

    async def go() -> None:
        sym = "BTCUSDT"
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=22, rate=200, depth=25) as sim:
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, [sym])).start()
                md = tickwire.remote.connect(nats.urls, "binance", [sym])
                gw2 = None
                try:
                    await md.start(timeout=10.0)
                    await gw1.close()
                    await eventually(lambda: not md.is_synced(sym), 5.0, what="gw1 gone or closing")
                    slow = types.SimpleNamespace(**vars(time))
                    slow.time_ns = lambda: time.time_ns() - BEHIND_NS
                    monkeypatch.setattr(tickwire.gateway.market, "time", slow)
                    gw2 = await Gateway(one_market("gw1", nats.urls, sim, [sym])).start()
                    gmd = gw2.markets[0].md
                    await eventually(lambda: gmd.is_synced(sym), 10.0, what="the new gw1 in sync")
                    await md.wait_synced(10.0)
                    sim.pause()
                    await eventually(
                        lambda: md.is_synced(sym) and levels_equal(md, sim, "binance", sym),
                        5.0,
                        what=lambda: f"consumer in sync and == sim; {md.health()}",
                    )
                finally:
                    await close_all(md, *([gw2] if gw2 is not None else []))
                    await gw1.close()

    asyncio.run(go())
