"""Books served over NATS: a gateway on one node of a three-node loopback cluster, remote consumers on
the other two; every consumer's books must equal the simulator's (the truth) through venue-side gaps
and drops, a consumer restart, and a NATS node killed and restarted. The key ones run on both engines
of the consumer's market-data subscription (the extension's async-nats subscriber, nats-py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
import tickwire.remote
from simbook import Recorder, assert_books_match, eventually, levels_equal, quiet
from tickwire._core import bus_header
from tickwire.bus.server import cluster
from tickwire.gateway.config import GatewayConfig, MarketConfig
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0}
SYMS = ["BTCUSDT", "ETHUSDT"]
ENGINES = pytest.mark.parametrize("engine", ["rust", "nats-py"])
BUS_SNAPSHOT = 2  # a bus header's kind (rust/bus/wire.rs)


def gateway_config(name: str, nats: list[str], sim: Simulator, heartbeat: float = 0.1) -> GatewayConfig:
    market = MarketConfig(
        "binance", tuple(SYMS), ("book", "trades"), {"endpoints": sim.urls()["binance"], **FAST}
    )
    return GatewayConfig(name=name, nats=tuple(nats), markets=(market,), heartbeat=heartbeat)


@ENGINES
def test_consumers_on_other_nodes_follow_the_simulator_through_faults(engine: str) -> None:
    async def go() -> None:
        with cluster(3) as nats:
            n1, n2, n3 = nats.urls
            async with Simulator(["binance"], seed=7, rate=300, depth=25) as sim:
                async with Gateway(gateway_config("gw1", [n1], sim)) as gw:
                    rec2 = Recorder()
                    c2 = await tickwire.remote.connect(
                        n2, "binance", SYMS, on_status=rec2, engine=engine
                    ).start()
                    c3 = await tickwire.remote.connect(n3, "binance", SYMS, engine=engine).start()
                    try:
                        for c in (c2, c3):
                            await assert_books_match(c, sim, "binance", SYMS)  # type: ignore[arg-type]
                        # The venue drops a diff for one symbol: the gateway resyncs it from the venue and
                        # the consumers follow from the snapshot it publishes.
                        sim.endpoint("binance").gap("BTCUSDT")
                        await eventually(
                            lambda: gw.markets[0].md.counters["gaps"] >= 1, what="gateway saw the gap"
                        )
                        # The venue drops the gateway's connection: it reconnects and resyncs every book.
                        sim.endpoint("binance").drop()
                        await eventually(
                            lambda: gw.markets[0].md.lines[0].connects == 2, what="gateway reconnected"
                        )
                        for c in (c2, c3):
                            await assert_books_match(c, sim, "binance", SYMS)  # type: ignore[arg-type]
                        # A consumer restarts: it rebuilds from snapshots, then follows the deltas.
                        await c3.close()
                        c3 = await tickwire.remote.connect(n3, "binance", SYMS, engine=engine).start()
                        assert c3.health()["engine"] == engine
                        await assert_books_match(c3, sim, "binance", SYMS)  # type: ignore[arg-type]
                        # Node 2 dies while the market moves: its consumer reconnects (to node 2 when it is
                        # back, or at once to a node the cluster announced), finds any gap and asks for
                        # snapshots.
                        nats.nodes[1].kill()
                        await asyncio.sleep(0.5)
                        nats.nodes[1].start()
                        # The gateway's messages reach node 2 again once its routes are back (a gap
                        # can only show then).
                        await asyncio.to_thread(nats.wait_routed)
                        await eventually(lambda: c2.health()["connected"], 10.0, what="consumer reconnected")
                        # Whether messages were lost in the switch depends on timing (a client that moved
                        # to another node at once may have lost none): the reconnect is asserted, and
                        # the books below show any loss was found and mended.
                        if engine == "rust":
                            assert c2.health()["subscriber"]["reconnects"] >= 1
                        else:
                            assert c2.nc.stats["reconnects"] >= 1
                        for c in (c2, c3):
                            await assert_books_match(c, sim, "binance", SYMS)  # type: ignore[arg-type]
                        assert c2.counters["decode_errors"] == 0 and c3.counters["decode_errors"] == 0
                        assert c2.latency()["bus"]["count"] > 0
                    finally:
                        await c2.close()
                        await c3.close()

    asyncio.run(go())


@ENGINES
def test_a_consumers_books_are_unsynced_until_the_gateways_reconnected_books_are_proven(
    engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=5, rate=300, depth=25) as sim:
                async with Gateway(gateway_config("gw1", nats.urls, sim)) as gw:
                    async with tickwire.remote.connect(nats.urls, "binance", SYMS, engine=engine) as md:
                        await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]
                        # The market stands still while the gateway's venue connection drops and comes
                        # back: no message on the new connection has proven the gateway's books
                        # continuous yet (the venue may have sent what it missed), so neither are the
                        # consumer's copies, though nothing was lost on the bus.
                        sim.pause()
                        sim.endpoint("binance").drop()
                        line = gw.markets[0].md.lines[0]
                        await eventually(lambda: line.connects == 2 and line.connected, what="gateway back")
                        await eventually(lambda: not md.is_synced(), 2.0, what="consumer's books unsynced")
                        assert all(md.book(s).is_synced for s in SYMS)
                        assert all(
                            not b["synced"] and not b["upstream_synced"]
                            for b in md.health()["books"].values()
                        )
                        await asyncio.sleep(0.3)  # heartbeats (every 0.1 s here) keep saying so
                        assert not any(md.is_synced(s) for s in SYMS)
                        # The venue's next diffs prove the gateway's books: the consumer's follow at once.
                        sim.resume()
                        await eventually(md.is_synced, 5.0, what="consumer's books synced again")
                        await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="tickwire"):
        asyncio.run(go())
    # The gateway announces a proven book from its on_book, inside the frame route: nothing there may
    # fail (it once asked the busy frame route itself, and the announcement waited for a heartbeat).
    assert not [r.getMessage() for r in caplog.records if "callback raised" in r.getMessage()]


def test_trades_reach_the_consumer_once_and_exactly() -> None:
    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=3, rate=300, depth=25) as sim:
                local: list[Any] = []
                remote: list[Any] = []
                async with Gateway(gateway_config("gw1", nats.urls, sim)) as gw:
                    gw.markets[0].md.on_trade = _also(gw.markets[0].md.on_trade, local.append)
                    async with tickwire.remote.connect(
                        nats.urls, "binance", SYMS, channels=("book", "trades"), on_trade=remote.append
                    ):
                        await eventually(lambda: len(remote) >= 20, 10.0, what="trades over the bus")
                        sim.pause()
                        # Every trade already sent lands on both sides before they are compared (a fixed
                        # wait was once too short on a loaded CI machine).
                        await quiet(local, remote, what="trades in flight")
                        n = len(remote)
                        # The consumer started after the gateway: its trades are the tail of the gateway's.
                        tail = local[-n:]
                        assert [(t.symbol, t.exact(), t.buyer_maker, t.trade_id) for t in remote] == [
                            (t.symbol, t.exact(), t.buyer_maker, t.trade_id) for t in tail
                        ]
                        assert all(t.trade_id is not None for t in remote)
                        sim.resume()

    asyncio.run(go())


def _also(first: Any, second: Any) -> Any:
    def both(v: Any) -> None:
        first(v)
        second(v)

    return both


def test_gateway_gone_and_back_is_reported() -> None:
    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=4, rate=100, depth=10) as sim:
                rec = Recorder()
                gw = await Gateway(gateway_config("gw1", nats.urls, sim, heartbeat=0.05)).start()
                async with tickwire.remote.connect(nats.urls, "binance", SYMS, on_status=rec) as md:
                    await eventually(lambda: bool(rec.kinds("gateway_up")), what="gateway seen")
                    await gw.close()
                    await eventually(lambda: bool(rec.kinds("gateway_down")), 2.0, what="gateway gone")
                    assert md.health()["gateways"] == {"gw1": False}
                    gw = await Gateway(gateway_config("gw1", nats.urls, sim, heartbeat=0.05)).start()
                    try:
                        await eventually(lambda: len(rec.kinds("gateway_up")) == 2, 3.0, what="gateway back")
                        await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]
                    finally:
                        await gw.close()

    asyncio.run(go())


@ENGINES
def test_two_gateways_are_arbitrated_by_the_venues_ids_and_one_may_die(engine: str) -> None:
    async def go() -> None:
        with cluster(3) as nats:
            n1, n2, n3 = nats.urls
            async with Simulator(["binance"], seed=9, rate=300, depth=25) as sim:
                gw1 = await Gateway(gateway_config("gw1", [n1], sim)).start()
                gw2 = await Gateway(gateway_config("gw2", [n3], sim)).start()
                trades: list[Any] = []
                rec = Recorder()
                md = tickwire.remote.connect(
                    n2,
                    "binance",
                    SYMS,
                    channels=("book", "trades"),
                    on_trade=trades.append,
                    on_status=rec,
                    engine=engine,
                )
                try:
                    await md.start()
                    await eventually(
                        lambda: len(rec.kinds("gateway_up")) == 2, 3.0, what="both gateways seen"
                    )
                    await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]

                    # Both gateways' copies of each update arrive; the first applies, the other is dropped
                    # (once both gateways' own books are in sync: a gateway seen alive may still be
                    # resyncing from the venue, publishing nothing yet).
                    def both_lines() -> bool:
                        arb = md.feed.arbiter_stats()
                        return arb is not None and arb["duplicates"] > 0 and arb["passed"] > 0

                    await eventually(both_lines, 5.0, what="copies from both gateways")
                    await gw1.close()
                    await eventually(lambda: bool(rec.kinds("gateway_down")), 3.0, what="gw1 gone")
                    n = len(trades)
                    await eventually(lambda: len(trades) > n + 5, 5.0, what="trades from gw2")
                    await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]
                    # Each trade once, whichever gateway brought it first (both sent every one).
                    for sym in SYMS:
                        ids = [t.trade_id for t in trades if t.symbol == sym]
                        assert None not in ids and ids == sorted(set(ids)), sym
                    arb = md.feed.arbiter_stats()
                    assert arb is not None and arb["duplicate_trades"] > 0
                finally:
                    await close_all(md, gw1, gw2)

    asyncio.run(go())


@pytest.mark.parametrize("venue,symbol", [("kraken", "BTC/USD"), ("bybit", "BTCUSDT")])
def test_a_restarted_gateway_of_a_venue_without_venue_wide_ids_is_followed_from_its_new_books(
    venue: str, symbol: str
) -> None:
    """A gateway of a venue without A/B-able update ids closes and starts again within its
    heartbeats' grace: the consumer following it must end equal to the new gateway's book. Kraken has
    no ids (messages link by the gateway's own gseq). before (Kraken): the new gateway's gseq started
    over at 1, below the consumer's, so its messages were dropped as stale and the consumer stayed in
    sync with the old gateway's last book. Bybit (ids per topic, 1 again after a venue restart: the
    bus's restart snapshots) passed before too: a guard."""

    async def go() -> None:
        with cluster(1) as nats:
            syms = [symbol]
            async with Simulator([venue], seed=21, rate=200, depth=25, symbols={venue: syms}) as sim:
                market = MarketConfig(venue, tuple(syms), ("book",), {"endpoints": sim.urls()[venue], **FAST})
                cfg = GatewayConfig(name="gw1", nats=tuple(nats.urls), markets=(market,), heartbeat=1.0)
                gw = await Gateway(cfg).start()
                try:
                    async with tickwire.remote.connect(nats.urls, venue, syms, gateway="gw1") as md:
                        await eventually(lambda: md.book(symbol).last_update_id > 50, 5.0, what="followed")
                        await eventually(
                            lambda: md.health()["gateways"] == {"gw1": True}, 3.0, what="gw1 seen"
                        )
                        await gw.close()
                        gw = await Gateway(cfg).start()
                        await eventually(lambda: gw.markets[0].md.is_synced(), 5.0, what="gateway back")
                        await asyncio.sleep(0.3)
                        sim.pause()
                        same = same_as_gateway(md, gw, symbol)
                        await eventually(same, 3.0, what=lambda: f"consumer == gateway; {md.health()}")
                finally:
                    await gw.close()

    asyncio.run(go())


def same_as_gateway(md: Any, gw: Gateway, symbol: str) -> Callable[[], bool]:
    """Whether the consumer is in sync and its book equals the gateway's (exact levels)."""
    gbook = gw.markets[0].feed.book(symbol)

    def same() -> bool:
        b = md.book(symbol)
        return bool(md.is_synced()) and all(
            b.levels_exact(s, 100) == gbook.levels_exact(s, 100) for s in ("bid", "ask")
        )

    return same


async def close_all(md: Any, *gateways: Gateway) -> None:
    """The consumer, then each gateway, closed."""
    await md.close()
    for gw in gateways:
        await gw.close()


def _one_market(
    name: str, nats: list[str], sim: Simulator, symbols: list[str], endpoint: int = 0, channels: str = "book"
) -> GatewayConfig:
    endpoints = [sim.urls()["binance"][endpoint]]
    market = MarketConfig("binance", tuple(symbols), (channels,), {"endpoints": endpoints, **FAST})
    return GatewayConfig(name=name, nats=tuple(nats), markets=(market,), heartbeat=0.1)


def test_books_sharded_over_two_gateways_are_each_rebuilt_from_the_gateway_serving_them() -> None:
    """Two gateways on one venue split its symbols (gw1 BTCUSDT, gw2 ETHUSDT); a consumer of both on
    the default ``gateway="*"`` must sync both books and equal the simulator. before: every snapshot was
    asked of one gateway (the first seen), which refused the book it does not serve, so that book never
    synced (RequestTimeoutError "books not in sync after 5.0 s")."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=11, rate=200, depth=25) as sim:
                gw1 = await Gateway(_one_market("gw1", nats.urls, sim, ["BTCUSDT"])).start()
                gw2 = await Gateway(_one_market("gw2", nats.urls, sim, ["ETHUSDT"])).start()
                md = tickwire.remote.connect(nats.urls, "binance", SYMS)
                try:
                    await md.start(timeout=5.0)
                    await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]
                finally:
                    await close_all(md, gw1, gw2)

    asyncio.run(go())


def test_a_book_whose_only_gateway_died_is_not_synced_while_another_gateway_lives() -> None:
    """gw2 alone serves ETHUSDT, gw1 and gw2 serve BTCUSDT; gw2 closes while the market moves. The
    consumer's ETHUSDT book must say it is not synced (or still equal the simulator's). before: gw1 was
    still alive, so the book kept saying it was in sync while it aged (levels != the simulator's)."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=12, rate=200, depth=25) as sim:
                rec = Recorder()
                gw2 = await Gateway(_one_market("gw2", nats.urls, sim, SYMS)).start()
                md = await tickwire.remote.connect(nats.urls, "binance", SYMS, on_status=rec).start()
                gw1 = await Gateway(_one_market("gw1", nats.urls, sim, ["BTCUSDT"])).start()
                try:
                    await eventually(
                        lambda: len(rec.kinds("gateway_up")) == 2, 3.0, what="both gateways seen"
                    )
                    await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]
                    await gw2.close()
                    await eventually(lambda: bool(rec.kinds("gateway_down")), 3.0, what="gw2 gone")
                    await asyncio.sleep(0.3)  # the market moves on without ETHUSDT's gateway
                    sim.pause()
                    await asyncio.sleep(0.2)
                    assert not md.is_synced("ETHUSDT") or levels_equal(md, sim, "binance", "ETHUSDT"), (
                        md.health()
                    )
                    sim.resume()
                    await assert_books_match(md, sim, "binance", ["BTCUSDT"])  # type: ignore[arg-type]
                finally:
                    await close_all(md, gw1, gw2)

    asyncio.run(go())


