"""Symbols added and dropped on a running session: the requests go out at the venue's pace, and the
other books are never disturbed."""

from __future__ import annotations

import asyncio

import pytest
import tickwire
from simbook import Recorder, Trades, assert_books_match, eventually, quiet
from tickwire.errors import VenueError
from tickwire.sim import Simulator


def test_a_burst_of_subscribe_and_unsubscribe_keeps_to_binance_five_messages_a_second() -> None:
    """Binance cuts a connection that sends more than 5 messages in a second (venues.md §1.4, the
    simulator too). A strategy that adds and drops a symbol a few times in a row makes one
    (un)subscribe message per call: they go out paced, so the connection is kept, the other books
    are not resynced, and every book ends equal to the simulator's (before: the sixth message within
    the second cut the connection, and every book went through a reconnect)."""

    async def go() -> None:
        async with Simulator(["binance"], seed=61, rate=200, depth=20) as sim:
            a, b, c = list(sim.venue("binance").instruments)[:3]
            rec = Recorder()
            async with tickwire.connect(
                "binance", [a, b], endpoints=sim.urls()["binance"], probe_interval=None, on_status=rec
            ) as md:
                resyncs, seen = md.counters["resyncs"], len(rec.events)
                conn = next(iter(sim.endpoint("binance").conns.values()))
                for _ in range(3):
                    await md.subscribe([c])
                    await md.unsubscribe([c])
                await md.subscribe([c])
                want = sorted(s.lower() for s in (a, b, c))
                books = lambda: sorted(t.split("@")[0] for t in conn.topics if "@depth" in t)  # noqa: E731
                cut = lambda: md.counters["reconnects"] > 0  # noqa: E731
                await eventually(lambda: cut() or books() == want, what=lambda: f"{books()}, not {want}")
                assert not cut(), rec.kinds("disconnected")
                await eventually(lambda: md.lines[0].queued == 0, what="every request sent")
                await eventually(lambda: books() == want, what=lambda: f"{books()} subscribed, not {want}")
                await asyncio.sleep(0.3)  # the venue's next diffs after its last (un)subscribe
                await eventually(lambda: md.is_synced(c), what=f"{c} in sync")
                assert md.lines[0].connects == 1 and list(sim.endpoint("binance").conns.values()) == [conn]
                later = [e for e in rec.events[seen:] if e.symbol in (a, b) or e.kind == "disconnected"]
                assert not later, later
                assert md.counters["resyncs"] > resyncs  # c's own snapshots only
                await assert_books_match(md, sim, "binance", [a, b, c])

    asyncio.run(go())


@pytest.mark.parametrize(
    ("venue", "bad"),
    [("okx", "NOPE-USDT"), ("bybit", "NOPEUSDT"), ("kraken", "NOPE/USD"), ("htx", "nopeusdt")],
)
def test_a_symbol_the_venue_refuses_raises_venue_error_and_leaves_the_session_in_sync(
    venue: str, bad: str
) -> None:
    """A symbol the venue does not list, added at runtime: the venue refuses the subscription (OKX
    60018, Bybit "handler not found", Kraken "Currency pair not supported", HTX "invalid topic").
    ``wait_synced`` on it raises that refusal as a ``VenueError`` (not a time-out), the symbol is
    dropped from the session — ``md.is_synced()`` holds again and no reconnect asks for it anew —
    and the other book is untouched, equal to the simulator's (before: a bare ``venue_error``
    status, and ``md.is_synced()`` False for good while the refused name stayed subscribed)."""

    async def go() -> None:
        async with Simulator([venue], seed=62, rate=200, depth=20) as sim:
            a = next(iter(sim.venue(venue).instruments))
            rec = Recorder()
            async with tickwire.connect(
                venue, [a], endpoints=sim.urls()[venue], probe_interval=None, on_status=rec
            ) as md:
                await md.subscribe([bad])
                with pytest.raises(VenueError, match=bad):
                    await md.wait_synced(timeout=2.0, symbols=[bad])
                assert bad not in md.symbols() and md.is_synced()
                refused = rec.kinds("venue_error", bad)
                assert refused and bad in refused[0].detail, rec.events
                with pytest.raises(KeyError):
                    await md.unsubscribe([bad])  # nothing of it is held any more
                conn = next(iter(sim.endpoint(venue).conns.values()))
                assert not any(bad in t for t in conn.topics)
                await md.subscribe([bad])  # asked again: refused again, reported again
                with pytest.raises(VenueError):
                    await md.wait_synced(timeout=2.0, symbols=[bad])
                assert md.counters["reconnects"] == 0 and md.is_synced()
                await assert_books_match(md, sim, venue, [a], depth=10 if venue == "kraken" else 20)

    asyncio.run(go())


