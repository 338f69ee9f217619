"""A quiet Binance book's continuity after a reconnect (``Resyncer.prove_continuity``) when the snapshot
asked for it comes back older than the book (a REST replica one update behind): checked against the
simulator's books."""

from __future__ import annotations

import asyncio
from typing import Any

from simbook import Recorder, assert_books_match, eventually, quiet_once_synced
from tickwire.sim import Simulator
from tickwire.sim.http import json_response

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0, "clock_sync": None}


def test_a_quiet_book_whose_continuity_snapshot_is_older_asks_again_binance() -> None:
    """A quiet symbol; the connection drops and comes back, and a second later the session asks a
    REST snapshot to prove the book. The first one comes back one update older than the book (a
    replica a little behind): it proves nothing. The resync must not end there, reporting "synced"
    while ``md.is_synced`` says no: it asks again and the book is proven, equal to the simulator's.
    Before, the resync ended at once on the book's state alone ("synced", continuity unproven) and
    the quiet book stayed unsynced until its next diff, however long."""

    async def go() -> None:
        async with Simulator(["binance"], seed=3, rate=0, depth=25) as sim:
            rec = Recorder()

            async with quiet_once_synced(sim, "binance", "BTCUSDT", on_status=rec, **FAST) as md:
                ep = sim.endpoint("binance")
                old = sim.book("binance", "BTCUSDT")
                sim.advance(1, "binance", "BTCUSDT")  # the book moves one update past ``old``
                await eventually(
                    lambda: md.book("BTCUSDT").stats()["diffs_applied"] > 0 and levels_moved(md, old),
                    what="the last update applied",
                )
                answer, behind = ep._answer, []

                async def first_depth_behind(req: Any) -> Any:
                    if req.path.endswith("/depth") and not behind:
                        behind.append(old.update_id)
                        bids = [[str(p), str(q)] for p, q in old.bids]
                        asks = [[str(p), str(q)] for p, q in old.asks]
                        return json_response({"lastUpdateId": old.update_id, "bids": bids, "asks": asks})
                    return await answer(req)

                ep._answer = first_depth_behind  # type: ignore[method-assign]
                synced = len(rec.kinds("synced", "BTCUSDT"))
                ep.drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                await eventually(lambda: bool(behind), timeout=3, what="the continuity snapshot asked")
                await eventually(
                    lambda: md.is_synced("BTCUSDT"), timeout=3,
                    what=lambda: f"proven again; health {md.health()['books']}, synced events "
                    f"{len(rec.kinds('synced', 'BTCUSDT')) - synced} since the drop",
                )  # fmt: skip
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])

    asyncio.run(go())


def levels_moved(md: Any, old: Any) -> bool:
    b = md.book("BTCUSDT")
    want = [(float(p), float(q)) for p, q in old.bids]
    return b.levels("bid", len(want)) != want or b.levels("ask", len(old.asks)) != [
        (float(p), float(q)) for p, q in old.asks
    ]
