"""A line renewed before the venue's connection lifetime ends it (``tickwire.session.renewal``), against
the simulator's Binance, which closes every connection ``lifetime`` after it opened (24 h; 3 s here,
the adapter's ``connection_lifetime_s`` alike): the successor is up before the old connection goes,
so the venue cuts none, the books never stop being confirmed, no snapshot is fetched again, and each
trade the simulator published is heard exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from simbook import Recorder, Trades, assert_books_match, eventually
from tickwire.audit import NullAudit
from tickwire.session import renewal
from tickwire.sim import Simulator
from tickwire.venues.binance.market import Adapter

LIFE_S = 2.0


class Seen(NullAudit):
    """The audit events' kinds, in order."""

    def __init__(self) -> None:
        self.kinds: list[str] = []

    def event(self, kind: str, /, **fields: Any) -> None:
        self.kinds.append(kind)


@pytest.mark.parametrize(("venue", "redundancy"), [("binance", 1), ("binance-usdm", 1), ("binance", 2)])
def test_lines_are_renewed_before_the_venue_cuts_them_and_nothing_is_lost_or_repeated(
    venue: str, redundancy: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Adapter, "connection_lifetime_s", LIFE_S)
    symbols = ["BTCUSDT", "ETHUSDT"] if venue == "binance" else ["BTCUSDT"]

    async def go() -> None:
        eps = {venue: redundancy}
        async with Simulator(
            [venue], seed=5, rate=300, depth=25, endpoints=eps, timeouts={"lifetime": LIFE_S}
        ) as sim:
            v = sim.venue(venue)
            trades = Trades(sim, venue, symbols)
            rec = Recorder()
            async with tickwire.connect(
                venue,
                symbols,
                channels=["book", "trades"],
                endpoints=sim.urls()[venue],
                redundancy=redundancy,
                on_status=rec,
                on_trade=trades.heard_one,
                probe_interval=None,
            ) as md:
                snapshots = sum(1 for e in sim.endpoint(venue, 0).exchanges if "depth" in e[1])
                unconfirmed = 0
                # Two lifetimes: every line renewed twice, its successor once.
                for _ in range(int(2.3 * LIFE_S / 0.01)):
                    unconfirmed += not md.is_synced()
                    await asyncio.sleep(0.01)
                # Before stop 44 the venue cut each line at its lifetime's end (2 per line here)
                # and, with no line left, the books went unconfirmed until a diff proved them.
                assert v.lifetime_cuts == 0, f"the venue cut {v.lifetime_cuts} connections"
                assert len(rec.kinds("renewed")) >= 2 * redundancy
                assert rec.kinds("out_of_sync") == [] and rec.kinds("disconnected") == []
                assert unconfirmed == 0
                assert len(md.lines) == redundancy and all(ln.connected for ln in md.lines)
                assert sum(1 for e in sim.endpoint(venue, 0).exchanges if "depth" in e[1]) == snapshots
                await assert_books_match(md, sim, venue, symbols)
                await trades.assert_each_heard_once()

    asyncio.run(go())


def test_a_successor_not_up_in_time_is_dropped_and_the_old_connection_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The successor given no time to come up: it is retired, nothing of it kept (the session's
    lines, tasks, audit say so), and the old connection goes on until the venue cuts it, reconnected
    as before."""
    monkeypatch.setattr(Adapter, "connection_lifetime_s", LIFE_S)
    monkeypatch.setattr(renewal, "SUCCESSOR_WAIT_S", 0.0)

    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=300, depth=25, timeouts={"lifetime": LIFE_S}) as sim:
            rec, audit = Recorder(), Seen()
            seen = audit.kinds
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], on_status=rec, audit=audit,
                probe_interval=None,
            ) as md:  # fmt: skip
                first = md.lines[0]
                await eventually(
                    lambda: "renewal_failed" in seen, timeout=2 * LIFE_S, what="a failed renewal"
                )
                assert md.lines == [first] and rec.kinds("renewed") == []
                await eventually(
                    lambda: sim.venue("binance").lifetime_cuts >= 1, timeout=LIFE_S, what="the cut"
                )
                await eventually(
                    lambda: first.connected and first.connects == 2, what="the old line reconnected"
                )
                assert md.lines == [first]
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])

    asyncio.run(go())
