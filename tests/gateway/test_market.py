"""Books served over NATS: a gateway on one node of a three-node loopback cluster, remote consumers on
the other two; every consumer's books must equal the simulator's (the truth) through venue-side gaps
and drops, a consumer restart, and a NATS node killed and restarted. The key ones run on both engines
of the consumer's market-data subscription (the extension's async-nats subscriber, nats-py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import tickwire.remote
from market_cases import (
    ENGINES,
    FAST,
    SYMS,
    close_all,
    gateway_config,
    one_market,
    same_as_gateway,
)
from simbook import Recorder, assert_books_match, eventually, levels_equal, quiet
from tickwire.bus.server import cluster
from tickwire.gateway.config import GatewayConfig, MarketConfig
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator


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


def test_a_consumer_is_not_synced_on_a_stale_book_while_its_gateway_restarts() -> None:
    """A deploy: the only gateway closes cleanly and starts again within its heartbeats' grace, while
    the venue moves on; its new instance takes a while to sync (the venue's REST answers late). At
    every look, a consumer's book in sync must equal the simulator's. before: the closed gateway's last
    report (in sync) stood until its beats were missed, and the new instance's first beat named no
    books, which counted as in sync: the book the consumer traded on lacked what the venue did."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=31, rate=0, depth=25) as sim:
                cfg = gateway_config("gw1", nats.urls, sim, heartbeat=1.0)  # gone after 3 s unheard
                gw = await Gateway(cfg).start()
                md = await tickwire.remote.connect(
                    nats.urls, "binance", ["BTCUSDT"], engine="nats-py"
                ).start()
                try:
                    await eventually(lambda: levels_equal(md, sim, "binance", "BTCUSDT"), what="in sync")
                    await eventually(lambda: md.health()["gateways"] == {"gw1": True}, 3.0, what="gw1 seen")

                    async def never_stale(seconds: float, when: str) -> None:
                        end = asyncio.get_running_loop().time() + seconds
                        while asyncio.get_running_loop().time() < end:
                            synced = md.is_synced("BTCUSDT")
                            assert not synced or levels_equal(md, sim, "binance", "BTCUSDT"), (
                                f"{when}: the consumer's book says it is in sync but differs from the "
                                f"simulator's; {md.health()['books']}"
                            )
                            await asyncio.sleep(0.002)

                    await gw.close()
                    await eventually(  # well within the 3 s its heartbeats take to be missed
                        lambda: not md.is_synced("BTCUSDT"),
                        1.5,
                        what="the book unsynced once its gateway closed",
                    )
                    sim.advance(40, "binance", "BTCUSDT")  # the venue moves on; no gateway relays it
                    await never_stale(0.5, "gateway closed")
                    sim.endpoint("binance").delay(1.0)  # the new instance's snapshot comes late
                    gw = await Gateway(cfg).start()
                    await never_stale(1.5, "gateway restarting")
                    sim.endpoint("binance").delay(0)
                    await eventually(lambda: levels_equal(md, sim, "binance", "BTCUSDT"), 5.0, what="back")
                finally:
                    await close_all(md, gw)

    asyncio.run(go())


def test_a_book_synced_before_its_gateways_first_heartbeat_does_not_stay_synced_once_it_is_gone() -> None:
    """A consumer of a named gateway rebuilds its book from a snapshot the moment it starts, between two
    of the gateway's heartbeats; the gateway then goes before its next beat, and the venue moves on.
    The consumer's book must not say it is in sync while it differs from the simulator's. before: with
    no gateway ever heard, the book counted as vouched for, and since no gateway it had heard could go
    missing, it said it was in sync for good while it aged."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=32, rate=0, depth=25) as sim:
                cfg = gateway_config("gw1", nats.urls, sim, heartbeat=3.0)  # its next beat after 3 s
                gw = await Gateway(cfg).start()
                await eventually(lambda: gw.markets[0].md.is_synced(), 5.0, what="gateway in sync")
                md = tickwire.remote.connect(
                    nats.urls, "binance", ["BTCUSDT"], gateway="gw1", engine="nats-py"
                )
                await md.start(wait=False)
                try:
                    await eventually(lambda: md.health()["books"]["BTCUSDT"]["state"] == "synced", 3.0,
                                     what="snapshot applied")  # fmt: skip
                    await gw.close()
                    await asyncio.sleep(0.1)  # what the gateway sent as it closed lands
                    sim.advance(40, "binance", "BTCUSDT")  # the venue moves on; no gateway relays it
                    end = asyncio.get_running_loop().time() + 1.0
                    while asyncio.get_running_loop().time() < end:
                        assert not md.is_synced("BTCUSDT") or levels_equal(md, sim, "binance", "BTCUSDT"), (
                            f"the book says it is in sync but differs from the simulator's; {md.health()}"
                        )
                        await asyncio.sleep(0.005)
                    gw = await Gateway(cfg).start()  # back: the book follows it again
                    await eventually(lambda: levels_equal(md, sim, "binance", "BTCUSDT"), 5.0, what="back")
                finally:
                    await close_all(md, gw)

    asyncio.run(go())


def test_a_consumer_syncs_from_the_gateway_that_has_the_book_when_another_has_lost_it() -> None:
    """Two gateways serve BTCUSDT from two endpoints of the venue; gw1's feed breaks (a gap, then every
    REST snapshot refused), so its book is out of sync and stays so, while gw2's is in sync. A consumer
    that starts now, and hears gw1 first, must sync from gw2 and equal the simulator. before: every
    snapshot was asked of the first gateway heard, which refused each one: the book never synced
    while gw2 served it (RequestTimeoutError "books not in sync after 5.0 s")."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=14, rate=200, depth=25, endpoints={"binance": 2}) as sim:
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, ["BTCUSDT"])).start()
                gw2 = await Gateway(one_market("gw2", nats.urls, sim, ["BTCUSDT"], endpoint=1)).start()
                md = tickwire.remote.connect(nats.urls, "binance", ["BTCUSDT"], engine="nats-py")
                try:
                    books = [gw.markets[0].md for gw in (gw1, gw2)]
                    await eventually(lambda: all(b.is_synced("BTCUSDT") for b in books), 5.0, what="in sync")
                    sim.endpoint("binance", 0).fail(1_000_000, 503)  # no snapshot for gw1 to resync from
                    sim.endpoint("binance", 0).gap("BTCUSDT")
                    await eventually(lambda: not books[0].is_synced("BTCUSDT"), 5.0, what="gw1 lost it")
                    assert gw2.heartbeat is not None
                    await gw2.heartbeat.stop()  # the consumer hears gw1 first (gw2's beats come later)
                    await md.start(wait=False)
                    await eventually(lambda: md.health()["gateways"] == {"gw1": True}, 3.0, what="gw1 seen")
                    gw2.heartbeat.start()
                    await md.wait_synced(5.0)
                    await assert_books_match(md, sim, "binance", ["BTCUSDT"])  # type: ignore[arg-type]
                finally:
                    await close_all(md, gw1, gw2)

    asyncio.run(go())
