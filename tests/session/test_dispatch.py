"""The session's Rust fast path (``Dispatcher``) against the plain ``BookFeed`` path on the same
frames: identical books and callbacks on the real Binance capture, coalescing per socket read,
latency recorded, callback errors contained, bad frames refused with nothing applied."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from shared_files import shared_path
from tickwire import BookFeed, errors
from tickwire._core import Dispatcher
from tickwire.latency import LatencyRecorder


def capture() -> tuple[dict[str, bytes], list[bytes]]:
    snaps: dict[str, bytes] = {}
    frames = []
    for line in shared_path("fixtures", "real", "binance_spot.jsonl").read_text().splitlines():
        ev = orjson.loads(line)
        if ev["kind"] == "http" and "/depth" in ev["url"]:
            snaps[ev["url"].split("symbol=")[1].split("&")[0]] = ev["text"].encode()
        elif ev["kind"] == "recv" and "depthUpdate" in ev.get("text", ""):
            frames.append(ev["text"].encode())
    return snaps, frames


def synthetic(n: int) -> tuple[bytes, list[bytes]]:
    snap = orjson.dumps({"lastUpdateId": 100, "bids": [["100.0", "1"]], "asks": [["101.0", "1"]]})
    frames = [
        orjson.dumps(
            {
                "e": "depthUpdate",
                "E": 1,
                "s": "BTCUSDT",
                "U": 101 + i,
                "u": 101 + i,
                "b": [[f"{99 - i * 0.1:.1f}", "2"]],
                "a": [],
            }
        )
        for i in range(n)
    ]
    return snap, frames


def synced(d_feed: BookFeed, snap: bytes, first: bytes) -> None:
    d_feed.on_frame(first)
    d_feed.on_snapshot("BTCUSDT", snap)
    assert d_feed.book("BTCUSDT").is_synced


def test_fast_path_matches_the_plain_feed_on_the_real_capture() -> None:
    snaps, frames = capture()
    plain, fast = BookFeed("binance"), BookFeed("binance")
    called: list[str] = []
    rec = LatencyRecorder(["decode_apply", "callback"])
    d = Dispatcher(fast, lambda book: called.append(book.symbol), lambda e: None, rec, coalesce=False)
    expected: list[str] = []
    handed_back = 0
    for fr in frames:
        _, updates, _ = plain.on_frame(fr)
        expected += [s for s, o in updates if o == "applied"]
        summary = d.on_frame(fr, time.monotonic_ns(), 1)
        if summary is not None:
            # Not a plain applied/stale frame (buffered before the snapshot): handed to the caller
            # with the feed's own summary, exactly what on_frame would have returned.
            handed_back += 1
            assert summary[0] == "book" and summary[1] == updates
            for sym, outcome in updates:
                if outcome == "buffered" and sym in snaps:
                    plain.on_snapshot(sym, snaps[sym])
                    fast.on_snapshot(sym, snaps.pop(sym))
    assert handed_back > 0 and len(called) > 100
    assert called == expected
    for sym in plain.symbols():
        for side in ("bid", "ask"):
            assert plain.book(sym).levels(side, 5000) == fast.book(sym).levels(side, 5000)
        assert plain.book(sym).last_update_id == fast.book(sym).last_update_id
    # One latency sample per frame, handed back or not: the dispatcher is the session's only route.
    assert rec.summary()["total"]["count"] == len(frames)
    assert rec.summary()["decode_apply"]["p50"] > 0


def test_coalescing_calls_each_book_once_per_socket_read() -> None:
    snap, frames = synthetic(7)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    seen: list[tuple[float, float] | None] = []
    d = Dispatcher(feed, lambda b: seen.append(b.best_bid()), lambda e: None, None, coalesce=True)
    # Three frames from one socket read: one callback, after the last, seeing the final book.
    for fr, last in zip(frames[1:4], (0, 0, 1), strict=True):
        assert d.on_frame(fr, 1, last) is None
    assert seen == [(100.0, 1.0)] and d.pending == 0
    # The same frames again are stale: nothing changed, nothing called.
    assert d.on_frame(frames[3], 1, 1) is None and len(seen) == 1
    # Not coalesced: one callback per frame.
    d2 = Dispatcher(feed, lambda b: seen.append(b.best_bid()), lambda e: None, None, coalesce=False)
    for fr in frames[4:7]:
        d2.on_frame(fr, 1, 0)
    assert len(seen) == 4


def test_callback_errors_go_to_on_error_and_the_feed_keeps_going() -> None:
    snap, frames = synthetic(6)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    errs: list[BaseException] = []

    def boom(book: Any) -> None:
        raise RuntimeError("user bug")

    d = Dispatcher(feed, boom, errs.append, None, coalesce=False)
    for fr in frames[1:]:
        assert d.on_frame(fr, 1, 1) is None
    assert len(errs) == 5 and all(isinstance(e, RuntimeError) for e in errs)
    assert feed.book("BTCUSDT").last_update_id == 106 and feed.book("BTCUSDT").is_synced


def test_bad_frame_raises_decode_error_and_changes_nothing() -> None:
    snap, frames = synthetic(3)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    d = Dispatcher(feed, None, lambda e: None, None)
    before = (feed.book("BTCUSDT").levels("bid", 10), feed.book("BTCUSDT").last_update_id)
    with pytest.raises(errors.DecodeError):
        d.on_frame(frames[1][: len(frames[1]) // 2], 1, 1)
    assert (feed.book("BTCUSDT").levels("bid", 10), feed.book("BTCUSDT").last_update_id) == before
    assert d.on_frame(frames[1], 1, 1) is None  # and the next good frame applies


def test_a_duplicate_from_the_second_line_never_reaches_the_book_or_a_callback() -> None:
    snap, frames = synthetic(8)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    feed.arbitrate(hold_s=0.05)
    ref = BookFeed("binance")
    synced(ref, snap, frames[0])
    seen: list[int] = []
    d = Dispatcher(feed, lambda b: seen.append(b.last_update_id), lambda e: None, None, coalesce=False)
    for fr in frames[1:]:
        ref.on_frame(fr)
        # Line A, then the same frame from line B: applied once, called back once, and the copy
        # needs nothing from Python (None).
        assert d.on_frame(fr, 1, 1) is None
        before = feed.book("BTCUSDT").levels("bid", 100)
        assert d.on_frame(fr, 2, 1) is None
        assert feed.book("BTCUSDT").levels("bid", 100) == before
    assert seen == [ref.book("BTCUSDT").last_update_id - 6 + i for i in range(7)]
    assert feed.book("BTCUSDT").levels("bid", 100) == ref.book("BTCUSDT").levels("bid", 100)
    stats = feed.arbiter_stats()
    assert stats is not None and stats["duplicates"] == 7


def test_a_hole_filled_from_the_other_line_is_applied_in_order_and_never_reports_a_gap() -> None:
    snap, frames = synthetic(5)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    feed.arbitrate(hold_s=0.05)
    seen: list[int] = []
    d = Dispatcher(feed, lambda b: seen.append(b.last_update_id), lambda e: None, None, coalesce=False)
    # Line A lost frames[1]: frames[2] and [3] wait (no callback, nothing for Python to remedy).
    assert d.on_frame(frames[2], 1, 1) is None and d.on_frame(frames[3], 1, 1) is None
    assert seen == [] and feed.book("BTCUSDT").last_update_id == 101
    # Line B delivers frames[1]: it and both held frames apply in sequence order in this call,
    # and the book is called back once, with all three applied.
    assert d.on_frame(frames[1], 2, 1) is None
    assert seen == [104] and feed.book("BTCUSDT").is_synced
    # Line B's copies of frames[2] and [3] are duplicates; line A's next frame applies.
    assert d.on_frame(frames[2], 2, 1) is None and d.on_frame(frames[3], 2, 1) is None
    assert d.on_frame(frames[4], 1, 1) is None and seen == [104, 105]
    # A hole nobody fills: after hold_s the frame is released and the gap goes to Python.
    feed2 = BookFeed("binance")
    synced(feed2, snap, frames[0])
    feed2.arbitrate(hold_s=0.05)
    d2 = Dispatcher(feed2, None, lambda e: None, None)
    assert d2.on_frame(frames[3], 0, 1) is None
    assert d2.release_held(int(0.01e9)) is None
    assert d2.release_held(int(0.06e9)) == ("book", (("BTCUSDT", "gap"),), None)


def test_a_reader_holding_the_lock_keeps_the_next_frame_out_until_it_lets_go() -> None:
    import threading

    from tickwire._core import ReaderLock

    snap, frames = synthetic(3)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    lock = ReaderLock()
    d = Dispatcher(feed, None, lambda e: None, None)
    d.reader_lock = lock
    book = feed.book("BTCUSDT")
    with lock:
        before = book.last_update_id
        t = threading.Thread(target=d.on_frame, args=(frames[1], 1, 1))
        t.start()
        t.join(0.1)
        # The frame waits (without the GIL, or this thread could not run) while the reader holds on.
        assert t.is_alive() and book.last_update_id == before
    t.join(5)
    assert not t.is_alive() and book.last_update_id == before + 1 and not lock.locked
    with pytest.raises(RuntimeError):
        lock.release()


@pytest.mark.parametrize("route", [False, True], ids=["feed", "dispatcher"])
def test_a_snapshot_while_every_line_is_down_does_not_prove_the_book(route: bool) -> None:
    """Every line down: a resync's REST snapshot that lands meanwhile leaves the book not synced to
    its readers (the stream it continues is not there); the first frame on a line back, applied,
    proves it (before: the snapshot alone said synced, for the whole outage). The session's resyncer
    applies it through the route (``Dispatcher.on_snapshot``), which until 2026-12-05 confirmed it
    anyway: after a reconnect, a book that missed the diffs sent before the new subscription read
    synced and wrong until its next diff (``test_recovery.py``'s internal-error test, under load)."""
    snap, frames = synthetic(3)
    feed = BookFeed("binance")
    d = Dispatcher(feed, None, lambda e: None, None, coalesce=False)
    on_snapshot = d.on_snapshot if route else feed.on_snapshot
    d.on_frame(frames[0], 1, True)
    on_snapshot("BTCUSDT", snap)
    book = feed.book("BTCUSDT")
    assert book.is_synced and d.confirmed("BTCUSDT")
    d.unconfirm_all()
    assert not book.is_synced
    feed.invalidate("BTCUSDT")
    on_snapshot("BTCUSDT", orjson.dumps({"lastUpdateId": 101, "bids": [["100.0", "1"]], "asks": []}))
    assert book.state == "synced" and not book.is_synced and not d.confirmed("BTCUSDT")
    d.on_frame(frames[1], 2, True)  # a line delivers again: the diff after the snapshot applies
    assert book.is_synced and d.confirmed("BTCUSDT")


def test_after_a_reconnect_only_a_snapshot_at_the_books_own_id_or_newer_proves_it() -> None:
    """A quiet book after a reconnect is proven by a REST snapshot (``Resyncer.prove_continuity``):
    one at the book's own id is ``duplicate`` (nothing missed) and confirms it; one older than the
    book is ``stale``, changes nothing and proves nothing (a slow reply asked for before the outage
    says nothing of what the outage lost); a newer one replaces the book and confirms it."""
    snap, frames = synthetic(2)
    feed = BookFeed("binance")
    d = Dispatcher(feed, None, lambda e: None, None, coalesce=False)
    feed.on_snapshot("BTCUSDT", snap)
    d.on_frame(frames[0], 1, True)
    d.on_frame(frames[1], 2, True)
    book = feed.book("BTCUSDT")
    levels = book.levels("bid", 10)
    assert book.last_update_id == 102

    def snapshot(last: int, bid: str) -> bytes:
        return orjson.dumps({"lastUpdateId": last, "bids": [[bid, "5"]], "asks": [["101.0", "1"]]})

    d.unconfirm_all()
    d.on_frame(b'{"result":null,"id":7}', 3, True)  # a line is back: its subscription answered
    assert not book.is_synced and not d.confirmed("BTCUSDT")
    for last, outcome, proven in ((101, "stale", False), (102, "duplicate", True)):
        assert feed.on_snapshot("BTCUSDT", snapshot(last, "50.0"))[1] == (("BTCUSDT", outcome),)
        assert (book.levels("bid", 10), book.last_update_id, book.state) == (levels, 102, "synced")
        assert d.confirmed("BTCUSDT") is proven and book.is_synced is proven
    d.unconfirm_all()
    d.on_frame(b'{"result":null,"id":8}', 4, True)
    assert feed.on_snapshot("BTCUSDT", snapshot(110, "50.0"))[1] == (("BTCUSDT", "applied"),)
    assert book.levels("bid", 10) == [(50.0, 5.0)] and book.last_update_id == 110 and book.is_synced


def test_a_refused_frame_of_several_books_names_every_one() -> None:
    """Kraken sends several symbols' updates in one frame; one bad level refuses it whole, so every
    book in it lacks its update: the error names them all (``symbols``), and the one it is about
    (``symbol``)."""
    feed = BookFeed("kraken", verify_checksum=False)

    def frame(kind: str, a_qty: str, b_qty: str, b: str = "B/USD") -> bytes:
        data = [
            {"symbol": s, "bids": [{"price": 10.0, "qty": float(q)}], "asks": [{"price": 11.0, "qty": 1.0}]}
            for s, q in (("A/USD", a_qty), (b, b_qty))
        ]
        return orjson.dumps({"channel": "book", "type": kind, "data": data})

    feed.on_frame(frame("snapshot", "1.0", "1.0"))
    assert feed.book("A/USD").is_synced and feed.book("B/USD").is_synced
    with pytest.raises(errors.BookError) as e:
        feed.on_frame(frame("update", "2.0", "-1.0"))
    assert e.value.symbol == "B/USD" and sorted(e.value.symbols) == ["A/USD", "B/USD"]  # type: ignore[attr-defined]
    assert feed.book("A/USD").levels("bid", 5) == [(10.0, 1.0)]  # nothing applied
    # The next error, a malformed frame, names no book from the one before.
    with pytest.raises(errors.DecodeError) as d:
        feed.on_frame(b'{"channel":"book","type":"update","data":[')
    assert not hasattr(d.value, "symbols")
    # A book the refused frame would have made is not one to resync; the existing one it held is.
    with pytest.raises(errors.BookError) as e:
        feed.on_frame(frame("snapshot", "2.0", "-1.0", b="C/USD"))
    assert e.value.symbol == "C/USD" and e.value.symbols == ["A/USD"]  # type: ignore[attr-defined]
    assert "C/USD" not in feed.symbols()


def test_with_deferred_expiry_a_hold_run_out_is_told_once_and_released_only_by_release_held() -> None:
    """``Dispatcher.defer_expiry(on_due)``: a frame read after a hold ran out no longer releases it
    (the other line's frame may be waiting in its socket): ``on_due`` is called, once until the next
    ``release_held``, which releases it as the gap it is. An ``on_due`` that raises goes to
    ``on_error`` and the frame is still settled (its summary returned, its book called back)."""
    snap, frames = synthetic(6)
    feed = BookFeed("binance")
    synced(feed, snap, frames[0])
    feed.arbitrate(hold_s=0.05)
    told: list[int] = []
    errors_seen: list[BaseException] = []
    d = Dispatcher(feed, None, errors_seen.append, None)
    d.defer_expiry(lambda: told.append(1))
    assert d.on_frame(frames[2], 0, 1) is None  # held: frames[1] lost on this line
    assert d.on_frame(frames[3], int(0.06e9), 1) is None  # after the hold: held too, not released
    assert told == [1] and feed.book("BTCUSDT").last_update_id == 101
    assert d.on_frame(frames[4], int(0.07e9), 1) is None and told == [1]  # told once
    assert d.release_held(int(0.08e9)) == ("book", (("BTCUSDT", "gap"),), None)
    # A raising ``on_due``: reported, the frame settled all the same.
    feed2 = BookFeed("binance")
    synced(feed2, snap, frames[0])
    feed2.arbitrate(hold_s=0.05)
    d2 = Dispatcher(feed2, None, errors_seen.append, None)

    def boom() -> None:
        raise RuntimeError("on_due failed")

    d2.defer_expiry(boom)
    assert d2.on_frame(frames[2], 0, 1) is None
    assert d2.on_frame(frames[3], int(0.06e9), 1) is None
    assert [str(e) for e in errors_seen] == ["on_due failed"]
    assert d2.release_held(int(0.08e9)) == ("book", (("BTCUSDT", "gap"),), None)
