"""A market-data session under the faults of a review: a close while a reconnect's connect swallows
its cancel, a close during a connect (its connection-rate slot given back), an endpoint that stops
answering pings, a resubscribe on A/B lines one of which is stalled (each failed before its fix); and
cases that held, kept so they stay so: a REST resync landing across a reconnect, bad frames on one
A/B line, an HTX ``req`` cut, (un)subscribing during an outage, an ``on_book`` that raises, an
endpoint down at start. Books are checked against the simulator's own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from lost_cancel import swallowing
from simbook import Recorder, assert_books_match, eventually
from tickwire.recovery import backoff
from tickwire.recovery.backoff import Backoff
from tickwire.session import line as line_mod
from tickwire.sim import Simulator

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0, "clock_sync": None}


def run(coro: Any) -> None:
    asyncio.run(coro)


def test_a_close_while_a_line_reconnects_ends_even_if_the_connect_swallows_its_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python 3.11's ``asyncio.wait_for`` (under ``open_ws``) returns a connection that completed as
    its task was cancelled, losing the cancel. ``md.close()`` while the line reconnects then found no
    connection to cut, the line kept the new one and waited on it: the close never returned and the
    venue kept the socket (here the connect swallows the cancel every time). Now the close ends within
    two seconds and the venue sees no connection left (before: ``TimeoutError`` from the close)."""
    real = line_mod.open_ws
    connecting = asyncio.Event()

    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=50, depth=20) as sim:
            md = await tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], **FAST
            ).start()
            ep = sim.endpoint("binance")
            await assert_books_match(md, sim, "binance", ["BTCUSDT"])
            monkeypatch.setattr(line_mod, "open_ws", swallowing(real, connecting))
            ep.drop()
            await asyncio.wait_for(connecting.wait(), 5)
            await asyncio.wait_for(md.close(), 2)
            assert not any(ln.connected for ln in md.lines)
            await eventually(lambda: not ep.conns, what=lambda: f"the venue's sockets closed: {ep.conns}")

    run(go())