def test_a_sharded_book_is_unsynced_until_its_own_gateways_reconnected_book_is_proven() -> None:
    """gw1 serves BTCUSDT from one venue endpoint, gw2 ETHUSDT from another; the market stands still
    while gw2's venue connection drops and comes back, so its book is not proven continuous. The
    consumer's ETHUSDT must not say it is in sync until the venue's next diffs prove gw2's book.
    before: gw1, which has no ETHUSDT book, counted as a live gateway reporting it in sync."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=13, rate=200, depth=25, endpoints={"binance": 2}) as sim:
                gw1 = await Gateway(_one_market("gw1", nats.urls, sim, ["BTCUSDT"])).start()
                gw2 = await Gateway(_one_market("gw2", nats.urls, sim, ["ETHUSDT"], endpoint=1)).start()
                md = tickwire.remote.connect(nats.urls, "binance", SYMS)
                try:
                    await md.start(timeout=5.0)
                    await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]
                    sim.pause()
                    sim.endpoint("binance", 1).drop()
                    line = gw2.markets[0].md.lines[0]
                    await eventually(lambda: line.connects == 2 and line.connected, what="gw2 back")
                    await eventually(lambda: not gw2.markets[0].md.is_synced("ETHUSDT"), what="gw2 unproven")
                    await asyncio.sleep(0.3)  # heartbeats (every 0.1 s here) and status messages landed
                    assert not md.is_synced("ETHUSDT"), md.health()
                    sim.resume()
                    await assert_books_match(md, sim, "binance", SYMS)  # type: ignore[arg-type]
                finally:
                    await close_all(md, gw1, gw2)

    asyncio.run(go())


def test_trades_of_symbols_sharded_over_two_gateways_all_reach_the_consumer() -> None:
    """gw1 publishes BTCUSDT's trades, gw2 ETHUSDT's; a consumer of both on ``gateway="*"`` must get the
    trades of both. before: the first gateway a trade came from became the source of every symbol's
    trades, and the other gateway's were dropped as copies (no ETHUSDT or no BTCUSDT trade ever)."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=14, rate=300, depth=25) as sim:
                shards = (("gw1", "BTCUSDT"), ("gw2", "ETHUSDT"))
                cfgs = [_one_market(n, nats.urls, sim, [s], channels="trades") for n, s in shards]
                gws = [await Gateway(c).start() for c in cfgs]
                trades: list[Any] = []
                md = tickwire.remote.connect(
                    nats.urls, "binance", SYMS, channels=("trades",), on_trade=trades.append
                )
                try:
                    await md.start()
                    await eventually(
                        lambda: {t.symbol for t in trades} == set(SYMS),
                        5.0,
                        what=lambda: f"{len(trades)} trades",
                    )
                finally:
                    await md.close()
                    for gw in gws:
                        await gw.close()

    asyncio.run(go())


# A venue restarting its numbering (Bybit's u back to 1) ------------------------------------------------

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
                    await eventually(lambda: _announced(md, "gw1", sym), 1.0, what="ids announced")
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


def _announced(md: Any, gateway: str, key: str) -> bool:
    """Whether the consumer heard a beat of ``gateway`` announce the venue id ``key``'s book reached."""
    st = md.watch.gateways.get(gateway) if md.watch is not None else None
    ids = (((st.body if st else {}).get("markets") or {}).get(md.venue) or {}).get("ids") or {}
    return isinstance(ids.get(key), int)
