"""A venue restarting its book numbering behind a gateway (Bybit's `u` back to 1): consumers follow
the restart snapshot, or are resynced when they lost it; against the simulator's books."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire.remote
from market_cases import (
    BUS_SNAPSHOT,
    FAST,
    announced,
    close_all,
    same_as_gateway,
)
from simbook import Recorder, eventually, levels_equal
from tickwire._core import bus_header
from tickwire.bus.server import cluster
from tickwire.gateway.config import GatewayConfig, MarketConfig
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator

BYBIT_DEPTHS = (1, 50, 200, 1000)  # the simulated Bybit numbers each depth's topic on its own


def number_bybit_from(sim: Simulator, symbol: str, u: int) -> None:
    """The simulated Bybit's next update ids of ``symbol`` follow ``u`` (the simulator has no call for
    it: its ``u`` table, one id per topic, is set)."""
    venue: Any = sim.venue("bybit")
    for depth in BYBIT_DEPTHS:
        venue.u[(symbol, depth)] = u


def restart_bybit_numbering(sim: Simulator, symbol: str) -> None:
    """What Bybit does after a service restart: a snapshot with ``u = 1`` on the open connections,
    then deltas from 2."""
    venue: Any = sim.venue("bybit")
    number_bybit_from(sim, symbol, 1)
    for depth in BYBIT_DEPTHS:
        topic = f"orderbook.{depth}.{symbol}"
        for ep, subs in venue.subscribers(topic):
            venue._snapshot(subs, topic, symbol, depth, ep)


def lose_restart_snapshots(md: Any) -> list[bytes]:
    """Makes the consumer (engine "nats-py") lose every restart snapshot on the way (NATS delivers at
    most once); returns the list of those lost."""
    lost: list[bytes] = []
    take = md._receiver._on_msg

    async def on_msg(msg: Any) -> None:
        kind, _, prev, last, _ = bus_header(msg.data)
        if kind == BUS_SNAPSHOT and prev > last:  # a restart snapshot: venue_prev above venue_last
            lost.append(msg.data)
            return
        await take(msg)

    md._receiver._on_msg = on_msg  # read by start() when it subscribes
    return lost


def bybit_gateway(name: str, nats: list[str], sim: Simulator, symbol: str, heartbeat: float) -> GatewayConfig:
    market = MarketConfig("bybit", (symbol,), ("book",), {"endpoints": sim.urls()["bybit"], **FAST})
    return GatewayConfig(name=name, nats=tuple(nats), markets=(market,), heartbeat=heartbeat)


@pytest.mark.parametrize("gateways", [1, 2])
def test_a_consumer_that_lost_a_venues_restart_snapshot_is_resynced_within_a_few_heartbeats(
    gateways: int,
) -> None:
    """Bybit restarts its numbering; the gateways' restart snapshot is lost on the way to the consumer
    (from every gateway: followed by name, or two on ``gateway="*"``). Every later delta carries ids
    below the consumer's book, which drops it as stale. The consumer must equal the simulator and be
    synced within a few heartbeats (0.1 s). before: its book stayed "synced" at the old id and never
    changed again (the heartbeats' check looked only for books behind the gateway, not ahead)."""

    async def go() -> None:
        sym = "BTCUSDT"
        with cluster(1) as nats:
            async with Simulator(["bybit"], seed=23, rate=200, depth=25, symbols={"bybit": [sym]}) as sim:
                # Far above where the restarted numbering gets to while the test runs (as Bybit's ids
                # are: it would climb back to the consumer's id only after as many updates).
                number_bybit_from(sim, sym, 1_000_000)
                names = ["gw1", "gw2"][:gateways]
                gws = [await Gateway(bybit_gateway(n, nats.urls, sim, sym, 0.1)).start() for n in names]
                rec = Recorder()
                md = tickwire.remote.connect(
                    nats.urls, "bybit", [sym], gateway="*" if gateways > 1 else "gw1",
                    engine="nats-py", on_status=rec,
                )  # fmt: skip
                lost = lose_restart_snapshots(md)
                try:
                    await md.start()
                    await eventually(
                        lambda: len(rec.kinds("gateway_up")) == gateways, 3.0, what="gateways seen"
                    )
                    await eventually(lambda: md.book(sym).last_update_id > 1_000_020, 3.0, what="followed")
                    restart_bybit_numbering(sim, sym)
                    await eventually(lambda: len(lost) == gateways, 2.0, what="the restart snapshots lost")
                    await eventually(
                        lambda: all(g.markets[0].feed.book(sym).last_update_id < 1_000 for g in gws),
                        2.0,
                        what="the gateways renumbered",
                    )
                    await asyncio.sleep(0.3)  # the restarted numbering runs on for three heartbeats
                    sim.pause()
                    await eventually(
                        lambda: levels_equal(md, sim, "bybit", sym),  # type: ignore[arg-type]
                        1.0,
                        what=lambda: f"consumer == sim; {md.book(sym).last_update_id} {md.health()}",
                    )
                finally:
                    await close_all(md, *gws)

    asyncio.run(go())


def test_a_restarted_gateway_whose_new_venue_connection_numbers_from_1_is_followed() -> None:
    """A gateway of a venue whose ids are per connection (Bybit) restarts; its new connection numbers
    the book from 1 again, so its first snapshot is an ordinary one far below the consumer's book
    (a new gateway has no id its consumers were left at, to send a restart snapshot from). The
    consumer must equal the new gateway's book and be synced as soon as it sees the new instance.
    before: it dropped that snapshot as stale (a lagging gateway's) and every delta after it, and
    stayed "synced" on the old gateway's last book."""

    async def go() -> None:
        sym = "BTCUSDT"
        with cluster(1) as nats:
            async with Simulator(["bybit"], seed=24, rate=200, depth=25, symbols={"bybit": [sym]}) as sim:
                number_bybit_from(sim, sym, 1_000_000)
                # The consumer first: it hears the gateway's first beat, sent as it starts.
                md = await tickwire.remote.connect(nats.urls, "bybit", [sym], gateway="gw1").start(wait=False)
                gw = await Gateway(bybit_gateway("gw1", nats.urls, sim, sym, 0.1)).start()
                try:
                    await md.wait_synced(5.0)
                    await eventually(lambda: md.book(sym).last_update_id > 1_000_020, 3.0, what="followed")
                    # A beat that announced the book's venue id (the gateway's first beat had none).
                    await eventually(lambda: announced(md, "gw1", sym), 1.0, what="ids announced")
                    await gw.close()
                    number_bybit_from(sim, sym, 1)  # the new connection's numbering
                    # Its beats 2 s apart: the consumer's book must follow from the first one.
                    gw = await Gateway(bybit_gateway("gw1", nats.urls, sim, sym, 2.0)).start()
                    await eventually(lambda: gw.markets[0].md.is_synced(), 5.0, what="gateway back")
                    assert gw.markets[0].feed.book(sym).last_update_id < 1_000
                    sim.pause()
                    same = same_as_gateway(md, gw, sym)
                    # Within one heartbeat: from the new instance's first beat, not from a check that
                    # needs several.
                    await eventually(same, 1.5, what=lambda: f"consumer == gateway; {md.health()}")
                finally:
                    await close_all(md, gw)

    asyncio.run(go())


def test_bbos_continue_from_the_other_gateway_as_soon_as_one_closes_cleanly() -> None:
    """Two gateways publish the same venue's BBOs; a consumer takes each symbol's from one (the first
    it heard). That gateway closes cleanly: the BBOs continue from the other at once, its closing
    announcement being enough — before (until stop 46) they stopped until the closed gateway's beats
    were missed, three heartbeat intervals (3 s here)."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=4, rate=300, depth=25) as sim:

                def config(name: str) -> GatewayConfig:
                    market = MarketConfig(
                        "binance", ("BTCUSDT",), ("bbo",), {"endpoints": sim.urls()["binance"], **FAST}
                    )
                    return GatewayConfig(name=name, nats=tuple(nats.urls), markets=(market,), heartbeat=1.0)

                gw1 = await Gateway(config("gwb1")).start()
                bbos: list[tuple[float, Any]] = []
                rec = Recorder()
                md = tickwire.remote.connect(
                    nats.urls[0], "binance", ["BTCUSDT"], channels=("bbo",), on_status=rec,
                    on_bbo=lambda b: bbos.append((asyncio.get_running_loop().time(), b)),
                )  # fmt: skip
                gw2 = None
                try:
                    await md.start()
                    await eventually(lambda: len(bbos) > 5, 5.0, what="BBOs from the first gateway")
                    gw2 = await Gateway(config("gwb2")).start()
                    await eventually(lambda: len(rec.kinds("gateway_up")) == 2, 5.0, what="both gateways")
                    await asyncio.sleep(0.3)  # the second's BBOs flowing (dropped: not the source)
                    await gw1.close()
                    closed, n = asyncio.get_running_loop().time(), len(bbos)
                    await eventually(lambda: len(bbos) > n + 5, 5.0, what="BBOs from the second gateway")
                    first = next(t for t, _ in bbos[n:])
                    assert first - closed < 1.0, f"no BBO for {first - closed:.2f} s after a clean close"
                    assert not rec.kinds("gateway_down")  # not declared gone meanwhile: it was its word
                finally:
                    await md.close()
                    await gw1.close()
                    if gw2 is not None:
                        await gw2.close()

    asyncio.run(go())
