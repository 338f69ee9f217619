"""``tickwire replay`` of a recording reads its books as the recording session kept them: the same
depth, the same frames counted as errors, against the simulator's books and what the session saw."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tickwire.cmd.record import record
from tickwire.cmd.replay import replay
from tickwire.sim import Simulator


async def _freeze_then_stop(sim: Simulator, stop: asyncio.Event, after: float = 1.5) -> None:
    await asyncio.sleep(after)
    sim.pause()
    await asyncio.sleep(0.3)
    stop.set()


def test_kraken_recorded_at_depth_25_replays_at_depth_25(tmp_path: Path) -> None:
    """A Kraken session subscribed at ``depth=25`` keeps 25 levels a side (``Adapter.feed_options``)
    and its checksums, over those 25, pass. Replay of its recording must keep 25 too: kept at the
    spec's 10, a level of 11-25 coming back into view fails the checksum (the session had none)."""
    symbol = "BTC/USD"

    async def go() -> None:
        async with Simulator(["kraken"], seed=21, rate=300, depth=40, symbols={"kraken": [symbol]}) as sim:
            out, stop = tmp_path / "kraken.jsonl", asyncio.Event()
            task = asyncio.create_task(_freeze_then_stop(sim, stop))
            summary = await record(
                "kraken",
                [symbol],
                out,
                endpoints=sim.urls()["kraken"],
                stop=stop,
                venue_options={"depth": 25},
            )
            await task
            assert summary["synced"] == {symbol: True} and summary["resyncs"] == 0, summary
            t = sim.book("kraken", symbol)
            report = json.loads(json.dumps(replay(out, "kraken")))
            b = report["books"][symbol]
            assert report["checksum_failures"] == 0, report
            assert report["checksums_verified"] > 20, report
            assert (b["state"], b["bid_levels"], b["ask_levels"]) == ("synced", 25, 25), b
            assert b["best_bid"] == [float(t.bids[0][0]), float(t.bids[0][1])]
            assert b["best_ask"] == [float(t.asks[0][0]), float(t.asks[0][1])]

    asyncio.run(go())
