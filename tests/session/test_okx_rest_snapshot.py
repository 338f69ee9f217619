"""OKX books without the in-stream snapshot, as OKX announced for its book channels ("Delist initial
snapshot and checksum field in order book channels", production early August 2026): the simulator's
profile ``{"book_snapshot": "rest"}`` sends a subscription only the updates, and its
``GET /api/v5/market/books`` answers with the stream's ``seqId``. The session keeps the updates,
takes the REST book and aligns them by OKX's procedure; its gaps resync so. With the snapshot in the
stream nothing changes: no REST book is asked. The simulator's own books are the truth."""

from __future__ import annotations

import asyncio

import tickwire
from simbook import assert_books_match, eventually
from tickwire.sim import Simulator

SYMBOLS = ["BTC-USDT", "ETH-USDT"]
BOOKS = "/api/v5/market/books"


def rest_books(sim: Simulator) -> int:
    """``GET /api/v5/market/books`` requests the simulated OKX answered."""
    return sum(1 for ep in sim.venue("okx").endpoints for e in ep.exchanges if e[1] == f"GET {BOOKS}")


def test_books_without_the_in_stream_snapshot_sync_from_rest_and_a_gap_resyncs_from_rest() -> None:
    """Before: no book ever synced (the updates were dropped waiting for a snapshot that never
    came): ``RequestTimeoutError: okx: books not in sync after 10.0 s: ['BTC-USDT', 'ETH-USDT']``."""

    async def go() -> None:
        profiles = {"okx": {"book_snapshot": "rest"}}
        async with Simulator(["okx"], seed=11, rate=300, depth=60, profiles=profiles) as sim:
            async with tickwire.connect("okx", SYMBOLS, endpoints=sim.urls()["okx"], clock_sync=None) as md:
                await asyncio.sleep(0.5)  # ~150 updates on each book since its REST snapshot
                await assert_books_match(md, sim, "okx", SYMBOLS)
                fetched = rest_books(sim)
                assert fetched >= len(SYMBOLS), fetched
                stats = md.book("BTC-USDT").stats()
                # Every update's checksum (the simulator's top 25) held against the REST-built book.
                assert stats["checksum_fail"] == 0 and stats["checksum_ok"] > 0, stats
                assert stats["diffs_applied"] > 0, stats
                # A lost update: the next one is a gap, and the book resyncs from REST again (not by
                # resubscribing: the stream would send it no snapshot).
                sim.endpoint("okx", md.lines[0].endpoint or 0).gap("BTC-USDT")
                await eventually(lambda: md.counters["gaps"] >= 1, what=lambda: f"the gap seen {md.health()}")
                await assert_books_match(md, sim, "okx", SYMBOLS)
                assert rest_books(sim) > fetched
                assert md.book("BTC-USDT").stats()["resyncs"] >= 1

    asyncio.run(go())


def test_with_the_snapshot_in_the_stream_no_rest_book_is_asked() -> None:
    """The snapshot still comes (OKX today): books sync on it and a gap resubscribes, as before;
    the REST book is never asked. (Fails if the session asks REST where the stream brings the
    snapshot: ``assert 2 == 0``.)"""

    async def go() -> None:
        async with Simulator(["okx"], seed=12, rate=300, depth=60) as sim:
            async with tickwire.connect("okx", SYMBOLS, endpoints=sim.urls()["okx"], clock_sync=None) as md:
                await asyncio.sleep(0.3)
                await assert_books_match(md, sim, "okx", SYMBOLS)
                sim.endpoint("okx", md.lines[0].endpoint or 0).gap("ETH-USDT")
                await eventually(lambda: md.counters["gaps"] >= 1, what=lambda: f"the gap seen {md.health()}")
                await assert_books_match(md, sim, "okx", SYMBOLS)
                assert md.book("ETH-USDT").stats()["buffered"] == 0
                assert rest_books(sim) == 0

    asyncio.run(go())


def test_a_book_whose_resubscription_brings_no_snapshot_turns_to_rest_at_once() -> None:
    """OKX stops sending the snapshot while the session runs (its switch in production): a gap
    resubscribes the book, as before, and the venue's first message after confirming the
    subscription is an update. The resync stops waiting for a snapshot that will not come and takes
    the REST book within well under ``resync_timeout`` (5 s); the book equals the simulator's.
    (Fails if the resubscription's answer goes unnoticed: the book waits out whole resync attempts.)"""

    async def go() -> None:
        async with Simulator(["okx"], seed=13, rate=300, depth=60) as sim:
            async with tickwire.connect("okx", SYMBOLS, endpoints=sim.urls()["okx"], clock_sync=None) as md:
                await assert_books_match(md, sim, "okx", SYMBOLS)
                assert rest_books(sim) == 0
                sim.venue("okx").pushes_snapshot = False  # type: ignore[attr-defined]
                sim.endpoint("okx", md.lines[0].endpoint or 0).gap("BTC-USDT")
                await eventually(lambda: md.counters["gaps"] >= 1, what=lambda: f"the gap seen {md.health()}")
                # One resync attempt waits resync_timeout (5 s) for its sync: this is well before.
                await eventually(lambda: md.is_synced("BTC-USDT"), timeout=2.0, what=lambda: md.health())
                await assert_books_match(md, sim, "okx", SYMBOLS)
                assert rest_books(sim) >= 1

    asyncio.run(go())


def test_ab_lines_a_reconnect_of_one_line_leaves_the_books_in_stream() -> None:
    """A/B lines on two endpoints, the snapshot in the stream (OKX today). Line B reconnects and
    resubscribes: OKX confirms it and pushes B a snapshot, which the arbiter drops as a copy of what
    line A brought, while A's updates go on continuing the book. A later gap (on both lines)
    resubscribes, as before: no REST book is ever asked. (Before the fix the confirmation of B's
    subscription armed the book's "first message" test and A's next update answered it: the book
    took its snapshots from REST from then on: ``assert 1 == 0`` on the REST count.)"""

    async def go() -> None:
        async with Simulator(["okx"], seed=14, rate=300, depth=60, endpoints={"okx": 2}) as sim:
            async with tickwire.connect(
                "okx", SYMBOLS, endpoints=sim.urls()["okx"], redundancy=2, clock_sync=None,
                probe_interval=None,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, "okx", SYMBOLS)
                b = next(ln for ln in md.lines if ln.endpoint == 1)
                was = b.connects
                assert sim.endpoint("okx", 1).drop() >= 1
                await eventually(lambda: b.connected and b.connects > was, what="line B back")
                await asyncio.sleep(0.3)  # B's subscription confirmed, its snapshot come, A's updates on
                await assert_books_match(md, sim, "okx", SYMBOLS)
                gaps = md.counters["gaps"]
                for ep in (0, 1):
                    sim.endpoint("okx", ep).gap("BTC-USDT")
                await eventually(lambda: md.counters["gaps"] > gaps, what=lambda: f"gap seen {md.health()}")
                await assert_books_match(md, sim, "okx", SYMBOLS)
                assert rest_books(sim) == 0

    asyncio.run(go())
