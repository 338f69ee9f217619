"""Books of one venue split between two gateways (each serves some symbols): a consumer of both
rebuilds each book from the gateway serving it, follows each one's loss and return, and hears every
trade; against the simulator's books and trades."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire.remote
from market_cases import (
    SYMS,
    close_all,
    one_market,
)
from simbook import Recorder, assert_books_match, eventually, levels_equal
from tickwire.bus.server import cluster
from tickwire.gateway.run import Gateway
from tickwire.sim import Simulator


def test_books_sharded_over_two_gateways_are_each_rebuilt_from_the_gateway_serving_them() -> None:
    """Two gateways on one venue split its symbols (gw1 BTCUSDT, gw2 ETHUSDT); a consumer of both on
    the default ``gateway="*"`` must sync both books and equal the simulator. before: every snapshot was
    asked of one gateway (the first seen), which refused the book it does not serve, so that book never
    synced (RequestTimeoutError "books not in sync after 5.0 s")."""

    async def go() -> None:
        with cluster(1) as nats:
            async with Simulator(["binance"], seed=11, rate=200, depth=25) as sim:
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, ["BTCUSDT"])).start()
                gw2 = await Gateway(one_market("gw2", nats.urls, sim, ["ETHUSDT"])).start()
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
                gw2 = await Gateway(one_market("gw2", nats.urls, sim, SYMS)).start()
                md = await tickwire.remote.connect(nats.urls, "binance", SYMS, on_status=rec).start()
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, ["BTCUSDT"])).start()
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
                gw1 = await Gateway(one_market("gw1", nats.urls, sim, ["BTCUSDT"])).start()
                gw2 = await Gateway(one_market("gw2", nats.urls, sim, ["ETHUSDT"], endpoint=1)).start()
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
                cfgs = [one_market(n, nats.urls, sim, [s], channels="trades") for n, s in shards]
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
