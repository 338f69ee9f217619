"""Faults a market-data session recovers from by itself, each against the simulator: an endpoint
that accepts connections and sends nothing (failed over), a venue that stops a book's stream while
the connection answers pings (resubscribed), a resync that keeps failing (never given up), and a
REST resync's book called back like a frame's. Each failed on the code before 2026-12-05 (found by
a review)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from simbook import Recorder, assert_books_match, eventually, quiet_once_synced
from tickwire.sim import Simulator
from tickwire.sim.http import json_response

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0}
# The resyncer's longest pause between attempts (2 s), cut for the cases that sit out its 8 reported
# attempts and the next one: the count and the never-giving-up are what they prove, not the spacing.
SHORT_PAUSE_S = 0.4


def short_resync_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickwire.session import resync

    monkeypatch.setattr(resync, "MAX_PAUSE_S", SHORT_PAUSE_S)


def run(coro: Any) -> None:
    asyncio.run(coro)


def test_an_endpoint_that_accepts_connections_but_stays_silent_is_failed_over() -> None:
    """Endpoint 0 keeps accepting WebSocket upgrades but sends nothing (a stuck backend behind a
    healthy load balancer); endpoint 1 is fine. A connection killed as stale is a failure of its
    endpoint, so the line moves to endpoint 1. Before, every connect reset the endpoint's failure
    count and a drop counted soft: 0 was never penalised and the line kept going back to it."""

    async def go() -> None:
        async with Simulator(["okx"], seed=6, rate=200, depth=25, endpoints={"okx": 2}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], on_status=rec, stale_after=0.3, **FAST
            ) as md:
                assert md.lines[0].endpoint == 0
                sim.endpoint("okx", 0).stall()  # until unstall(): sockets open, nothing sent
                await eventually(
                    lambda: md.lines[0].connected and md.lines[0].endpoint == 1,
                    timeout=8,
                    what=lambda: (
                        f"failover to endpoint 1; connects {md.lines[0].connects}, "
                        f"stale {len(rec.kinds('stale'))}, endpoint {md.lines[0].endpoint}"
                    ),
                )
                await assert_books_match(md, sim, "okx", ["BTC-USDT"])

    run(go())


def test_the_only_symbol_going_silent_is_noticed_while_pongs_keep_the_connection_alive_okx() -> None:
    """The venue silently drops the session's only book subscription (as in
    ``test_symbol_that_stops_updating_is_resubscribed``, but with one symbol). The connection stays
    up: the client's idle pings are answered (OKX defaults: ping after 20 s idle, stale_after 30 s;
    scaled down here). Every book quiet while pongs still come: the symbol is resubscribed. Before,
    ``check_symbols`` left a whole quiet connection to the connection check, which counts the pongs
    as traffic: the frozen book kept saying synced while the venue's moved."""

    async def go() -> None:
        async with Simulator(["okx"], seed=10, rate=300, depth=25) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], on_status=rec,
                symbol_stale_after=0.3, stale_after=1.0, ping_interval=0.2, **FAST,
            ) as md:  # fmt: skip
                ep = sim.endpoint("okx")
                conn = next(iter(ep.conns.values()))
                topic = next(t for t in list(conn.topics) if "BTC-USDT" in t and "books" in t)
                ep.unsubscribe(conn, topic)
                await asyncio.sleep(2.0)  # > stale_after and symbol_stale_after
                await assert_books_match(md, sim, "okx", ["BTC-USDT"])

    run(go())


