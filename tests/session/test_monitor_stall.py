"""The session's upkeep (``tickwire.session.monitor``) when the process stalls (a busy CPU, a GC
pause, a long callback) while the venue keeps sending: a connection is judged silent once what
arrived meanwhile was read, so a stall alone cuts no healthy connection — on both loops
(``stalls``), the venue on a thread of its own, checked against what the simulator saw."""

from __future__ import annotations

import asyncio

import pytest
import tickwire
from simbook import Recorder, eventually
from stalls import LOOPS, read_stalls, run, sim_elsewhere
from tickwire.sim.ws import Conn

STALE_AFTER_S = 0.5
STALL_S = 0.7


@pytest.mark.parametrize("loop", LOOPS)
def test_a_stall_past_stale_after_while_frames_flow_does_not_cut_the_connection(loop: str) -> None:
    """The venue sends diffs 40 times a second throughout; the process stalls 0.7 s in a read callback
    (``stale_after`` 0.5 s), that time's frames waiting in the socket. The simulator still has the
    session's one connection, and was sent no new connection, subscription or snapshot request.
    Before, on uvloop (timers, and the tasks they wake, before the sockets' reads): the monitor's
    round ran first, read the line as silent for 0.7 s and cut it — a reconnect, a resubscription,
    a REST snapshot."""
    venue, sym = "binance", "BTCUSDT"

    async def go() -> None:
        async with sim_elsewhere([venue], seed=23, rate=40, depth=25) as there:
            sim = there.sim
            ep = sim.endpoint(venue, 0)
            ops: list[str] = []

            def recorded() -> None:
                read = ep.on_ws_message

                def on_ws_message(conn: Conn, data: bytes, binary: bool) -> None:
                    ops.append(sim.venue(venue).ws_operation(data) or "")
                    read(conn, data, binary)

                ep.on_ws_message = on_ws_message  # type: ignore[method-assign]

            await there.call(recorded)
            rec = Recorder()
            async with tickwire.connect(
                venue, [sym], endpoints=sim.urls()[venue], on_status=rec, stale_after=STALE_AFTER_S,
                probe_interval=None, clock_sync=None,
            ) as md:  # fmt: skip
                await eventually(lambda: md.book(sym).is_synced, what="the book synced")
                await asyncio.sleep(0.2)
                conns = await there.call(lambda: sorted(ep.conns))
                rest = await there.call(lambda: len(ep.exchanges))
                sent = len(ops)
                with read_stalls() as stall:
                    stall(STALL_S)
                    await asyncio.sleep(0.5)
                stale = [e.detail for e in rec.kinds("stale")]
                assert await there.call(lambda: sorted(ep.conns)) == conns, stale
                assert await there.call(lambda: [e[1] for e in list(ep.exchanges)[rest:]]) == [], stale
                assert ops[sent:] == [], (ops[sent:], stale)
                assert md.lines[0].connects == 1 and md.book(sym).is_synced

    run(go(), loop)