def test_a_close_during_a_connect_gives_back_its_connection_rate_slot_okx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OKX takes 3 connections a second per address (``connect_limit``), counted by one limiter the
    whole process shares; a connect holds its slot until it is over. Three sessions closed while their
    line's WebSocket upgrade was under way (a venue slow to answer, a bot giving up on a start) are
    three connects over: no slot is left held, and a new session syncs (before: the cancelled connects
    never gave their slots back — one more stamp held for good per close — and once three were held no
    session of the process could connect to that address again: ``RequestTimeoutError``)."""
    monkeypatch.setattr(backoff, "_LIMITERS", {})
    real, upgrades = line_mod.open_ws, []

    async def unanswered(*args: Any, **kw: Any) -> Any:
        upgrades.append(args[0])
        await asyncio.Event().wait()  # the venue never answers the upgrade

    async def go() -> None:
        async with Simulator(["okx"], seed=31, rate=50, depth=20) as sim:
            urls = sim.urls()["okx"]
            monkeypatch.setattr(line_mod, "open_ws", unanswered)
            for n in range(1, 4):
                md = await tickwire.connect("okx", ["BTC-USDT"], endpoints=urls, **FAST).start(wait=False)
                await eventually(lambda: len(upgrades) == n, what=f"connect {n} under way")  # noqa: B023
                await asyncio.wait_for(md.close(), 2)
            [limiter] = backoff._LIMITERS.values()
            held = sum(limiter._pending.values())
            assert held == 0, f"{held} connection slots held by connects that are over"
            monkeypatch.setattr(line_mod, "open_ws", real)
            async with tickwire.connect("okx", ["BTC-USDT"], endpoints=urls, **FAST) as md:
                await assert_books_match(md, sim, "okx", ["BTC-USDT"])

    run(go())


def test_an_endpoint_that_stops_answering_pings_is_failed_over_okx() -> None:
    """Endpoint 0 accepts connections but sends nothing, not even pongs; endpoint 1 is fine. The
    data-idle check is set long, so the heartbeat notices first: picows cuts each connection whose
    ping goes unanswered. Such a connection sent nothing, a failure of its endpoint as a stale one
    is, so the line moves to endpoint 1 and the book resyncs there. Before, a connection cut that way
    had lived past ``healthy_after`` (OKX's defaults: 20 s idle, 10 s for the pong, 5 s to count as
    healthy; scaled down here), so it cleared the endpoint's failures and the line went back to
    endpoint 0 again and again, the book out of sync for good (``not true within 8 s: failover``)."""

    async def go() -> None:
        async with Simulator(["okx"], seed=6, rate=200, depth=25, endpoints={"okx": 2}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], on_status=rec, stale_after=60,
                ping_interval=0.2, pong_timeout=0.2, healthy_after=0.1, **FAST,
            ) as md:  # fmt: skip
                assert md.lines[0].endpoint == 0
                sim.endpoint("okx", 0).stall()  # until unstall(): sockets open, nothing sent
                await eventually(
                    lambda: md.lines[0].connected and md.lines[0].endpoint == 1,
                    timeout=8,
                    what=lambda: (
                        f"failover; connects {md.lines[0].connects}, endpoint {md.lines[0].endpoint}"
                    ),
                )
                await assert_books_match(md, sim, "okx", ["BTC-USDT"])
                assert not rec.kinds("stale")  # the heartbeat found it, not the data-idle check

    run(go())


@pytest.mark.parametrize(
    ("venue", "path"), [("binance", "/api/v3/depth"), ("binance-usdm", "/fapi/v1/depth")]
)
def test_a_resync_whose_snapshot_lands_after_a_reconnect_aligns_with_the_new_connection(
    venue: str, path: str
) -> None:
    """A gap on BTCUSDT starts a REST resync; the venue takes the snapshot, and before its answer
    arrives the WebSocket is cut, the line reconnects and the market moves on (diffs of the new
    connection buffered, the ones in between never seen). The snapshot then lands: the book must not
    be built from it across the hole — it resyncs again or is proven — and both books end equal to
    the simulator's."""

    async def go() -> None:
        async with Simulator([venue], seed=21, rate=200, depth=25) as sim:
            rec = Recorder()
            syms = ["BTCUSDT", "ETHUSDT"]
            async with tickwire.connect(
                venue, syms, endpoints=sim.urls()[venue], on_status=rec, **FAST
            ) as md:  # fmt: skip
                await assert_books_match(md, sim, venue, syms)
                ep = sim.endpoint(venue)
                ws = next(iter(ep.conns))

                async def meanwhile() -> None:
                    ep.drop(ws)  # the WebSocket only: the REST answer is held, not lost
                    await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                    await asyncio.sleep(0.3)  # diffs of the new connection buffered

                ep.hold_answer(f"GET {path}", meanwhile)
                ep.gap("BTCUSDT")
                await eventually(lambda: md.lines[0].connects == 2, timeout=5, what="the reconnect")
                await eventually(lambda: not ep.holds and not ep.handling(), what="the held answer sent")
                await assert_books_match(md, sim, venue, syms)

    run(go())


def test_a_bad_checksum_on_one_ab_line_leaves_the_book_equal_to_the_venues_okx() -> None:
    """A/B lines on two endpoints; endpoint 0 sends a few of BTC-USDT's updates with a bad checksum,
    endpoint 1 sends them right. Whichever line's copy comes first, the book ends equal to the
    simulator's (resynced if the bad copy won) and the other symbol never leaves sync."""

    async def go() -> None:
        async with Simulator(["okx"], seed=23, rate=300, depth=25, endpoints={"okx": 2}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "okx", ["BTC-USDT", "ETH-USDT"], endpoints=sim.urls()["okx"], redundancy=2,
                on_status=rec, **FAST,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, "okx", ["BTC-USDT", "ETH-USDT"])
                for _ in range(4):
                    sim.endpoint("okx", 0).corrupt_checksum("BTC-USDT")
                    await asyncio.sleep(0.1)
                await eventually(lambda: not sim.endpoint("okx", 0).pending_faults(), what="faults sent")
                await asyncio.sleep(0.3)
                await assert_books_match(md, sim, "okx", ["BTC-USDT", "ETH-USDT"])
                assert rec.kinds("out_of_sync", "ETH-USDT") == []

    run(go())


