"""A Binance book synced from a REST snapshot of ``snapshot_limit`` levels a side, judged by the
simulator's own book: a book it reports in sync has the simulator's top levels, or the limit is
refused before anything connects."""

from __future__ import annotations

import asyncio

import pytest
import tickwire
from tickwire.session.market import MarketData
from tickwire.sim import Simulator

TOP = 5


async def _tops_wrong(md: MarketData, sim: Simulator, symbol: str, samples: int = 10) -> list[str]:
    """Samples of the market paused, frames in flight landed, where the synced book's top ``TOP``
    levels differ from the simulator's."""
    wrong = []
    for i in range(samples):
        await asyncio.sleep(0.4)
        sim.pause()
        try:
            await asyncio.sleep(0.3)
            truth = sim.book("binance", symbol, TOP)
            want = [[(float(p), float(q)) for p, q in side[:TOP]] for side in (truth.bids, truth.asks)]
            b = md.book(symbol)
            got = [b.levels("bid", TOP), b.levels("ask", TOP)]
            if md.is_synced(symbol) and got != want:
                wrong.append(f"sample {i}: {got} != {want}")
        finally:
            sim.resume()
    return wrong


def test_a_snapshot_too_shallow_for_the_diffs_is_refused_not_synced_wrong() -> None:
    """``snapshot_limit=5``: diffs carry only the levels that changed, so once they remove a level
    of the top the book lacks the one below (never in its snapshot) — in sync by the sequence, the
    top wrong (before: 2-4 samples of 10). Refused now; the smallest limit taken, 100 (the same
    weight as 5), keeps the top right on a book deeper than it."""

    async def go(limit: int, depth: int) -> list[str]:
        async with Simulator(["binance"], seed=11, rate=200, depth=depth) as sim:
            async with tickwire.connect(
                "binance",
                ["BTCUSDT"],
                endpoints=sim.urls()["binance"],
                venue_options={"snapshot_limit": limit},
                probe_interval=None,
                ready_timeout=10.0,
            ) as md:
                await md.wait_synced(20.0)
                return await _tops_wrong(md, sim, "BTCUSDT")

    try:
        wrong = asyncio.run(go(5, 30))
    except ValueError as e:
        assert "snapshot_limit" in str(e)
    else:
        assert not wrong, wrong
    assert asyncio.run(go(100, 300)) == []


@pytest.mark.parametrize(
    "venue,limit", [("binance", 99), ("binance", 5001), ("binance-usdm", 20), ("binance", "5")]
)
def test_a_snapshot_limit_out_of_range_is_a_clear_error(venue: str, limit: object) -> None:
    with pytest.raises(ValueError, match="snapshot_limit"):
        tickwire.connect(
            venue,
            ["BTCUSDT"],
            endpoints=[{"ws": "ws://127.0.0.1:9/stream"}],
            venue_options={"snapshot_limit": limit},
        )


def test_a_usdm_snapshot_limit_is_taken_only_where_the_venue_takes_it() -> None:
    """USDⓈ-M's depth takes only its listed limits (5, 10, 20, 50, 100, 500, 1000 — the simulator's
    own list, which refuses any other with -1100): a ``snapshot_limit`` in the 50-1000 range but not
    listed (200) passed the check, and every snapshot was then refused by the venue, the book never
    synced (its resync asking on for good). Each limit is taken exactly when the venue's list has it."""
    from tickwire.sim.venues.binance.market_usdm import BinanceUsdm

    def taken(limit: int) -> bool:
        try:
            tickwire.connect(
                "binance-usdm",
                ["BTCUSDT"],
                endpoints=[{"ws": "ws://127.0.0.1:9/stream"}],
                venue_options={"snapshot_limit": limit},
            )
        except ValueError as e:
            assert "snapshot_limit" in str(e)
            return False
        return True

    for limit in sorted({*range(50, 1001, 25), 99, 101, 499, 501, 999}):
        assert taken(limit) == (limit in BinanceUsdm.depth_limits), limit