def test_a_kraken_pair_added_while_its_endpoint_is_down_syncs_after_the_failover() -> None:
    """Kraken checksums need the pair's precision, read from REST ``AssetPairs`` when the pair is
    subscribed. Added while the line's endpoint is down (the line failing over), that request goes to
    the dead endpoint: it is asked of the next endpoint instead, so the pair syncs on the new
    connection and equals the simulator's book (before: no precision, every checksum failed and the
    pair was resubscribed for as long as it was held, never in sync)."""

    async def go() -> None:
        async with Simulator(["kraken"], seed=73, rate=300, depth=20, endpoints={"kraken": 2}) as sim:
            a, b = "BTC/USD", "ETH/USD"  # 1 and 2 price decimals
            async with tickwire.connect(
                "kraken", [a], endpoints=sim.urls()["kraken"], probe_interval=None
            ) as md:
                await sim.endpoint("kraken", md.lines[0].endpoint).down()
                await md.subscribe([b])
                await eventually(
                    lambda: md.is_synced(), what=lambda: f"in sync after the failover: {md.health()}"
                )
                await assert_books_match(md, sim, "kraken", [a, b], depth=10)

    asyncio.run(go())


def test_a_good_symbol_subscribed_with_a_refused_one_on_bybit_still_syncs() -> None:
    """Bybit refuses a whole subscribe message for one topic it does not know, naming only that one.
    ``md.subscribe([good, bad])`` goes out as one message: the bad name's refusal is raised by
    ``wait_synced``, and the good one is asked again alone, syncs and equals the simulator's book
    (before: the good one was never subscribed on the wire and stayed out of sync for good)."""

    async def go() -> None:
        async with Simulator(["bybit"], seed=74, rate=300, depth=20) as sim:
            a, b = list(sim.venue("bybit").instruments)[:2]
            async with tickwire.connect(
                "bybit", [a], endpoints=sim.urls()["bybit"], probe_interval=None
            ) as md:
                await md.subscribe([b, "NOPEUSDT"])
                with pytest.raises(VenueError, match="NOPEUSDT"):
                    await md.wait_synced(timeout=2.0, symbols=["NOPEUSDT"])
                await md.wait_synced(timeout=2.0, symbols=[b])
                assert md.symbols() == [a, b] and md.counters["reconnects"] == 0
                await assert_books_match(md, sim, "bybit", [a, b], depth=20)

    asyncio.run(go())


def test_a_refused_name_subscribed_while_the_line_is_down_leaves_the_other_books_syncing_bybit() -> None:
    """A symbol Bybit does not list, subscribed while the line reconnects: the reconnect's subscribe
    message carries it with the live books, and Bybit refuses that whole message. The refused name
    is dropped, and the books sent with it — synced before the drop, vouched for by nothing since —
    are asked again: each syncs and equals the simulator's book (before: only books never built were
    asked again; this one read "not synced" for good, no resync, the line kept up by its pongs)."""

    async def go() -> None:
        async with Simulator(["bybit"], seed=16, rate=300, depth=20) as sim:
            a = next(iter(sim.venue("bybit").instruments))
            async with tickwire.connect(
                "bybit", [a], endpoints=sim.urls()["bybit"], probe_interval=None, clock_sync=None
            ) as md:
                await sim.endpoint("bybit").down(0.3)
                await eventually(lambda: not md.lines[0].connected, what="the line down")
                await md.subscribe(["NOPEUSDT"])
                with pytest.raises(VenueError, match="NOPEUSDT"):
                    await md.wait_synced(timeout=3.0, symbols=["NOPEUSDT"])
                assert md.symbols() == [a]
                await eventually(
                    lambda: md.is_synced(a), timeout=3.0, what=lambda: f"{a} in sync: {md.health()}"
                )
                await assert_books_match(md, sim, "bybit", [a], depth=20)

    asyncio.run(go())


def test_a_refused_trades_name_is_dropped_and_the_one_sent_with_it_delivers_every_trade_bybit() -> None:
    """``md.subscribe([good, bad], channels=["trades"])``: Bybit refuses the message for the name it
    does not list. The refused name is dropped (status naming it), the good one is asked again and
    delivers every trade the simulator published, once; and a reconnect, which no longer asks for the
    refused name, brings the book back in sync (before: the trades name was kept and never counted
    as refused, the good one never subscribed, and each reconnect's subscribe message, refused whole
    for it, left the book "not synced" for good)."""

    async def go() -> None:
        async with Simulator(["bybit"], seed=12, rate=300, depth=20) as sim:
            a, b = list(sim.venue("bybit").instruments)[:2]
            rec = Recorder()
            trades = Trades(sim, "bybit", [b])
            async with tickwire.connect(
                "bybit",
                [a],
                endpoints=sim.urls()["bybit"],
                on_status=rec,
                on_trade=trades.heard_one,
                probe_interval=None,
                clock_sync=None,
            ) as md:
                await md.subscribe([b, "NOPEUSDT"], channels=["trades"])
                await eventually(lambda: bool(rec.kinds("venue_error", "NOPEUSDT")), what=lambda: rec.events)
                assert md.symbols() == [a, b]
                await eventually(lambda: bool(trades.heard[b]), what=f"{b} trades heard")
                sim.endpoint("bybit").drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                await assert_books_match(md, sim, "bybit", [a], depth=20)
                sim.pause()
                await quiet(trades.published[b], trades.heard[b])
            await trades.assert_each_heard_once()

    asyncio.run(go())
