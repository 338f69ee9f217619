"""``tickwire bench --venue-spin``: while a tick is in flight the bench venue polls instead of
sleeping — read back from the kernel's count of the time the venue process wanted a CPU (on one, or
runnable and waiting for one: on a machine shared with other work, here the suite's other process, a
poller may be kept off the CPU but never sleeps), against a client that answers every tick 2 ms late.
A resting venue is judged by its time on a CPU alone: each tick wakes it, and on a loaded machine the
wait for a CPU after a wake-up is the machine's, not the venue's (it once took a resting venue's
share to 0.502 of the time in flight while Rust was being built beside the suite)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from picows import WSFrame
from tickwire.bench import peers
from tickwire.bench.tick_order import _run, venue_process
from tickwire.bench.venue import SYMBOLS
from tickwire.loop import run
from tickwire.transport.http import HttpClient

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/stat")

TICKS, LATE_S = 100, 0.002


def _cpu_s(pid: int, waiting: bool) -> float:
    """The seconds ``pid``'s threads ran, and with ``waiting`` also were runnable waiting for a CPU
    (``/proc/<pid>/task/*/schedstat``: time on a CPU, time on a run queue) — the kernel's own count;
    CPU time alone (utime + stime) where schedstat is absent."""
    tasks = list(Path(f"/proc/{pid}/task").glob("*/schedstat"))
    if tasks:
        fields = 2 if waiting else 1
        return sum(sum(int(x) for x in t.read_text().split()[:fields]) for t in tasks) / 1e9
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


class _Late(peers.Floor):
    """The floor's fixed order, written ``LATE_S`` after each tick."""

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        write, order = self.http.write, self.order

        def on_text(frame: WSFrame) -> None:
            # Ticks only: an order for the subscription's answer would arrive during the first tick
            # and answer it early, and every later tick with the order of the one before.
            if b"depthUpdate" in frame.get_payload_as_bytes():
                loop.call_later(LATE_S, write, order)

        self.ws.disconnect()
        await self.connect(on_text)


def test_a_spinning_venue_burns_its_core_while_a_tick_is_in_flight_and_a_resting_one_does_not() -> None:
    with venue_process() as urls:

        async def body() -> dict[bool, tuple[float, float]]:
            c = _Late(SYMBOLS[0], urls)
            await c.start()
            http = HttpClient(urls["rest"])
            try:
                await _run(http, c.symbol, 10, 300)  # subscribed and answering
                got: dict[bool, tuple[float, float]] = {}
                for spin in (False, True, False, True):
                    before = _cpu_s(int(urls["pid"]), waiting=spin)
                    r = await _run(http, c.symbol, TICKS, 300, venue_spin=spin)
                    used = _cpu_s(int(urls["pid"]), waiting=spin) - before
                    assert all(ns > 0 for ns in r["ns"]), "every tick answered"
                    # The ticks' time in flight as the venue measured it (the loop's timer may fire
                    # the late answer up to a millisecond early: its clock is read once a turn).
                    in_flight = sum(r["ns"]) / 1e9
                    assert in_flight >= TICKS * LATE_S / 2
                    share = used / in_flight
                    # Each regime's least favourable repeat: polling's lowest share, resting's highest.
                    worst = (min if spin else max)(share, got[spin][0]) if spin in got else share
                    got[spin] = (worst, in_flight)
                return got
            finally:
                await http.close()
                await c.stop()

        cpu = run(body())
    # Polling: wanting a CPU for (nearly) every in-flight second; resting: on one a small fraction of them.
    assert cpu[True][0] >= 0.8, cpu
    assert cpu[False][0] <= 0.5, cpu