def test_a_refused_frame_on_one_ab_line_leaves_the_book_equal_to_the_venues_binance() -> None:
    """A/B lines; endpoint 0 alone sends a depth diff numbered as the next update but with a level
    the book refuses (a negative quantity), then the market moves on. The refusal must not make the
    book take the next real update for a duplicate and keep serving without it: the book ends equal
    to the simulator's."""

    async def go() -> None:
        async with Simulator(["binance"], seed=24, rate=200, depth=25, endpoints={"binance": 2}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], redundancy=2, on_status=rec,
                **FAST,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])
                sim.pause()
                await asyncio.sleep(0.1)  # what was published has arrived
                nxt = sim.book("binance", "BTCUSDT").update_id + 1
                bad = (
                    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT",'
                    f'"U":{nxt},"u":{nxt},"b":[["1.00","-1"]],"a":[]}}}}'
                )
                for c in sim.endpoint("binance", 0).conns.values():
                    c.send_text(bad.encode())
                await eventually(lambda: md.health()["decode_errors"] >= 1, what="the refusal counted")
                sim.resume()
                await asyncio.sleep(0.3)
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])

    run(go())


def test_an_htx_req_whose_connection_is_cut_before_the_reply_resyncs_on_the_new_connection() -> None:
    """A gap on btcusdt sends a ``req`` refresh; the venue cuts the connection as it arrives (no
    reply). The line reconnects and the book is realigned on the new connection, well within the
    ``resync_timeout`` the lost reply would otherwise be waited for, equal to the simulator's."""

    async def go() -> None:
        async with Simulator(["htx"], seed=4, rate=300, depth=30) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "htx", ["btcusdt", "ethusdt"], endpoints=sim.urls()["htx"], on_status=rec, **FAST
            ) as md:  # fmt: skip
                await assert_books_match(md, sim, "htx", ["btcusdt", "ethusdt"], depth=20)
                v = sim.venue("htx")
                handle, cut = v.on_message, []

                def cut_on_req(conn: Any, data: bytes, binary: bool) -> None:
                    if not cut and b'"req"' in data:
                        cut.append(conn.id)
                        conn.abort()
                        return
                    handle(conn, data, binary)

                v.on_message = cut_on_req  # type: ignore[method-assign]
                sim.endpoint("htx").gap("btcusdt")
                await eventually(lambda: bool(cut), what="the req cut")
                await eventually(lambda: md.is_synced("btcusdt"), timeout=2.0, what="realigned")
                await assert_books_match(md, sim, "htx", ["btcusdt", "ethusdt"], depth=20)

    run(go())


OUTAGE_CASES = {
    # venue: (kept, added then dropped while down, depth compared)
    "binance": ("BTCUSDT", "ETHUSDT", None),
    "okx": ("BTC-USDT", "ETH-USDT", None),
    "bybit": ("BTCUSDT", "ETHUSDT", 50),  # orderbook.50: the top 50 levels
    "coinbase": ("BTC-USD", "ETH-USD", None),
    "htx": ("btcusdt", "ethusdt", 20),
}


