"""Remote books and trades under failures (python/tickwire/remote/market.py, gateways.py, engines.py):
a consumer that lost a quiet book's last message while one of two gateways has lost its own copy,
trades a closing gateway brought first, trades lost on the consumer's link; against the simulator's
books and trades."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
import tickwire.remote
from gateway_harness import proxied
from market_cases import close_all, one_market
from simbook import Recorder, Trades, eventually, levels_equal
from tickwire._core import bus_header
from tickwire.bus.server import cluster
from tickwire.gateway.run import Gateway
from tickwire.remote.engines import ENGINES
from tickwire.sim import Simulator

BUS_DELTA, BUS_TRADE = 1, 4  # a bus header's kinds (rust/bus/wire.rs)


def test_a_quiet_books_lost_last_delta_is_found_while_another_gateway_has_lost_its_book() -> None:
    """gw1 and gw2 serve BTCUSDT from two endpoints; gw2's feed breaks (a gap, every REST snapshot
    refused), so gw2's book stays out of sync and its beats keep announcing the venue id it lost it
    at. The market goes quiet; its last update's delta is lost on the way to the consumer (NATS
    delivers at most once). gw1's beats announce the id the consumer is behind: within a few of them
    the consumer must resync and equal the simulator, or at least not say it is in sync. before:
    every beat of gw2 (not behind: its id is below the book's) reset what gw1's had announced, so two
    beats in a row never agreed and the consumer said "synced" on a book without that update."""

    async def go() -> None:
        sym = "BTCUSDT"
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=15, rate=200, depth=25, endpoints={"binance": 2}) as sim:
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, [sym])).start()
                # Beating twice as often as gw1: one of its beats falls between any two of gw1's.
                cfg2 = dataclasses.replace(
                    one_market("gw2", nats.urls, sim, [sym], endpoint=1), heartbeat=0.05
                )
                gw2 = await Gateway(cfg2).start()
                md = tickwire.remote.connect(nats.urls, "binance", [sym], engine="nats-py")
                losing = [False]
                lost: list[bytes] = []
                take = md._receiver._on_msg

                async def on_msg(msg: Any) -> None:
                    if losing[0] and bus_header(msg.data)[0] == BUS_DELTA:
                        lost.append(msg.data)
                        return
                    await take(msg)

                md._receiver._on_msg = on_msg  # type: ignore[method-assign]  # read by start()
                try:
                    books = [gw.markets[0].md for gw in (gw1, gw2)]
                    await eventually(
                        lambda: all(b.is_synced(sym) for b in books), 5.0, what="gateways in sync"
                    )
                    sim.endpoint("binance", 1).fail(1_000_000, 503)  # no snapshot for gw2 to resync from
                    sim.endpoint("binance", 1).gap(sym)
                    await eventually(lambda: not books[1].is_synced(sym), 5.0, what="gw2 lost its book")
                    await md.start(timeout=5.0)
                    await eventually(
                        lambda: levels_equal(md, sim, "binance", sym), 3.0, what="consumer == sim"
                    )
                    sim.pause()
                    await asyncio.sleep(0.3)  # what was in flight has landed
                    losing[0] = True
                    sim.advance(1, "binance", sym)  # the quiet book's last update
                    gbook = gw1.markets[0].feed.book(sym)
                    await eventually(lambda: bool(lost), 2.0, what="the last delta lost on the way")
                    losing[0] = False
                    assert gbook.levels_exact("bid", 100) != md.book(sym).levels_exact("bid", 100) or (
                        gbook.levels_exact("ask", 100) != md.book(sym).levels_exact("ask", 100)
                    ), "the lost delta changed nothing"
                    # gw1 beats every 0.1 s: a book behind two of its beats in a row resyncs.
                    end = asyncio.get_running_loop().time() + 1.5
                    while asyncio.get_running_loop().time() < end:
                        assert (
                            not md.is_synced(sym)
                            or levels_equal(md, sim, "binance", sym)
                            or (
                                asyncio.get_running_loop().time() < end - 1.0  # the first beats' grace
                            )
                        ), f"the consumer says it is in sync but lacks the venue's last update; {md.health()}"
                        await asyncio.sleep(0.01)
                    assert levels_equal(md, sim, "binance", sym), f"consumer != sim; {md.health()}"
                finally:
                    await close_all(md, gw1, gw2)

    asyncio.run(go())


def test_trades_a_closing_gateway_brought_first_are_heard_once_not_lost() -> None:
    """Two gateways publish BTCUSDT's trades (each with the venue's id: the consumer's feed passes the
    first copy and drops the other). gw1 closes cleanly; its last trades, published before its
    closing announcement, reach the consumer after it — they ride the market-data subscription, the
    announcement the status one (engine "rust": another connection; NATS orders neither across the
    other), and the venue moved just then — and gw2's copies after them. Every trade the simulator
    made must reach ``on_trade`` once. before: the consumer's feed passed gw1's copies (the first), then
    ``_event`` dropped them as a closing gateway's, and gw2's copies were dropped as duplicates: the
    trades were never heard ("not true within 3.0 s: BTCUSDT trade … heard")."""

    async def go() -> None:
        sym = "BTCUSDT"
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=16, rate=0, depth=25, endpoints={"binance": 2}) as sim:
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, [sym], channels="trades")).start()
                gw2 = await Gateway(
                    one_market("gw2", nats.urls, sim, [sym], endpoint=1, channels="trades")
                ).start()
                trades = Trades(sim, "binance", [sym])
                rec = Recorder()
                md = tickwire.remote.connect(
                    nats.urls, "binance", [sym], channels=("trades",), on_trade=trades.heard_one,
                    on_status=rec, engine="nats-py",
                )  # fmt: skip
                holding = [False]
                held: dict[str, list[Any]] = {"gw1": [], "gw2": []}
                take = md._receiver._on_msg

                async def on_msg(msg: Any) -> None:
                    if holding[0] and bus_header(msg.data)[0] == BUS_TRADE:
                        held[msg.subject.rsplit(".", 1)[1]].append(msg)  # still on its way
                        return
                    await take(msg)

                md._receiver._on_msg = on_msg  # type: ignore[method-assign]  # read by start()

                async def venue_trades() -> int:
                    n = len(trades.published[sym])
                    while len(trades.published[sym]) < n + 10:
                        sim.advance(1, "binance", sym)
                        await asyncio.sleep(0.005)
                    return len(trades.published[sym]) - n

                try:
                    await md.start()
                    await eventually(
                        lambda: len(rec.kinds("gateway_up")) == 2, 3.0, what="both gateways seen"
                    )
                    await venue_trades()
                    await eventually(lambda: bool(trades.heard[sym]), 3.0, what="trades over the bus")
                    holding[0] = True
                    n = await venue_trades()
                    await eventually(
                        lambda: len(held["gw1"]) == len(held["gw2"]) == n,
                        3.0,
                        what=lambda: f"{n} trades sent by both; {held}",
                    )
                    await gw1.close()
                    await eventually(
                        lambda: "gw1" in md._closing, 2.0, what="gw1's closing announcement heard"
                    )
                    holding[0] = False
                    for msg in (*held["gw1"], *held["gw2"]):  # gw1's copies first, then gw2's
                        await take(msg)
                    await trades.assert_each_heard_once()
                finally:
                    await close_all(md, gw2)
                    await gw1.close()

    asyncio.run(go())


@pytest.mark.parametrize("engine", ENGINES)
def test_trades_lost_on_the_consumers_link_are_reported_not_silently_missing(engine: str) -> None:
    """A consumer's link to NATS goes dark (a half-open TCP path) while the venue trades, then drops;
    the consumer reconnects and hears the trades from then on. Core NATS delivers at most once: what
    was published meanwhile is gone, and public trades cannot be fetched again. Every trade the
    simulator made must be heard once, or the consumer must say trades were lost (a ``dropped``
    status; ``health()["dropped"]``), as it does when its own backlog overflows. Every trade message
    carries the gateway's contiguous per-symbol ``gseq``, so a hole shows — read by both engines (in
    Rust for ``rust``: ``bus/trade_gaps.rs``). Before: neither — trades missing from ``on_trade``,
    nothing told."""

    async def go() -> None:
        sym = "BTCUSDT"
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=17, rate=0, depth=25) as sim:
                gw = await Gateway(one_market("gw1", nats.urls, sim, [sym], channels="trades")).start()
                trades = Trades(sim, "binance", [sym])
                rec = Recorder()
                proxy, url = await proxied(nats.urls)
                md = tickwire.remote.connect(
                    url, "binance", [sym], channels=("trades",), on_trade=trades.heard_one,
                    on_status=rec, engine=engine,
                )  # fmt: skip

                def reconnected() -> bool:
                    if engine == "rust":  # the subscriber's own connection
                        return int(md.sub.state()["reconnects"]) >= 1  # type: ignore[union-attr]
                    return bool(md.nc.stats["reconnects"] >= 1)  # type: ignore[union-attr]

                async def venue_trades(k: int) -> None:
                    n = len(trades.published[sym])
                    while len(trades.published[sym]) < n + k:
                        sim.advance(1, "binance", sym)
                        await asyncio.sleep(0.005)

                try:
                    await md.start()
                    await eventually(lambda: bool(rec.kinds("gateway_up")), 3.0, what="gateway seen")
                    await venue_trades(10)
                    await eventually(lambda: bool(trades.heard[sym]), 3.0, what="trades over the bus")
                    proxy.dark = True
                    await venue_trades(10)
                    await asyncio.sleep(0.2)  # published while the link is dark
                    proxy.dark = False
                    proxy.cut()
                    await eventually(reconnected, 5.0, what="consumer reconnected")
                    await asyncio.sleep(0.3)  # its subscriptions restored
                    await venue_trades(10)
                    last = trades.published[sym][-1]
                    await eventually(
                        lambda: last in trades.heard[sym], 3.0, what="trades after the reconnect"
                    )
                    heard = set(trades.heard[sym])
                    first = trades.published[sym].index(trades.heard[sym][0])
                    missing = [t for t in trades.published[sym][first:] if t not in heard]
                    told = [e.detail for e in rec.kinds("dropped")]
                    assert not missing or (told and md.health()["dropped"] >= len(missing)), (
                        f"{len(missing)} trades never heard and not reported lost: {missing}; "
                        f"dropped status {told}, health dropped {md.health()['dropped']}"
                    )
                finally:
                    await close_all(md, gw)

    asyncio.run(go())
