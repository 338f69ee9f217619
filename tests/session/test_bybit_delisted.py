"""Bybit market data with a symbol the venue delists mid-session. The simulator cannot delist; the
stand-in: its subscribe handler no longer knows the symbol's topics (as Bybit's does not once a
symbol is gone: "handler not found", the whole message refused)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from simbook import Recorder, assert_books_match, eventually
from tickwire.errors import VenueError
from tickwire.sim import Simulator


def test_a_symbol_delisted_mid_session_is_dropped_at_the_reconnect_and_the_other_book_syncs_bybit() -> None:
    """Both books in sync, then the venue delists one and the connection drops. The reconnect's
    subscribe message names both and is refused whole for the delisted one: that one is dropped (a
    status naming it, ``wait_synced`` raising the refusal), the other is asked again alone and equals
    the simulator's book (before: the delisted book, synced before the reconnect, was not taken for
    refused — a ``venue_error`` naming no symbol — and the other book stayed out of sync for good)."""

    async def go() -> None:
        async with Simulator(["bybit"], seed=16, rate=300, depth=20) as sim:
            a, b = list(sim.venue("bybit").instruments)[:2]
            venue: Any = sim.venue("bybit")
            known = venue._topic
            rec = Recorder()
            async with tickwire.connect(
                "bybit", [a, b], endpoints=sim.urls()["bybit"], probe_interval=None, clock_sync=None,
                on_status=rec,
            ) as md:  # fmt: skip
                await md.wait_synced(timeout=5.0)
                venue._topic = lambda t: None if t.endswith(f".{b}") else known(t)  # b delisted
                sim.endpoint("bybit").drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                await eventually(
                    lambda: md.is_synced(a), timeout=10.0, what=lambda: f"{a} in sync: {md.health()}"
                )
                assert md.symbols() == [a] and md.is_synced(), md.health()
                assert rec.kinds("venue_error", b), rec.events
                with pytest.raises(VenueError, match=b):
                    await md.wait_synced(timeout=2.0, symbols=[b])
                await assert_books_match(md, sim, "bybit", [a], depth=20)

    asyncio.run(go())
