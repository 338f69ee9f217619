"""Redundant A/B lines: the same streams over two endpoints, arbitrated by the venue's sequence
numbers. Killing lines and punching holes in one line's stream must never take a book out of sync."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import tickwire
from simbook import Recorder, Trades, assert_books_match, eventually
from stalls import LOOPS, run
from tickwire.sim import Simulator


@pytest.mark.parametrize(
    "venue,symbols",
    [
        ("binance", ["BTCUSDT", "ETHUSDT"]),
        ("okx", ["BTC-USDT"]),
        ("binance-usdm", ["BTCUSDT"]),
        ("tradefence", ["AAPL"]),
    ],
)
def test_killing_one_line_repeatedly_never_desyncs(venue: str, symbols: list[str]) -> None:
    """Also every trade the simulator published while the session ran is delivered exactly once, in
    order, by whichever line brought it first (before 2026-12-06: only the primary line's trades, only
    the last of each frame, and a failover repeated the new primary's backlog)."""

    async def go() -> None:
        async with Simulator([venue], seed=21, rate=400, depth=25, endpoints={venue: 2}) as sim:
            rec = Recorder()
            trades = Trades(sim, venue, symbols)
            async with tickwire.connect(
                venue,
                symbols,
                channels=["book", "trades"],
                endpoints=sim.urls()[venue],
                redundancy=2,
                on_status=rec,
                on_trade=trades.heard_one,
                probe_interval=None,
            ) as md:
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                assert {ln.endpoint for ln in md.lines} == {0, 1}  # spread over endpoints
                for i in range(6):
                    ep = sim.endpoint(venue, i % 2)
                    other = md.lines[0] if md.lines[0].endpoint != i % 2 else md.lines[1]
                    assert other.connected
                    ep.drop()
                    await asyncio.sleep(0.15)
                    await eventually(lambda: all(ln.connected for ln in md.lines), what="line replaced")
                await assert_books_match(md, sim, venue, symbols)
                assert rec.kinds("out_of_sync") == []
                assert md.health()["arbiter"]["duplicates"] > 0
                await trades.assert_each_heard_once()
                assert md.health()["arbiter"]["duplicate_trades"] > 0

    asyncio.run(go())


@pytest.mark.parametrize(
    "venue,symbol", [("binance", "BTCUSDT"), ("okx", "BTC-USDT"), ("tradefence", "AAPL")]
)
def test_a_gap_on_one_line_is_filled_from_the_other_without_resync(venue: str, symbol: str) -> None:
    async def go() -> None:
        async with Simulator([venue], seed=22, rate=300, depth=25, endpoints={venue: 2}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                venue,
                [symbol],
                endpoints=sim.urls()[venue],
                redundancy=2,
                on_status=rec,
                probe_interval=None,
            ) as md:
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                resyncs = md.health()["resyncs"]
                for _ in range(5):
                    sim.endpoint(venue, 0).gap(symbol)
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.2)
                assert rec.kinds("out_of_sync") == []
                assert md.health()["resyncs"] == resyncs
                await assert_books_match(md, sim, venue, [symbol])

    asyncio.run(go())


def test_redundancy_refused_where_sequences_are_per_connection() -> None:
    with pytest.raises(ValueError, match="redundant"):
        tickwire.connect("coinbase", ["BTC-USD"], redundancy=2)