@pytest.mark.parametrize("venue", sorted(OUTAGE_CASES))
def test_subscribe_and_unsubscribe_while_the_venue_is_down(venue: str) -> None:
    """The only endpoint goes down (connections cut and refused) with a resync under way, and a
    symbol is subscribed meanwhile; once it is back both books equal the simulator's. Down again,
    the symbol is unsubscribed: once back, the kept book equals the simulator's, the dropped one is
    empty and not subscribed at the venue."""
    kept, other, depth = OUTAGE_CASES[venue]

    async def outage(ep: Any, md: Any, change: Any) -> None:
        ep.gap(kept)
        await eventually(lambda: not ep.pending_faults(), what="the gap sent")
        await ep.down()
        await change
        await asyncio.sleep(0.3)
        await ep.up()

    async def go() -> None:
        async with Simulator([venue], seed=25, rate=200, depth=30) as sim:
            # Reconnects at most 0.2 s apart: the back-off two outages grow could otherwise outlast
            # the checks' 3 s on a loaded machine (the books are what is checked, not the back-off).
            policy = Backoff(base=0.05, cap=0.2)
            async with tickwire.connect(
                venue, [kept], endpoints=sim.urls()[venue], backoff=policy, **FAST
            ) as md:
                await assert_books_match(md, sim, venue, [kept], depth)
                ep = sim.endpoint(venue)
                await outage(ep, md, md.subscribe([other]))
                await assert_books_match(md, sim, venue, [kept, other], depth)
                await outage(ep, md, md.unsubscribe([other]))
                await assert_books_match(md, sim, venue, [kept], depth)
                assert md.book(other).state == "empty" and not md.is_synced(other)
                await asyncio.sleep(0.3)
                assert not [t for t in sim.venue(venue).live if other.lower() in t.lower()]
                assert md.book(other).state == "empty"

    run(go())


@pytest.mark.parametrize(
    ("venue", "symbol"), [("binance", "BTCUSDT"), ("okx", "BTC-USDT"), ("htx", "btcusdt")]
)
def test_an_on_book_that_always_raises_loses_no_resync(venue: str, symbol: str) -> None:
    """``on_book`` raises on every call, the events queue is read besides. A gap resyncs the book (a
    REST snapshot, a resubscribe, a ``req``) though the callback raises for the snapshot too; the
    book ends equal to the simulator's and the events queue still gets books and status events."""

    async def go() -> None:
        async with Simulator([venue], seed=26, rate=200, depth=30) as sim:
            rec = Recorder()
            calls: list[int] = []

            def bad(book: Any) -> None:
                calls.append(1)
                raise ValueError("a strategy bug")

            async with tickwire.connect(
                venue, [symbol], endpoints=sim.urls()[venue], on_status=rec, on_book=bad, **FAST
            ) as md:  # fmt: skip
                events = md.events(maxsize=8)
                await assert_books_match(md, sim, venue, [symbol], 20)
                synced = len(rec.kinds("synced", symbol))
                sim.endpoint(venue).gap(symbol)
                await eventually(lambda: bool(rec.kinds("out_of_sync", symbol)), what="gap seen")
                await eventually(lambda: len(rec.kinds("synced", symbol)) > synced, what="resynced")
                await assert_books_match(md, sim, venue, [symbol], 20)
                assert calls and md.lines[0].connects == 1
                kinds = set()
                while len(kinds) < 2:
                    kind, _ = await asyncio.wait_for(events.__anext__(), 2)
                    kinds.add(kind)

    run(go())


def test_a_resubscribe_goes_to_a_line_that_is_flowing_not_a_stalled_one_okx() -> None:
    """A/B lines; endpoint 0 stalls (its line still connected, sending nothing; the data-idle check
    set to 10 s), endpoint 1 flows. A bad checksum on BTC-USDT from endpoint 1 takes the book out of
    sync; its resubscribe must go where data still comes, so the book is back within a couple of
    seconds, equal to the simulator's (before: sent on the first connected line, the stalled one, and
    asked there again every ``resync_timeout`` until the line was cut as stale)."""

    async def go() -> None:
        async with Simulator(["okx"], seed=27, rate=200, depth=25, endpoints={"okx": 2}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "okx", ["BTC-USDT"], endpoints=sim.urls()["okx"], redundancy=2, on_status=rec,
                stale_after=10, **FAST,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, "okx", ["BTC-USDT"])
                stalled = md.lines[0].endpoint
                assert stalled is not None
                sim.endpoint("okx", stalled).stall()
                await asyncio.sleep(0.2)
                sim.endpoint("okx", 1 - stalled).corrupt_checksum("BTC-USDT")
                await eventually(lambda: bool(rec.kinds("out_of_sync", "BTC-USDT")), what="mismatch seen")
                await eventually(lambda: md.is_synced("BTC-USDT"), timeout=3, what="resynced")
                await assert_books_match(md, sim, "okx", ["BTC-USDT"])
                assert md.lines[0].connected and md.lines[0].endpoint == stalled  # not cut meanwhile

    run(go())