def test_a_quiet_book_whose_resync_gave_up_resyncs_once_rest_answers_again_binance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A gap on a quiet symbol, then the depth endpoint refuses (503) long enough for the resyncer's
    8 attempts (~7 s at its 2 s longest pause; ~2.4 s at the 0.4 s set here, then reported). The
    resync goes on every longest pause and the book is synced once REST answers. Before, it gave up
    after 8: only a next diff restarted one, and a quiet symbol sends none, so the book stayed out of
    sync for as long as the symbol was quiet."""
    short_resync_pauses(monkeypatch)

    async def go() -> None:
        async with Simulator(["binance"], seed=2, rate=0, depth=25) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], on_status=rec,
                clock_sync=None, **FAST,
            ) as md:  # fmt: skip
                ep = sim.endpoint("binance")
                answer, refusing = ep._answer, [True]

                async def depth_refused(req: Any) -> Any:
                    if req.path.endswith("/depth") and refusing[0]:
                        return json_response({"code": -1001, "msg": "internal error"}, 503)
                    return await answer(req)

                ep._answer = depth_refused  # type: ignore[method-assign]
                ep.gap("BTCUSDT")
                sim.advance(3, "binance", "BTCUSDT")  # the first diff lost, the second shows the gap
                await eventually(lambda: bool(rec.kinds("out_of_sync", "BTCUSDT")), what="gap seen")
                await eventually(
                    lambda: any("resync failing" in e.detail for e in rec.kinds("out_of_sync", "BTCUSDT")),
                    timeout=15,
                    what="the resync reported failing",
                )
                refusing[0] = False  # the venue's REST is back; the symbol stays quiet
                await eventually(
                    lambda: md.is_synced("BTCUSDT"), timeout=10,
                    what=lambda: f"resynced after REST recovered; health {md.health()['books']}",
                )  # fmt: skip
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])

    run(go())


def test_an_htx_book_whose_resync_gave_up_resyncs_again_while_the_venue_is_fine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTX rebuilds a book with a ``req`` on the socket. Its replies go missing for a while (8
    attempts; resync_timeout cut to 0.2 s and the longest pause between attempts to 0.4 s to keep
    the test short), then the venue answers again and keeps streaming the symbol: the resync, never
    given up, syncs the book. Before, it gave up after 8, and the book stayed out of sync for good:
    its diffs are "buffered", which restarts a resync only for REST-snapshot venues, and the healthy
    connection brought no reconnect either."""
    short_resync_pauses(monkeypatch)

    async def go() -> None:
        async with Simulator(["htx"], seed=4, rate=300, depth=30) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "htx", ["btcusdt"], endpoints=sim.urls()["htx"], on_status=rec, **FAST
            ) as md:
                md.resync_timeout = 0.2
                venue = sim.venue("htx")
                reply, dropping = venue._refresh_reply, [True]

                def maybe_reply(*args: Any) -> None:
                    if not dropping[0]:
                        reply(*args)

                venue._refresh_reply = maybe_reply  # type: ignore[method-assign]
                sim.endpoint("htx").gap("btcusdt")
                await eventually(
                    lambda: any("resync failing" in e.detail for e in rec.kinds("out_of_sync", "btcusdt")),
                    timeout=20,
                    what="the resync reported failing",
                )
                dropping[0] = False  # the venue answers again
                await eventually(
                    lambda: md.is_synced("btcusdt"), timeout=8,
                    what=lambda: f"resynced once the venue answers; health {md.health()['books']}, "
                    f"resyncs {md.health()['resyncs']}",
                )  # fmt: skip
                await assert_books_match(md, sim, "htx", ["btcusdt"], depth=20)
                assert md.lines[0].connects == 1

    run(go())


def test_a_late_reply_to_a_superseded_htx_req_does_not_roll_the_synced_book_back() -> None:
    """HTX rebuilds a book with a ``req`` on the socket. The first reply is slower than
    ``resync_timeout``: a second ``req`` is answered, the book syncs and moves on with the stream,
    and only then does the first reply arrive, carrying the book as it was when it was asked for.
    It is older than the book and is counted stale; the book still equals the simulator's. Before,
    it replaced the synced book with the older one (wrong until the next diff showed the gap)."""

    class Held:
        def __init__(self) -> None:
            self.frames: list[bytes] = []

        def send_binary(self, data: bytes) -> None:
            self.frames.append(bytes(data))

    async def go() -> None:
        async with Simulator(["htx"], seed=5, rate=0, depth=30) as sim:
            async with tickwire.connect("htx", ["btcusdt"], endpoints=sim.urls()["htx"], **FAST) as md:
                md.resync_timeout = 0.3
                await eventually(lambda: md.is_synced("btcusdt"), what="first sync")
                venue = sim.venue("htx")
                reply, held, late = venue._refresh_reply, Held(), []

                def hold_first(conn: Any, *args: Any) -> None:
                    if not late:
                        late.append(conn)
                        reply(held, *args)  # the reply as it is now, sent later
                    else:
                        reply(conn, *args)

                venue._refresh_reply = hold_first  # type: ignore[method-assign]
                sim.endpoint("htx").gap("btcusdt")
                sim.advance(2, "htx", "btcusdt")  # one lost, the next shows the gap
                await eventually(lambda: len(late) == 1 and md.is_synced("btcusdt"), timeout=8,
                                 what="resynced by the second req")  # fmt: skip
                sim.advance(4, "htx", "btcusdt")
                await assert_books_match(md, sim, "htx", ["btcusdt"], depth=20)
                book = md.book("btcusdt")
                read = lambda: book.stats()["stale"] + book.stats()["snapshots"]  # noqa: E731
                before = read()
                late[0].send_binary(held.frames[0])
                await eventually(lambda: read() > before, timeout=3, what="the late reply read")
                assert md.is_synced("btcusdt")
                await assert_books_match(md, sim, "htx", ["btcusdt"], depth=20)

    run(go())


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_a_quiet_binance_book_is_proven_by_a_snapshot_after_a_reconnect(venue: str) -> None:
    """After the connection drops, a synced book waits for a message on the new connection to show
    nothing was missed. A quiet symbol sends none: about a second later the session asks for a REST
    snapshot. At the book's own id it proves the book (synced again, levels untouched); when the
    symbol moved while the client was away, the newer snapshot replaces the book and it equals the
    simulator's. Before, such a book stayed "not synced" until its next diff, however long."""

    async def go() -> None:
        async with Simulator([venue], seed=3, rate=0, depth=25) as sim:
            rec = Recorder()

            async with quiet_once_synced(sim, venue, "BTCUSDT", on_status=rec, clock_sync=None, **FAST) as md:
                ep = sim.endpoint(venue)
                for moved, connects in ((0, 2), (3, 3)):
                    before = md.book("BTCUSDT").levels("bid", 100), md.book("BTCUSDT").stats()["snapshots"]
                    ep.drop()
                    sim.advance(moved, venue, "BTCUSDT")  # published to nobody
                    await eventually(lambda n=connects: md.lines[0].connects == n, what="reconnected")
                    assert not md.is_synced("BTCUSDT")  # nothing vouched for it yet
                    await eventually(lambda: md.is_synced("BTCUSDT"), timeout=5, what="proven again")
                    await assert_books_match(md, sim, venue, ["BTCUSDT"])
                    snapshots = md.book("BTCUSDT").stats()["snapshots"]
                    if moved:
                        assert snapshots == before[1] + 1
                    else:
                        assert (md.book("BTCUSDT").levels("bid", 100), snapshots) == before
                proofs = [e.detail for e in rec.kinds("resync", "BTCUSDT")]
                assert proofs.count("continuity after reconnect") == 2

    run(go())