def test_a_trade_is_delivered_once_when_the_line_that_brought_it_fails_over_binance() -> None:
    """Two lines; the primary brings trade 777 and ``on_trade`` gets it. The primary is cut (and not
    let back) before the other line, lagging, brings its own copy of 777: that copy is the same trade
    and must not be delivered again. Before 2026-12-06: it was, twice in all — the other line became
    the primary, and its backlog repeated what the first already delivered."""

    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=0, depth=20, endpoints={"binance": 2}) as sim:
            trades: list[tickwire.Trade] = []
            async with tickwire.connect(
                "binance", ["BTCUSDT"], channels=["book", "trades"], endpoints=sim.urls()["binance"],
                redundancy=2, on_trade=trades.append, probe_interval=None, clock_sync=None,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                primary, other = md.lines  # the first connected line is the one whose trades go out
                assert primary.endpoint is not None and other.endpoint is not None
                first = sim.endpoint("binance", primary.endpoint)
                lagging = sim.endpoint("binance", other.endpoint)
                trade = (
                    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":777,'
                    b'"p":"60000.00","q":"0.5","T":1,"m":true,"M":true}}'
                )
                for c in first.conns.values():
                    c.send_text(trade)
                await eventually(lambda: len(trades) == 1, what="the primary's copy delivered")
                venue = sim.venue("binance")
                venue.accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
                for c in list(first.conns.values()):
                    c.abort()
                await eventually(lambda: not primary.connected, what="the primary line down")
                for c in lagging.conns.values():
                    c.send_text(trade)  # the lagging line's copy
                await asyncio.sleep(0.3)
                assert len(trades) == 1, trades

    asyncio.run(go())


def test_a_trade_one_line_missed_is_delivered_from_the_other_binance() -> None:
    """Two lines; the primary brings trades 776 and 778 but missed 777 (lost while it reconnected,
    say); the other line, lagging, brings 776, 777 and 778. Each of the three trades the venue made is
    delivered once: 777 from the line that had it. Before: the feed dropped every trade whose id was
    not above the newest passed, so 777 was taken for a copy and lost."""

    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=0, depth=20, endpoints={"binance": 2}) as sim:
            heard: list[int | None] = []
            async with tickwire.connect(
                "binance", ["BTCUSDT"], channels=["book", "trades"], endpoints=sim.urls()["binance"],
                redundancy=2, on_trade=lambda t: heard.append(t.trade_id), probe_interval=None,
                clock_sync=None,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                primary, other = md.lines
                assert primary.endpoint is not None and other.endpoint is not None

                def trade(n: int) -> bytes:
                    return (
                        b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":%d,'
                        b'"p":"60000.00","q":"0.5","T":1,"m":true,"M":true}}' % n
                    )

                def send(endpoint: int, *ids: int) -> None:
                    for c in sim.endpoint("binance", endpoint).conns.values():
                        for n in ids:
                            c.send_text(trade(n))

                send(primary.endpoint, 776, 778)
                await eventually(lambda: heard == [776, 778], what="the primary's trades delivered")
                send(other.endpoint, 776, 777, 778)
                only_other = lambda: f"777, which only the other line had (heard {heard})"  # noqa: E731
                await eventually(lambda: 777 in heard, what=only_other)
                await asyncio.sleep(0.2)
                assert sorted(heard) == [776, 777, 778], heard
                assert md.health()["arbiter"]["duplicate_trades"] == 2

    asyncio.run(go())


def _send_trades(sim: Simulator, endpoint: int, *ids: int) -> None:
    """Binance ``@trade`` frames with trade ids ``ids`` on every connection of simulator endpoint
    ``endpoint`` (a line's), as the venue writes them."""
    for c in sim.endpoint("binance", endpoint).conns.values():
        for n in ids:
            c.send_text(
                b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":%d,'
                b'"p":"60000.00","q":"0.5","T":1,"m":true,"M":true}}' % n
            )


def _trading_pair(sim: Simulator, heard: list[int | None], hold_s: float) -> Any:
    """A/B lines on Binance BTCUSDT books and trades, each trade's id appended to ``heard``."""
    return tickwire.connect(
        "binance", ["BTCUSDT"], channels=["book", "trades"], endpoints=sim.urls()["binance"],
        redundancy=2, on_trade=lambda t: heard.append(t.trade_id), probe_interval=None,
        clock_sync=None, hold_s=hold_s,
    )  # fmt: skip


PairCase = Callable[[Simulator, Any, list[int | None]], Awaitable[None]]


def _run_pair(hold_s: float, body: PairCase) -> list[int | None]:
    """``body(sim, md, heard)`` once both lines of ``_trading_pair`` are up; the trade ids heard,
    the session closed."""
    heard: list[int | None] = []

    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=0, depth=20, endpoints={"binance": 2}) as sim:
            async with _trading_pair(sim, heard, hold_s) as md:
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await body(sim, md, heard)

    asyncio.run(go())
    return heard


async def _primary_brings(sim: Simulator, md: Any, *ids: int) -> None:
    """Trades ``ids`` on the primary line, read off it."""
    primary = md.lines[0]
    frames = primary.frames
    _send_trades(sim, primary.endpoint, *ids)
    await eventually(lambda: primary.frames >= frames + len(ids), what="the primary's trades read")


def test_a_trade_one_line_brings_ahead_waits_for_the_one_the_other_line_brings_binance() -> None:
    """Two lines; the primary brings trades 776 and 778 but missed 777; the other line, behind it,
    brings 776, 777 and 778 before ``hold_s`` ran out. Binance numbers each symbol's trades one by
    one, so 778 waits for 777 and the three go out in the order the venue made them. Before: 778 went
    out first and 777 after it (each once), a tape's time going backwards."""

    async def body(sim: Simulator, md: Any, heard: list[int | None]) -> None:
        await _primary_brings(sim, md, 776, 778)
        _send_trades(sim, md.lines[1].endpoint, 776, 777, 778)
        await eventually(lambda: len(heard) >= 3, what="three trades heard")
        await asyncio.sleep(0.1)
        assert heard == [776, 777, 778], heard
        assert md.health()["arbiter"]["duplicate_trades"] == 2

    _run_pair(1.0, body)


