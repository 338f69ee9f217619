"""The market-data hot path's rule (README, "one Rust call per frame"): each frame a session receives
is one Python→Rust call — ``Dispatcher.on_frame`` decodes it, arbitrates A/B lines, applies it and
calls ``on_book`` — and nothing else is asked of the core per frame or per socket read: on one line
and on A/B lines, for a frame alone in its read and for several in one read, on both loops.

Counted with ``sys.setprofile`` (``core_calls.CoreCalls``) while the simulator publishes book steps,
the frames counted by the lines. A property read is no call the profiler sees, so the dispatcher a
line holds is spied on too (``core_calls.Spy``). The one other call while frames flow is the
monitor's ``Dispatcher.release_held`` (held A/B frames run out), made once a round whatever the
frames: bounded by the time the test ran, not by its frames."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

import pytest
import tickwire
from core_calls import CoreCalls, Spy, besides, count
from simbook import eventually
from stalls import LOOPS, run
from tickwire.session.market import MarketData
from tickwire.sim import Simulator

# (venue, symbol, lines): one line, and A/B lines where the venue's sequence allows them.
CASES = [
    ("binance", "BTCUSDT", 1),
    ("okx", "BTC-USDT", 1),
    ("kraken", "BTC/USD", 1),
    ("binance", "BTCUSDT", 2),
    ("okx", "BTC-USDT", 2),
]
MONITOR_ROUND_S = 0.25  # the monitor's period at the default stale_after (session/monitor.py)


def received(md: MarketData) -> int:
    return sum(ln.frames for ln in md.lines)


async def steps(sim: Simulator, md: MarketData, venue: str, symbol: str, n: int, burst: int) -> None:
    """``n`` times ``burst`` book steps published at once (one socket write, mostly one read on each
    line), each once the last one's frames came or 50 ms passed (a step beyond the depth a venue
    sends brings no frame)."""
    for _ in range(n):
        want = received(md) + burst * len(md.lines)
        sim.advance(burst, venue, symbol)
        end = time.monotonic() + 0.05
        while received(md) < want and time.monotonic() < end:
            await asyncio.sleep(0.001)


async def landed(md: MarketData) -> None:
    """Until no frame came for 0.2 s: what the simulator published was read, however loaded the
    machine is."""
    last = -1
    while (now := received(md)) != last:
        last = now
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("venue,symbol,lines", CASES)
def test_each_frame_is_one_call_into_the_core(venue: str, symbol: str, lines: int, loop: str) -> None:
    async def go() -> None:
        async with Simulator([venue], seed=41, rate=0, depth=20, endpoints={venue: lines}) as sim:
            books: list[Any] = []
            async with tickwire.connect(
                venue, [symbol], endpoints=sim.urls()[venue], redundancy=lines, on_book=books.append,
                probe_interval=None, clock_sync=None,
                venue_options={"depth": 10} if venue == "kraken" else None,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="every line up")
                await steps(sim, md, venue, symbol, 20, 1)  # steady state: past the first frames
                await landed(md)
                reads: collections.Counter[str] = collections.Counter()
                for ln in md.lines:
                    ln._dispatcher = Spy(ln._dispatcher, reads)  # type: ignore[assignment]
                first, called, t0 = received(md), len(books), time.monotonic()
                with CoreCalls() as c:
                    await steps(sim, md, venue, symbol, 100, 1)  # a frame per read
                    await steps(sim, md, venue, symbol, 30, 5)  # several frames per read
                    await landed(md)
                elapsed = time.monotonic() - t0
                frames = received(md) - first
                health = md.health()
        assert frames >= 100 * lines and len(books) > called, (frames, health)
        assert count(c.calls, "Dispatcher.on_frame") == frames, (frames, dict(c.calls))
        assert not c.within, dict(c.within)  # on_book here calls nothing: nor does the route back
        others = besides(c.calls, "Dispatcher.on_frame")
        timed = {k: n for k, n in others.items() if k[0] == "Dispatcher.release_held"}
        assert others == timed, f"calls into the core besides the frames' ({frames}): {others}"
        rounds = elapsed / MONITOR_ROUND_S + 2
        assert sum(timed.values()) <= rounds, f"{timed} in {elapsed:.2f} s ({frames} frames)"
        assert not reads, f"properties of the dispatcher read over {frames} frames: {dict(reads)}"
        if lines == 2:
            assert health["arbiter"]["duplicates"] > 0, health

    run(go(), loop)