def test_a_resync_whose_snapshots_keep_failing_at_the_streaming_endpoint_asks_the_next_binance() -> None:
    """Two endpoints; the line streams from endpoint 0, whose REST then answers every request 503
    (its WebSocket side fine). A gap needs a snapshot: after 3 failures in a row the resync asks
    endpoint 1 (Binance's update ids are the same everywhere) and the book equals the simulator's.
    Before, it asked endpoint 0 for ever and the book stayed out of sync."""

    async def go() -> None:
        async with Simulator(["binance"], seed=7, rate=200, depth=25, endpoints={"binance": 2}) as sim:
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], clock_sync=None, **FAST
            ) as md:
                await eventually(lambda: md.is_synced("BTCUSDT"), what="first sync")
                assert md.lines[0].endpoint == 0
                sim.endpoint("binance", 0).fail(10**6, status=503)
                sim.endpoint("binance", 0).gap("BTCUSDT")
                await eventually(lambda: not md.is_synced("BTCUSDT"), what="the gap seen")
                await eventually(lambda: md.is_synced("BTCUSDT"), timeout=8, what="resynced from endpoint 1")
                assert md.lines[0].endpoint == 0  # the stream stayed where it was
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])

    run(go())


def test_on_book_fires_when_a_rest_snapshot_resyncs_the_book_binance() -> None:
    """After a gap the book is rebuilt from a REST snapshot (its levels change, it is synced again)
    and ``on_book`` is called with it: the snapshot goes through the frame route
    (``Dispatcher.on_snapshot``). Before, the resyncer applied it to the feed directly and a strategy
    caching what ``on_book`` showed kept the pre-gap book until the next diff (never, on a quiet
    symbol)."""

    async def go() -> None:
        async with Simulator(["binance"], seed=2, rate=0, depth=25) as sim:
            rec = Recorder()
            seen: list[tuple[bool, Any]] = []
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], on_status=rec, clock_sync=None,
                on_book=lambda b: seen.append((b.is_synced, b.levels("bid", 100))), **FAST,
            ) as md:  # fmt: skip
                ep = sim.endpoint("binance")
                sim.advance(1, "binance", "BTCUSDT")
                await eventually(lambda: bool(seen), what="on_book for a diff")
                ep.gap("BTCUSDT")
                sim.advance(3, "binance", "BTCUSDT")  # one diff lost, the next shows the gap
                await eventually(lambda: bool(rec.kinds("synced", "BTCUSDT")), what="resynced")
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])
                await asyncio.sleep(0.2)
                now = md.book("BTCUSDT").levels("bid", 100)
                assert seen and seen[-1] == (True, now), (
                    f"{len(seen)} on_book calls; the last saw {seen[-1][1][:3] if seen else None}, "
                    f"the synced book is {now[:3]}"
                )

    run(go())