def test_a_trade_held_when_the_session_closes_is_delivered_not_dropped_binance() -> None:
    """Two lines; the primary brings trades 776 and 778 (it missed 777), so 778 waits ``hold_s`` for
    the other line, which brings nothing before the session is closed. Every trade a line read reaches
    ``on_trade`` (a gateway publishes it, a recorder keeps it): 778 goes out at the close, without 777.
    Before, the close dropped it with the feed — read off the wire, never delivered."""

    async def body(sim: Simulator, md: Any, heard: list[int | None]) -> None:
        await _primary_brings(sim, md, 776, 778)
        assert heard == [776] and md.health()["arbiter"]["held_trades"] == 1, (heard, md.health())

    assert _run_pair(60.0, body) == [776, 778]


def test_after_every_line_went_down_the_first_trades_heard_wait_for_none_made_meanwhile_binance() -> None:
    """Two lines; the primary brings 776, then 778, which waits for 777. Both lines are cut and
    reconnect: trades made meanwhile no line brings, so the first one heard after (900) goes out at
    once, behind 778 (777 given up), and ordering holds again from there. Before, 900 waited its
    whole ``hold_s`` (60 s here) for 779-899: ``not true within 5.0 s: 900 at once (heard [776])``."""

    async def body(sim: Simulator, md: Any, heard: list[int | None]) -> None:
        await _primary_brings(sim, md, 776, 778)
        assert heard == [776], heard
        for ln in md.lines:
            for c in list(sim.endpoint("binance", ln.endpoint).conns.values()):
                c.abort()
        await eventually(lambda: all(ln.connects >= 2 and ln.connected for ln in md.lines), what="back")
        _send_trades(sim, md.lines[0].endpoint, 900)
        await eventually(lambda: heard == [776, 778, 900], timeout=5.0, what=lambda: f"900 at once ({heard})")
        _send_trades(sim, md.lines[0].endpoint, 902, 901)
        await eventually(lambda: len(heard) == 5, what="901 and 902")
        assert heard == [776, 778, 900, 901, 902], heard

    _run_pair(60.0, body)


def test_trades_subscribed_again_wait_for_none_made_while_unsubscribed_binance() -> None:
    """Two lines; trade 776 heard; the trades are unsubscribed, then subscribed again: the first one
    heard after (900) goes out at once. Before, it waited its whole ``hold_s`` for 777-899."""

    async def body(sim: Simulator, md: Any, heard: list[int | None]) -> None:
        await _primary_brings(sim, md, 776)
        assert heard == [776], heard
        await md.unsubscribe(["BTCUSDT"], channels=["trades"])
        await md.subscribe(["BTCUSDT"], channels=["trades"])
        await asyncio.sleep(0.2)  # the subscription's answer
        _send_trades(sim, md.lines[0].endpoint, 900)
        await eventually(lambda: heard == [776, 900], timeout=5.0, what=lambda: f"900 at once ({heard})")

    _run_pair(60.0, body)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_stall_while_a_hole_is_held_does_not_release_it_before_the_other_line_fills_it(loop: str) -> None:
    """A/B lines; line A skipped diff k, so its k+1 is held for B, which is behind. The process then
    stalls (a busy CPU, a long callback) past ``hold_s`` while A's k+2 and B's k, k+1, k+2 wait in
    their sockets. Read after the stall, A's k+2 (stamped after the hold ran out) comes first. Before:
    it released k+1 as a gap at once, B's k read next in the same turn too late — ``out_of_sync``, a
    REST resync. Now the release waits for the loop's next turn, after every socket was read."""
    venue, sym = "binance", "BTCUSDT"

    async def go() -> None:
        async with Simulator([venue], seed=23, rate=0, depth=25, endpoints={venue: 2}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                venue, [sym], endpoints=sim.urls()[venue], redundancy=2, on_status=rec,
                probe_interval=None, clock_sync=None,
            ) as md:  # fmt: skip
                await eventually(lambda: all(ln.connected for ln in md.lines), what="both lines up")
                await assert_books_match(md, sim, venue, [sym])
                a, b = sim.endpoint(venue, 0), sim.endpoint(venue, 1)
                (b_conn,) = b.conns.values()
                behind: list[bytes] = []
                b_conn.send_text = behind.append  # type: ignore[method-assign]
                resyncs = md.health()["resyncs"]
                a.gap(sym)
                sim.advance(2, venue, sym)  # A: k+1 (k skipped); B: held back
                await eventually(lambda: md.health()["arbiter"]["held"] == 1, what="A's k+1 held")
                sim.advance(1, venue, sym)
                for c in a.conns.values():
                    c.flush()  # A's k+2 in its socket first
                del b_conn.send_text
                for data in behind:
                    b_conn.send_text(data)
                b_conn.flush()  # then B's k, k+1, k+2
                time.sleep(0.15)  # the stall: three times hold_s
                await asyncio.sleep(0.3)
                assert rec.kinds("out_of_sync") == [], [e.detail for e in rec.kinds("out_of_sync")]
                assert md.health()["resyncs"] == resyncs
                assert md.health()["arbiter"]["filled_from_other_line"] >= 1
                await assert_books_match(md, sim, venue, [sym])

    run(go(), loop)
