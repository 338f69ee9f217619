"""Faults injected by the simulator; each must recover to books equal to the simulator's, resync only
the symbols affected, keep every subscription, and pace reconnects by the back-off policy."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import tickwire
from simbook import Recorder, assert_books_match, eventually
from tickwire.errors import InternalError
from tickwire.sim import Simulator
from tickwire.sim.http import json_response

FAST: dict[str, Any] = {"probe_interval": None, "ready_timeout": 5.0}


def run(coro: Any) -> None:
    asyncio.run(coro)


def test_dropped_connection_reconnects_resubscribes_and_resyncs() -> None:
    async def go() -> None:
        async with Simulator(["okx"], seed=1, rate=200, depth=25) as sim:
            rec = Recorder()
            syms = ["BTC-USDT", "ETH-USDT"]
            async with tickwire.connect(
                "okx", syms, endpoints=sim.urls()["okx"], on_status=rec, **FAST
            ) as md:
                sim.endpoint("okx").drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                await assert_books_match(md, sim, "okx", syms)
                assert len(rec.kinds("disconnected")) == 1
                assert md.health()["reconnects"] == 1
                assert sorted(md.registry.symbols()) == sorted(syms)

    run(go())


def test_gap_on_one_symbol_resyncs_only_that_symbol_binance() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=2, rate=300, depth=25) as sim:
            rec = Recorder()
            syms = ["BTCUSDT", "ETHUSDT"]
            async with tickwire.connect(
                "binance", syms, endpoints=sim.urls()["binance"], on_status=rec, **FAST
            ) as md:
                eth_updates = md.book("ETHUSDT").stats()["diffs_applied"]
                sim.endpoint("binance").gap("BTCUSDT")
                await eventually(lambda: bool(rec.kinds("out_of_sync", "BTCUSDT")), what="gap seen")
                await eventually(lambda: bool(rec.kinds("synced", "BTCUSDT")), what="resynced")
                await assert_books_match(md, sim, "binance", syms)
                assert rec.kinds("out_of_sync", "ETHUSDT") == []
                assert [e.symbol for e in rec.kinds("resync") if e.detail == "gap"] == ["BTCUSDT"]
                assert md.book("ETHUSDT").stats()["diffs_applied"] > eth_updates
                assert md.lines[0].connects == 1  # no reconnect for a gap

    run(go())


def test_a_snapshot_refused_for_the_request_rate_waits_before_asking_again_binance() -> None:
    """Both books lose sync and the first REST snapshot is refused with a 429 (``Retry-After: 1``, as
    Binance always sends one): apart from a fetch already on its way, no depth request reaches the
    venue for a second after it, for either book (before: the refused book asked again 50 ms later,
    then ever faster, each book on its own); then both resync. (Without a Retry-After the snapshots'
    budget, the address's, blocks the limit for its window — a minute — as a trading session's does.)"""

    async def go() -> None:
        async with Simulator(["binance"], seed=2, rate=300, depth=25) as sim:
            rec = Recorder()
            syms = ["BTCUSDT", "ETHUSDT"]
            async with tickwire.connect(
                "binance", syms, endpoints=sim.urls()["binance"], on_status=rec, **FAST
            ) as md:
                ep = sim.endpoint("binance")
                synced = len(rec.kinds("synced"))
                start = time.monotonic()  # the simulator stamps arrivals on this clock (one process)
                answer, refused = ep._answer, []
                asked: list[tuple[float, str]] = []  # each depth request: (arrival, its book)

                async def first_depth_refused(req: Any) -> Any:  # (a plain fail() may hit a time probe)
                    if req.path.endswith("/depth"):
                        asked.append((time.monotonic(), req.query.get("symbol", "")))
                    if req.path.endswith("/depth") and not refused:
                        refused.append(req.path)
                        body = {"code": -1003, "msg": "Too many requests"}
                        return json_response(body, 429, [("Retry-After", "1")])
                    return await answer(req)

                ep._answer = first_depth_refused  # type: ignore[method-assign]
                ep.gap("BTCUSDT")
                ep.gap("ETHUSDT")
                await eventually(lambda: len(rec.kinds("synced")) >= synced + 2, timeout=5, what="resynced")
                depth = [
                    (t, status) for t, op, status, _ in list(ep.exchanges) if "depth" in op and t >= start
                ]
                assert depth[0][1] == 429 and all(status == 200 for _, status in depth[1:]), depth
                # Only a fetch already on its way when the refusal came — the other book's, one at most
                # — then a second of nothing. Told by which book asked, not by "within 20 ms of the
                # refusal": a process waiting for a CPU may read that fetch later, sent in time.
                (t429, book429), *after = asked
                inside = [(round(t - t429, 3), book) for t, book in after if t < t429 + 0.95]
                assert len(inside) <= 1 and all(book != book429 for _, book in inside), (book429, inside)
                assert any(t >= t429 + 0.95 for t, _ in depth), depth
                await assert_books_match(md, sim, "binance", syms)

    run(go())


def test_a_too_old_snapshot_is_fetched_again_before_the_resync_timeout_binance() -> None:
    """After a gap the first REST snapshot comes back older than the diffs buffered since (its
    ``lastUpdateId`` 1000 behind, as a lagging replica might answer): Binance's rule is to fetch
    another. It is asked for after half a second — not at once, a replica that keeps lagging must not
    be hammered — (before: only after the whole ``resync_timeout``, 5 s here, spent waiting for a sync
    that snapshot could never bring) and the book resyncs."""

    async def go() -> None:
        async with Simulator(["binance"], seed=2, rate=300, depth=25) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], on_status=rec, **FAST
            ) as md:
                assert md.resync_timeout == 5.0
                ep = sim.endpoint("binance")
                synced = len(rec.kinds("synced"))
                start = time.monotonic()
                answer, lagged = ep._answer, []

                async def first_depth_old(req: Any) -> Any:
                    r = await answer(req)
                    if req.path.endswith("/depth") and not lagged:
                        snap = orjson.loads(r.body)
                        lagged.append(snap["lastUpdateId"])
                        return json_response({**snap, "lastUpdateId": snap["lastUpdateId"] - 1000})
                    return r

                ep._answer = first_depth_old  # type: ignore[method-assign]
                ep.gap("BTCUSDT")
                await eventually(lambda: len(rec.kinds("synced")) > synced, timeout=3, what="resynced")
                depth = [t for t, op, _, _ in list(ep.exchanges) if "depth" in op and t >= start]
                assert lagged and len(depth) >= 2 and 0.45 < depth[1] - depth[0] < 1.5, depth
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])

    run(go())


def test_corrupt_checksum_resubscribes_that_book_only_okx() -> None:
    async def go() -> None:
        async with Simulator(["okx"], seed=3, rate=300, depth=25) as sim:
            rec = Recorder()
            syms = ["BTC-USDT", "ETH-USDT"]
            async with tickwire.connect(
                "okx", syms, endpoints=sim.urls()["okx"], on_status=rec, **FAST
            ) as md:
                sim.endpoint("okx").corrupt_checksum("ETH-USDT")
                await eventually(lambda: bool(rec.kinds("synced", "ETH-USDT")), what="resynced")
                assert [e.detail for e in rec.kinds("out_of_sync", "ETH-USDT")] == ["checksum"]
                assert rec.kinds("out_of_sync", "BTC-USDT") == []
                await assert_books_match(md, sim, "okx", syms)

    run(go())


def test_htx_gap_is_realigned_by_a_req_on_the_same_connection() -> None:
    async def go() -> None:
        async with Simulator(["htx"], seed=4, rate=300, depth=30) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "htx", ["btcusdt"], endpoints=sim.urls()["htx"], on_status=rec, **FAST
            ) as md:
                sim.endpoint("htx").gap("btcusdt")
                await eventually(lambda: bool(rec.kinds("synced", "btcusdt")), what="realigned")
                await assert_books_match(md, sim, "htx", ["btcusdt"], depth=20)
                assert md.lines[0].connects == 1

    run(go())


def test_malformed_frame_is_counted_and_books_stay_correct() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=200, depth=25) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], on_status=rec, **FAST
            ) as md:
                assert sim.endpoint("binance").malformed() == 1
                await eventually(lambda: md.health()["decode_errors"] == 1, what="decode error counted")
                assert rec.kinds("decode_error")
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])
                assert md.lines[0].connects == 1

    run(go())


def test_a_frame_the_book_refuses_is_counted_and_the_connection_kept() -> None:
    """A depth diff in sequence whose level has a negative quantity: the book refuses it whole
    (``BookError``, nothing applied). Counted as a bad frame, the connection kept, the book still the
    simulator's as the market moves on (before: the error left the frame callback and picows closed the
    connection, every book on it losing sync)."""

    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=200, depth=25) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], on_status=rec, **FAST
            ) as md:
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])
                sim.pause()
                await asyncio.sleep(0.1)  # what was published has arrived
                nxt = sim.book("binance", "BTCUSDT").update_id + 1
                bad = (
                    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT",'
                    f'"U":{nxt},"u":{nxt},"b":[["1.00","-1"]],"a":[]}}}}'
                )
                for c in sim.endpoint("binance").conns.values():
                    c.send_text(bad.encode())
                await eventually(lambda: md.health()["decode_errors"] == 1, what="the refusal counted")
                assert rec.kinds("decode_error") and md.lines[0].connects == 1
                sim.resume()
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])
                # The book resynced: a refused frame is an update it lacks (here an invented one).
                assert md.lines[0].connects == 1 and rec.kinds("out_of_sync", "BTCUSDT")

    run(go())


def test_a_refused_frame_resyncs_its_book_where_no_sequence_would_show_the_loss_bybit() -> None:
    """Bybit's ids only grow, so a lost delta never shows as a gap. The simulator sends one real
    update in a frame the book refuses (a level's quantity negative): the book is one update short
    from then on. It is marked out of sync at once and resubscribed, and matches the simulator's
    again (before: it stayed "synced", the refused level's old quantity kept until some later delta
    happened to touch that price)."""

    async def go() -> None:
        async with Simulator(["bybit"], seed=6, rate=200, depth=25) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "bybit", ["BTCUSDT"], endpoints=sim.urls()["bybit"], on_status=rec, **FAST
            ) as md:
                await assert_books_match(md, sim, "bybit", ["BTCUSDT"])
                sim.endpoint("bybit").bad_level("BTCUSDT")
                await eventually(lambda: md.health()["decode_errors"] == 1, what="the refusal counted")
                assert rec.kinds("out_of_sync", "BTCUSDT") and md.health()["gaps"] == 1
                await eventually(lambda: bool(rec.kinds("synced", "BTCUSDT")), what="resynced")
                await assert_books_match(md, sim, "bybit", ["BTCUSDT"])
                assert md.lines[0].connects == 1

    run(go())


def test_an_internal_error_on_a_frame_resyncs_every_book_and_reconnects_the_line() -> None:
    """A bug in the core (a panic the binding turns into ``InternalError``) may leave a frame half
    applied: the session trusts no book — each is marked out of sync and resynced — and the line
    reconnects; the error is counted and reported, never raised into picows. The route is made to
    fail once (every panic known is fixed, so none can be provoked from a frame)."""

    async def go() -> None:
        async with Simulator(["binance"], seed=8, rate=200, depth=25) as sim:
            rec = Recorder()
            symbols = ["BTCUSDT", "ETHUSDT"]
            async with tickwire.connect(
                "binance", symbols, endpoints=sim.urls()["binance"], on_status=rec, **FAST
            ) as md:
                await assert_books_match(md, sim, "binance", symbols)
                line = md.lines[0]
                route = line._route
                failed: list[int] = []

                def once(payload: Any, t0: int, last: int) -> Any:
                    if not failed:
                        failed.append(t0)
                        raise InternalError("internal error in tickwire core (please report): test")
                    return route(payload, t0, last)

                line._route = once
                await eventually(lambda: md.health()["internal_errors"] == 1, what="the error counted")
                assert rec.kinds("internal_error") and all(rec.kinds("out_of_sync", s) for s in symbols)
                await eventually(lambda: line.connects == 2, what="the line reconnected")
                await eventually(lambda: all(rec.kinds("synced", s)[1:] for s in symbols), what="resynced")
                await assert_books_match(md, sim, "binance", symbols)

    run(go())


def test_a_ping_closing_a_socket_read_does_not_hold_back_its_books_callbacks() -> None:
    """The venue writes a depth diff and a PING in one go (the client reads both at once): picows
    answers the ping itself and never hands it on, so the diff is not the read's last frame. Its
    ``on_book`` still comes at once (before: only with the next read — here never, the market paused)."""

    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=200, depth=25) as sim:
            bids: list[Any] = []
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"],
                on_book=lambda b: bids.append(b.best_bid()), **FAST,
            ) as md:  # fmt: skip
                await assert_books_match(md, sim, "binance", ["BTCUSDT"])
                sim.pause()
                await asyncio.sleep(0.1)  # what was published has arrived
                nxt = sim.book("binance", "BTCUSDT").update_id + 1
                top = sim.book("binance", "BTCUSDT").bids[0][0]
                diff = (
                    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT",'
                    f'"U":{nxt},"u":{nxt},"b":[["{top}","0.5"]],"a":[]}}}}'
                )
                seen = len(bids)
                for c in sim.endpoint("binance").conns.values():
                    c.send_text(diff.encode())
                    c.send_ping(b"hb")  # written right after it
                await eventually(lambda: len(bids) > seen, timeout=1.0, what="the diff's on_book")
                assert bids[-1] == (float(top), 0.5)  # the touch's new quantity

    run(go())


def test_symbol_that_stops_updating_is_resubscribed() -> None:
    async def go() -> None:
        async with Simulator(["okx"], seed=10, rate=300, depth=25) as sim:
            rec = Recorder()
            syms = ["BTC-USDT", "ETH-USDT"]
            async with tickwire.connect(
                "okx", syms, endpoints=sim.urls()["okx"], on_status=rec, symbol_stale_after=0.3, **FAST
            ) as md:
                # The venue silently stops one subscription (as a real venue can): only ETH goes quiet.
                ep = sim.endpoint("okx")
                conn = next(iter(ep.conns.values()))
                topic = next(t for t in list(conn.topics) if "ETH-USDT" in t and "books" in t)
                ep.unsubscribe(conn, topic)
                await eventually(lambda: bool(rec.kinds("stale", "ETH-USDT")), what="stale symbol")
                assert rec.kinds("stale", "BTC-USDT") == []
                await assert_books_match(md, sim, "okx", syms)
                assert md.lines[0].connects == 1

    run(go())


def test_kraken_corrupt_checksum_resubscribes_and_resyncs() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], seed=12, rate=300, depth=25, symbols={"kraken": ["BTC/USD"]}) as sim:
            rec = Recorder()
            async with tickwire.connect(
                "kraken",
                ["BTC/USD"],
                endpoints=sim.urls()["kraken"],
                on_status=rec,
                venue_options={"precision": {"BTC/USD": (1, 8)}},
                **FAST,
            ) as md:
                sim.endpoint("kraken").corrupt_checksum("BTC/USD")
                await eventually(lambda: bool(rec.kinds("out_of_sync", "BTC/USD")), what="mismatch seen")
                await eventually(lambda: bool(rec.kinds("synced", "BTC/USD")), what="resynced")
                await assert_books_match(md, sim, "kraken", ["BTC/USD"], depth=10)

    run(go())
