"""A Binance resync whose REST snapshot lands while every line of the session is down: the ``synced``
status event and ``md.is_synced`` must agree (checked against the simulator's book once back)."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire
from simbook import Recorder, assert_books_match, eventually
from tickwire.sim import Simulator


def test_a_resync_snapshot_landing_with_every_line_down_is_not_reported_synced_binance() -> None:
    """A gap starts a resync by REST snapshot; before its answer is written the only line goes down
    (its WebSocket refused, REST still served). The snapshot lands on a book no stream continues: it
    cannot be in sync (``md.is_synced`` False). No ``synced`` status event may say otherwise; once the
    line is back the book is in sync and equals the simulator's."""

    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=200, depth=25) as sim:
            a = next(iter(sim.venue("binance").instruments))
            ep: Any = sim.endpoint("binance")
            said: list[bool] = []  # md.is_synced(a) at each "synced" event for a
            rec = Recorder()
            md_box: list[Any] = []

            def on_status(ev: Any) -> None:
                rec(ev)
                if ev.kind == "synced" and ev.symbol == a and md_box:
                    said.append(md_box[0].is_synced(a))

            async with tickwire.connect(
                "binance", [a], endpoints=sim.urls()["binance"], probe_interval=None, clock_sync=None,
                on_status=on_status,
            ) as md:  # fmt: skip
                md_box.append(md)
                await md.wait_synced(timeout=5.0)
                landed: list[bool] = []

                async def line_down_meanwhile() -> None:
                    ep.ws_server.close()  # new WebSockets refused; REST still served
                    ep.ws_server = None
                    for c in list(ep.conns.values()):
                        c.abort()
                    await eventually(lambda: not md.lines[0].connected, what="the line down")
                    landed.append(True)

                ep.hold_answer("GET /api/v3/depth", line_down_meanwhile)
                ep.gap(a)
                await eventually(lambda: bool(landed), timeout=5.0, what="the resync's snapshot asked")
                await asyncio.sleep(0.5)  # the snapshot applied, the resync judging it
                assert not md.lines[0].connected
                assert all(said), f"'synced' reported while md.is_synced was False: {said}; {rec.events}"
                before = len(said)
                await ep._listen_ws()  # the line comes back: the book is proven, and said to be
                await eventually(
                    lambda: len(said) > before, timeout=10.0, what=lambda: f"'synced' told: {md.health()}"
                )
                await assert_books_match(md, sim, "binance", [a])
                assert all(said), f"'synced' reported while md.is_synced was False: {said}"

    asyncio.run(go())
