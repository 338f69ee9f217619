"""Resyncs of many books through an outage of the venue's REST host (``session/resync.py``,
``HostGate``): the host is asked by one book at a time while it fails, so the outage neither floods it
nor spends the address's request weight, and every book syncs as soon as it answers again."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import pytest
import tickwire
from simbook import assert_books_match
from tickwire.errors import RequestTimeoutError
from tickwire.session.resync import HostGate
from tickwire.sim import Simulator
from tickwire.sim.market import default_instruments
from tickwire.sim.venues.binance.market import BinanceSpot

BOOKS = 100
OUTAGE_S = 5.0
SYMBOLS = [f"S{i:02d}USDT" for i in range(BOOKS)]


@pytest.fixture
def many_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulator serves the venue's default instruments; a session over tens of symbols needs more.
    insts = default_instruments([(s, "0.01", "0.001", "100", 10) for s in SYMBOLS])
    monkeypatch.setattr(BinanceSpot, "default_instruments", insts)


def test_many_books_resyncing_through_a_rest_outage_ask_the_failing_host_one_at_a_time(
    many_symbols: None,
) -> None:
    # Every book loses a diff while the REST host answers 503 for OUTAGE_S: each needs a snapshot, and
    # none can have one until the host is back. Depth 100: weight 5 a snapshot, of the address's 6000
    # a minute (5400 for queries, the rest kept for cancels).
    async def go() -> None:
        async with Simulator(["binance"], seed=21, rate=5, depth=10) as sim:
            ep = sim.endpoint("binance")
            async with tickwire.connect(
                "binance",
                SYMBOLS,
                endpoints=sim.urls()["binance"],
                venue_options={"snapshot_limit": 100},
                probe_interval=None,
                ready_timeout=10,
            ) as md:
                start = len(ep.exchanges)
                ep.fail(10**9, status=503)
                for s in SYMBOLS:
                    ep.gap(s)
                await asyncio.sleep(OUTAGE_S)
                ep.fail(0)
                back = time.monotonic()
                with contextlib.suppress(RequestTimeoutError):
                    await md.wait_synced(timeout=10)
                took = time.monotonic() - back
                seen = Counter((path, status) for _, path, status, _ in list(ep.exchanges)[start:])
                failed = seen["GET /api/v3/depth", 503]
                # What went out before the first answer told the host was failing (one per book, at
                # most), then one probe at a time, paused 50 ms doubling to 2 s: 5 in 5 s. Before, each
                # book retried on its own, ~9 times each (~900 here, 4500 weight), and the snapshots
                # that could sync the books once the host was back waited for the venue's minute to
                # slide (books not in sync 10 s after it).
                assert failed <= BOOKS + 10, f"{failed} snapshots refused during the outage: {seen}"
                assert md.is_synced(), f"books not in sync {took:.1f} s after the REST host came back"
                assert took < 5.0, f"books synced {took:.1f} s after the REST host came back"
                assert seen["GET /api/v3/depth", 200] <= 2 * BOOKS, seen
                limiters = sim.venue("binance").limiters.values()
                assert sum(lim.refused for lim in limiters) == 0
                await assert_books_match(md, sim, "binance", SYMBOLS)

    asyncio.run(go())


def test_a_probe_cancelled_with_its_book_hands_the_turn_to_a_waiting_one() -> None:
    # The probe's book unsubscribed (its resync cancelled) while its snapshot is out: the books waiting
    # for its answer must not wait for one nobody will report. (Of the fix, not a fault found before.)
    async def go() -> None:
        gate = HostGate()
        gate.failed(probe=False)  # the host failed a snapshot: books ask it one at a time
        await asyncio.sleep(gate.until - time.monotonic())
        assert await gate.turn()  # the probe

        async def probe_then_cancelled() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                gate.release(probe=True)  # what ``Resyncer._run`` does on any end it cannot judge
                raise

        prober = asyncio.create_task(probe_then_cancelled())
        waiter = asyncio.create_task(gate.turn())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        prober.cancel()
        assert await asyncio.wait_for(waiter, 1.0)  # the next probe, not a failure it never saw
        gate.answered(probe=True)
        assert gate.pause == 0.0 and not await gate.turn()

    asyncio.run(go())