@pytest.mark.parametrize(
    ("venue", "symbol", "redundancy"), [("binance", "BTCUSDT", 1), ("okx", "BTC-USDT", 2)]
)
def test_an_endpoint_down_at_start_is_failed_over(venue: str, symbol: str, redundancy: int) -> None:
    """The first listed endpoint refuses connections (REST included) before the session starts: the
    session starts on the others within its ready timeout, books equal to the simulator's, its
    snapshots never asked of the dead endpoint."""

    async def go() -> None:
        async with Simulator([venue], seed=28, rate=200, depth=25, endpoints={venue: 3}) as sim:
            await sim.endpoint(venue, 0).down()
            async with tickwire.connect(
                venue, [symbol], endpoints=sim.urls()[venue], redundancy=redundancy, **FAST
            ) as md:  # fmt: skip
                await assert_books_match(md, sim, venue, [symbol])
                assert all(ln.endpoint != 0 for ln in md.lines if ln.connected)

    run(go())


def test_bbos_keep_coming_from_the_flowing_line_when_the_primary_stalls_binance() -> None:
    """A/B lines on two endpoints, channels book and BBO; the primary line's endpoint stalls (its
    line still connected: the data-idle check set to 10 s). A BBO, which nothing tells from its copy
    on the other line, goes out from one line only — now the one still flowing once the primary has
    been quiet a second while the other heard the venue: BBOs keep reaching ``on_bbo`` (before: none
    until the stalled line was cut, 10 s)."""

    async def go() -> None:
        async with Simulator(["binance"], seed=29, rate=200, depth=25, endpoints={"binance": 2}) as sim:
            bbos: list[Any] = []
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], redundancy=2,
                channels=["book", "bbo"], on_bbo=bbos.append, stale_after=10, **FAST,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await eventually(lambda: len(bbos) > 3, what="BBOs flowing")
                stalled = md.lines[0].endpoint
                assert stalled is not None
                sim.endpoint("binance", stalled).stall()
                await asyncio.sleep(0.2)
                before = len(bbos)
                await eventually(lambda: len(bbos) > before + 3, timeout=3, what="BBOs from the other line")
                assert md.lines[0].connected and md.lines[0].endpoint == stalled  # not cut meanwhile

    run(go())


def test_a_refused_bybit_book_frame_resyncs_the_book_its_topic_names() -> None:
    """Bybit's update ids only grow, so nothing the venue sends later shows an update lost. A delta
    whose text arrives mangled (a number that is no number) is refused; its topic names the book,
    which resyncs (a resubscribe, a new snapshot) and ends equal to the simulator's (before: the
    refusal named no book, and the book stayed "synced" without that update)."""

    async def go() -> None:
        async with Simulator(["bybit"], seed=5, rate=200, depth=25) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "bybit", ["BTCUSDT"], endpoints=sim.urls()["bybit"], on_status=rec, **FAST
            ) as md:
                await assert_books_match(md, sim, "bybit", ["BTCUSDT"])
                (conn,) = sim.endpoint("bybit", 0).conns.values()
                send = conn.send_text
                mangled: list[bytes] = []

                def mangle(data: bytes) -> None:
                    if not mangled and b'"orderbook.' in data and b'"delta"' in data:
                        sim.pause()  # nothing after it overwrites what it changed
                        mangled.append(data)
                        data = data.replace(b'"b":[["', b'"b":[["9x', 1).replace(b'"a":[["', b'"a":[["9x', 1)
                    send(data)

                conn.send_text = mangle  # type: ignore[method-assign]
                await eventually(lambda: md.health()["decode_errors"] >= 1, what="the refusal counted")
                await asyncio.sleep(0.3)
                assert md.counters["resyncs"] >= 1, md.counters
                await assert_books_match(md, sim, "bybit", ["BTCUSDT"])
                sim.resume()

    run(go())
