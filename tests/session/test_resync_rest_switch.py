"""The REST switch of a Binance resync (``Resyncer._run``): snapshots that keep coming back older than
the diffs buffered since, from the streaming endpoint's REST host (a replica that lags for good), are
asked of the next endpoint, as snapshots that keep failing are. Checked against the simulator's
books and its REST request log."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire
from simbook import assert_books_match, eventually
from tickwire.sim import Simulator
from tickwire.sim.http import json_response

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0, "clock_sync": None}


def test_a_resync_whose_snapshots_keep_lagging_at_the_streaming_endpoint_asks_the_next_binance() -> None:
    """Two endpoints; the line streams from endpoint 0, whose REST host then answers every depth
    request with the same old snapshot, the book as it was before the gap (a replica or cache stuck
    behind; its WebSocket side is fine). A gap needs a snapshot: Binance's rule is to fetch another,
    and after 3 old ones in a row the resync asks endpoint 1 (update ids are the same everywhere),
    whose snapshot syncs the book, equal to the simulator's. Before, a snapshot too old counted as no
    failure of the endpoint: endpoint 0 was asked every 2 s for ever and the book stayed out of sync
    while endpoint 1 was fine (``not true within 6 s: ... depth requests at endpoint 1: []``)."""

    async def go() -> None:
        async with Simulator(["binance"], seed=7, rate=200, depth=25, endpoints={"binance": 2}) as sim:
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], **FAST
            ) as md:
                await eventually(lambda: md.is_synced("BTCUSDT"), what="first sync")
                assert md.lines[0].endpoint == 0
                ep0, ep1 = sim.endpoint("binance", 0), sim.endpoint("binance", 1)
                answer, lagged, stuck = ep0._answer, [], sim.book("binance", "BTCUSDT")

                async def depth_stuck(req: Any) -> Any:
                    r = await answer(req)
                    if req.path.endswith("/depth"):  # the book as it was before the gap, every time
                        lagged.append(stuck.update_id)
                        bids = [[str(p), str(q)] for p, q in stuck.bids]
                        asks = [[str(p), str(q)] for p, q in stuck.asks]
                        return json_response({"lastUpdateId": stuck.update_id, "bids": bids, "asks": asks})
                    return r

                ep0._answer = depth_stuck  # type: ignore[method-assign]
                ep0.gap("BTCUSDT")
                await eventually(lambda: not md.is_synced("BTCUSDT"), what="the gap seen")
                await eventually(
                    lambda: md.is_synced("BTCUSDT"), timeout=6,
                    what=lambda: f"resynced from endpoint 1; old snapshots from endpoint 0: {len(lagged)}, "
                    f"depth requests at endpoint 1: {[op for _, op, _, _ in ep1.exchanges if 'depth' in op]}",
                )  # fmt: skip
                assert md.lines[0].endpoint == 0  # the stream stayed where it was
                assert any("depth" in op for _, op, _, _ in ep1.exchanges)
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])

    asyncio.run(go())
