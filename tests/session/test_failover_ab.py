"""A/B lines over two simulator endpoints under faults (a line stalled with its frames held, an
endpoint down and back, both down then one back, (un)subscribing while one line is down): the books
equal the simulator's, no resync, and every trade the simulator made while a line was up heard once,
in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from simbook import Recorder, Trades, assert_books_match, eventually
from tickwire.recovery.backoff import Backoff
from tickwire.sim import Simulator

CASES = [("binance", ["BTCUSDT"]), ("okx", ["BTC-USDT"]), ("binance-usdm", ["BTCUSDT"])]


def _connect(sim: Any, venue: str, symbols: list[str], rec: Any, trades: Any, **kw: Any) -> Any:
    return tickwire.connect(
        venue, symbols, channels=["book", "trades"], endpoints=sim.urls()[venue], redundancy=2,
        on_status=rec, on_trade=trades.heard_one, probe_interval=None, clock_sync=None,
        backoff=Backoff(base=0.05, cap=0.2), **kw,
    )  # fmt: skip


@pytest.mark.parametrize("venue,symbols", CASES)
def test_one_line_stalled_with_frames_held_then_released(venue: str, symbols: list[str]) -> None:
    async def go() -> None:
        async with Simulator([venue], seed=31, rate=300, depth=25, endpoints={venue: 2}) as sim:
            rec = Recorder()
            trades = Trades(sim, venue, symbols)
            async with _connect(sim, venue, symbols, rec, trades) as md:
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, venue, symbols)
                for i in (0, 1, 0):
                    ep = sim.endpoint(venue, i)
                    ep.stall(hold=True)
                    await asyncio.sleep(0.6)
                    ep.unstall()
                    await asyncio.sleep(0.3)
                await assert_books_match(md, sim, venue, symbols)
                assert rec.kinds("out_of_sync") == [], [e.detail for e in rec.kinds("out_of_sync")]
                await trades.assert_each_heard_once()

    asyncio.run(go())


@pytest.mark.parametrize("venue,symbols", CASES)
def test_primary_endpoint_down_and_back(venue: str, symbols: list[str]) -> None:
    async def go() -> None:
        async with Simulator([venue], seed=32, rate=300, depth=25, endpoints={venue: 2}) as sim:
            rec = Recorder()
            trades = Trades(sim, venue, symbols)
            async with _connect(sim, venue, symbols, rec, trades) as md:
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, venue, symbols)
                for _ in range(2):
                    ep0 = sim.endpoint(venue, 0)
                    await ep0.down()
                    await asyncio.sleep(0.5)
                    await ep0.up()
                    await eventually(lambda: all(ln.connected for ln in md.lines), what="back")
                    await asyncio.sleep(0.2)
                await assert_books_match(md, sim, venue, symbols)
                assert rec.kinds("out_of_sync") == [], [e.detail for e in rec.kinds("out_of_sync")]
                await trades.assert_each_heard_once()

    asyncio.run(go())


@pytest.mark.parametrize("venue,symbols", CASES)
def test_both_down_then_one_back(venue: str, symbols: list[str]) -> None:
    async def go() -> None:
        async with Simulator([venue], seed=33, rate=300, depth=25, endpoints={venue: 2}) as sim:
            rec = Recorder()
            trades = Trades(sim, venue, symbols)
            async with _connect(sim, venue, symbols, rec, trades) as md:
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, venue, symbols)
                e0, e1 = sim.endpoint(venue, 0), sim.endpoint(venue, 1)
                await e0.down()
                await e1.down()
                await eventually(lambda: not any(ln.connected for ln in md.lines), what="both down")
                await asyncio.sleep(0.3)
                assert not any(md.is_synced(s) for s in symbols)
                await e1.up()
                await assert_books_match(md, sim, venue, symbols)
                await e0.up()
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both back")
                await asyncio.sleep(0.3)
                await assert_books_match(md, sim, venue, symbols)

    asyncio.run(go())


@pytest.mark.parametrize(
    "venue,symbols", [("binance", ["BTCUSDT", "ETHUSDT"]), ("okx", ["BTC-USDT", "ETH-USDT"])]
)
def test_subscribe_and_unsubscribe_while_one_line_is_down(venue: str, symbols: list[str]) -> None:
    async def go() -> None:
        kept, other = symbols
        async with Simulator([venue], seed=34, rate=300, depth=25, endpoints={venue: 2}) as sim:
            rec = Recorder()
            trades = Trades(sim, venue, [kept])
            async with _connect(sim, venue, [kept], rec, trades) as md:
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                e0, e1 = sim.endpoint(venue, 0), sim.endpoint(venue, 1)
                await e0.down()
                await md.subscribe([other])
                await asyncio.sleep(0.3)
                await e0.up()
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both back")
                await asyncio.sleep(0.3)
                await e1.down()
                await eventually(lambda: sum(ln.connected for ln in md.lines) == 1, what="one down")
                await asyncio.sleep(0.3)
                await assert_books_match(md, sim, venue, [kept, other])
                await md.unsubscribe([other])
                await asyncio.sleep(0.3)
                await e1.up()
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both back")
                await asyncio.sleep(0.5)
                assert not [t for t in sim.venue(venue).live if other.lower() in t.lower()], sim.venue(
                    venue
                ).live
                await assert_books_match(md, sim, venue, [kept])
                assert rec.kinds("out_of_sync") == [], [e.detail for e in rec.kinds("out_of_sync")]

    asyncio.run(go())
