"""``tickwire bench --venue-spin``: while a tick is in flight the bench venue polls instead of
sleeping — read back from the kernel's count of the venue process's CPU time, against a client that
answers every tick 2 ms late."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from picows import WSFrame
from tickwire.bench import peers
from tickwire.bench.tick_order import _run, venue_process
from tickwire.bench.venue import SYMBOLS
from tickwire.loop import run
from tickwire.transport.http import HttpClient

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/stat")

TICKS, LATE_S = 60, 0.002


def _cpu_s(pid: int) -> float:
    """utime + stime of ``pid``, seconds (the kernel's own count)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Late(peers.Floor):
    """The floor's fixed order, written ``LATE_S`` after each tick."""

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        write, order = self.http.write, self.order

        def on_text(frame: WSFrame) -> None:
            loop.call_later(LATE_S, write, order)

        self.ws.disconnect()
        await self.connect(on_text)


def test_a_spinning_venue_burns_its_core_while_a_tick_is_in_flight_and_a_resting_one_does_not() -> None:
    with venue_process() as urls:

        async def body() -> dict[bool, Any]:
            c = _Late(SYMBOLS[0], urls)
            await c.start()
            http = HttpClient(urls["rest"])
            try:
                await _run(http, c.symbol, 10, 300)  # subscribed and answering
                got: dict[bool, Any] = {}
                for spin in (False, True, False, True):
                    before = _cpu_s(int(urls["pid"]))
                    r = await _run(http, c.symbol, TICKS, 300, venue_spin=spin)
                    used = _cpu_s(int(urls["pid"])) - before
                    assert all(ns >= LATE_S * 1e9 for ns in r["ns"]), "every tick answered, late"
                    got[spin] = min(used, got.get(spin, used))
                return got
            finally:
                await http.close()
                await c.stop()

        cpu = run(body())
    in_flight = TICKS * LATE_S
    # Polling: busy for (nearly) every in-flight second; resting: a small fraction of it.
    assert cpu[True] >= 0.6 * in_flight, cpu
    assert cpu[False] <= 0.4 * in_flight, cpu
