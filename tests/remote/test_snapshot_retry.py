"""A remote book whose snapshot requests went unserved for long (python/tickwire/remote/snapshots.py),
judged against the simulator's book."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire.remote
from market_cases import close_all, one_market
from simbook import Recorder, eventually, levels_equal
from tickwire._core import bus_header
from tickwire.bus import subjects
from tickwire.bus.server import cluster
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator

BUS_DELTA = 1  # a bus header's kind (rust/bus/wire.rs)


def test_a_quiet_book_is_rebuilt_once_its_gateway_serves_snapshots_again_after_a_long_outage() -> None:
    """The consumer loses a delta on the bus (a gap) while gw1, beating and in sync itself, serves no
    snapshot (its snapshot service away: the stand-in for a gateway that cannot answer) for longer
    than the consumer's first period of requests (8 x max(resync_timeout, 1 s)); the market is quiet
    from then on. Once gw1 serves again the consumer must be in sync and equal the simulator without
    waiting for the venue's next update. before: its request loop had ended ("no gateway served a
    snapshot") and nothing asked again — the book stayed out of sync until the venue moved."""

    async def go() -> None:
        sym = "BTCUSDT"
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=21, rate=200, depth=25) as sim:
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, [sym])).start()
                pub = gw1.markets[0]
                rec = Recorder()
                md = tickwire.remote.connect(
                    nats.urls, "binance", [sym], resync_timeout=0.2, on_status=rec, engine="nats-py"
                )
                losing = [False]
                take = md._receiver._on_msg

                async def on_msg(msg: Any) -> None:
                    if losing[0] and bus_header(msg.data)[0] == BUS_DELTA:
                        losing[0] = False  # one delta lost on the way
                        return
                    await take(msg)

                md._receiver._on_msg = on_msg  # type: ignore[method-assign]  # read by start()
                try:
                    await md.start(timeout=10.0)
                    await pub._snap_sub.unsubscribe()
                    await pub.nc.flush()
                    losing[0] = True
                    await eventually(lambda: not md.is_synced(sym), 5.0, what="the consumer saw the gap")
                    sim.pause()

                    def gave_up() -> bool:
                        return any("no gateway served" in e.detail for e in rec.events)

                    await eventually(gave_up, 30.0, what="the first period of requests over")
                    service = subjects.snapshot_service("binance", "gw1")
                    pub._snap_sub = await pub.nc.subscribe(service, cb=pub._serve_snapshot)
                    await pub.nc.flush()
                    await eventually(
                        lambda: md.is_synced(sym) and levels_equal(md, sim, "binance", sym),
                        10.0,
                        what=lambda: f"consumer in sync and == sim; {md.health()}",
                    )
                finally:
                    await close_all(md, gw1)

    asyncio.run(go())
