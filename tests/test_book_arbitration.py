"""A/B arbitration (``BookFeed.arbitrate``, in Rust) against a real book feed: two lines with
independent losses must give exactly the book of one loss-free line, never a gap, as long as every
message reaches one of them."""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire import BookFeed


def binance_stream(n: int, seed: int) -> tuple[bytes, list[bytes]]:
    rng = random.Random(seed)
    snap = {"lastUpdateId": 100, "bids": [["100.0", "1"]], "asks": [["101.0", "1"]]}
    frames, u = [], 100
    for _ in range(n):
        first, u = u + 1, u + rng.randint(1, 3)
        side = rng.choice("ba")
        px = f"{(rng.randint(900, 1000) if side == 'b' else rng.randint(1010, 1100)) / 10:.1f}"
        qty = str(rng.choice([0, 1, 2, 3]))
        frames.append(
            orjson.dumps(
                {
                    "e": "depthUpdate",
                    "E": 1,
                    "s": "BTCUSDT",
                    "U": first,
                    "u": u,
                    side: [[px, qty]],
                    "a" if side == "b" else "b": [],
                }
            )
        )
    return orjson.dumps(snap), frames


def synced_feed(snapshot: bytes, first: bytes) -> BookFeed:
    f = BookFeed("binance")
    f.on_frame(first)
    f.on_snapshot("BTCUSDT", snapshot)
    assert f.book("BTCUSDT").is_synced
    return f


def levels(f: BookFeed) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    b = f.book("BTCUSDT")
    return b.levels("bid", 1000), b.levels("ask", 1000)


def run_ab(frames: list[bytes], lost_a: set[int], lost_b: set[int], order: random.Random) -> BookFeed:
    snapshot, _ = binance_stream(0, 0)
    feed = synced_feed(snapshot, frames[0])
    feed.arbitrate(hold_s=1.0)
    # Interleave the two lines' deliveries in a random but per-line ordered way.
    a = [f for i, f in enumerate(frames[1:], 1) if i not in lost_a]
    b = [f for i, f in enumerate(frames[1:], 1) if i not in lost_b]
    while a or b:
        line = a if (a and (not b or order.random() < 0.5)) else b
        frame = line.pop(0)
        _, updates, _ = feed.on_frame(frame, recv_ns=0)
        assert all(o != "gap" for _, o in updates), "arbitration let a gap through"
    return feed


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sets(st.integers(1, 79)), st.integers(0, 10_000))
def test_independent_losses_on_two_lines_leave_no_gap(seed: int, lost: set[int], order_seed: int) -> None:
    snapshot, frames = binance_stream(80, seed)
    rng = random.Random(order_seed)
    # Each lost message is lost on one line only (the other delivers it).
    lost_a = {i for i in lost if rng.random() < 0.5}
    lost_b = lost - lost_a
    got = run_ab(frames, lost_a, lost_b, rng)
    ref = synced_feed(snapshot, frames[0])
    for f in frames[1:]:
        ref.on_frame(f)
    assert got.book("BTCUSDT").is_synced
    assert got.book("BTCUSDT").last_update_id == ref.book("BTCUSDT").last_update_id
    assert levels(got) == levels(ref)
    # Every frame either reached the book once or was dropped as the other line's copy.
    stats = got.arbiter_stats()
    assert stats is not None and stats["held"] == 0


def test_duplicates_dropped_ahead_held_then_filled() -> None:
    snapshot, frames = binance_stream(4, 1)
    feed = synced_feed(snapshot, frames[0])
    feed.arbitrate(hold_s=0.05)
    before = levels(feed)
    assert feed.on_frame(frames[0], recv_ns=0)[1] == (("BTCUSDT", "duplicate"),)  # already in the book
    assert feed.on_frame(frames[2], recv_ns=0)[1] == (("BTCUSDT", "held"),)  # frames[1] missing here
    assert levels(feed) == before  # neither touched the book
    assert feed.release_held(now_ns=0)[1] == ()
    # The other line brings frames[1]; the held frames[2] follows it in the same call.
    assert feed.on_frame(frames[1], recv_ns=0)[1] == (("BTCUSDT", "applied"), ("BTCUSDT", "applied"))
    stats = feed.arbiter_stats()
    assert stats is not None and stats["filled_from_other_line"] == 1 and stats["duplicates"] == 1
    ref = synced_feed(snapshot, frames[0])
    for f in frames[1:3]:
        ref.on_frame(f)
    assert levels(feed) == levels(ref)


def test_a_hole_no_line_fills_is_released_to_the_feed_as_a_gap() -> None:
    snapshot, frames = binance_stream(4, 2)
    feed = synced_feed(snapshot, frames[0])
    feed.arbitrate(hold_s=0.05)
    assert feed.on_frame(frames[3], recv_ns=0)[1] == (("BTCUSDT", "held"),)
    assert feed.release_held(now_ns=int(0.04e9))[1] == ()
    assert feed.release_held(now_ns=int(0.06e9))[1] == (("BTCUSDT", "gap"),)
    stats = feed.arbiter_stats()
    assert stats is not None and stats["released_as_gap"] == 1 and stats["held"] == 0


def test_okx_numbering_reads_updates_snapshots_and_resets() -> None:
    def frame(action: str, prev: int, seq: int) -> bytes:
        return orjson.dumps(
            {
                "arg": {"channel": "books", "instId": "BTC-USDT"},
                "action": action,
                "data": [
                    {
                        "asks": [["101", "1", "0", "1"]],
                        "bids": [["100", "1", "0", "1"]],
                        "ts": "1",
                        "prevSeqId": prev,
                        "seqId": seq,
                    }
                ],
            }
        )

    feed = BookFeed("okx", verify_checksum=False)
    feed.arbitrate(hold_s=0.05)
    assert feed.on_frame(frame("snapshot", -1, 15), recv_ns=0)[1] == (("BTC-USDT", "applied"),)
    # The same snapshot from the other line, then an update the book already has.
    assert feed.on_frame(frame("snapshot", -1, 15), recv_ns=0)[1] == (("BTC-USDT", "duplicate"),)
    assert feed.on_frame(frame("update", 10, 15), recv_ns=0)[1] == (("BTC-USDT", "duplicate"),)
    # Ahead of the book (prevSeqId 16 after 15): held; a reset (seqId below prevSeqId) is not.
    assert feed.on_frame(frame("update", 16, 17), recv_ns=0)[1] == (("BTC-USDT", "held"),)
    _, updates, _ = feed.on_frame(frame("update", 15, 3), recv_ns=0)
    assert updates and updates[0][1] not in ("duplicate", "held")


def test_a_feed_without_arbitration_reports_none() -> None:
    assert BookFeed("binance").arbiter_stats() is None
    with pytest.raises(ValueError):
        BookFeed("binance").arbitrate(hold_s=-1)


def test_arbitration_stops_with_none_once_nothing_is_held() -> None:
    """``arbitrate(None)``: refused while a frame is held (it would be dropped unread), then, once it
    is released, the feed no longer arbitrates — a frame ahead of the book is a gap at once."""
    snapshot, frames = binance_stream(5, 3)
    feed = synced_feed(snapshot, frames[0])
    feed.arbitrate(hold_s=0.05)
    assert feed.on_frame(frames[2], recv_ns=0)[1] == (("BTCUSDT", "held"),)
    with pytest.raises(ValueError, match="held"):
        feed.arbitrate(None)
    assert feed.arbiter_stats() is not None  # still arbitrating, the frame still held
    assert feed.on_frame(frames[1], recv_ns=0)[1] == (("BTCUSDT", "applied"), ("BTCUSDT", "applied"))
    feed.arbitrate(None)
    assert feed.arbiter_stats() is None
    assert feed.on_frame(frames[4], recv_ns=0)[1] == (("BTCUSDT", "gap"),)


def binance_trade(trade_id: int) -> bytes:
    trade = {"e": "trade", "E": 1, "s": "BTCUSDT", "t": trade_id, "p": "100.0", "q": "1", "m": True}
    return orjson.dumps(trade)


def trade_ids(summary: tuple[str, object, object]) -> list[int | None]:
    kind, _, value = summary
    assert kind == "trade" and isinstance(value, tuple)
    return [t.trade_id for t in value]


def test_trades_a_line_brings_ahead_wait_for_the_other_line_and_go_out_in_id_order() -> None:
    """Binance numbers each symbol's trades one by one: A/B lines (or a renewal's two connections)
    where one missed trades the other, lagging, still brings. Before, the line ahead's newer trades
    went out first and the lagging line's after them (each once, time going backwards for a tape);
    now they wait ``hold_s`` for the ones before them, as a book frame ahead of its book does."""
    feed = BookFeed("binance")
    feed.arbitrate(hold_s=0.05)
    delivered: list[int | None] = []
    ahead: list[int | None] = []  # what was delivered once line b brought 103 and 104
    arrivals = [("a", 100), ("b", 103), ("b", 104), ("a", 101), ("a", 102), ("a", 103), ("b", 105)]
    for line, trade_id in arrivals:
        delivered += trade_ids(feed.on_frame(binance_trade(trade_id), recv_ns=0))
        if (line, trade_id) == ("b", 104):
            ahead = list(delivered)
    assert (ahead, delivered) == ([100], [100, 101, 102, 103, 104, 105]), (ahead, delivered)
    stats = feed.arbiter_stats()
    assert stats is not None and stats["duplicate_trades"] == 1 and stats["held_trades"] == 0


def test_a_trade_no_line_fills_in_for_goes_out_by_release_held_and_holds_arbitration_on() -> None:
    """The ids before a held trade never come: ``release_held`` once its ``hold_s`` ran out hands it
    over as a trade summary (what the session's monitor, or ``Dispatcher.defer_expiry``'s release,
    delivers); until then ``arbitrate(None)`` is refused, as for a held book frame (the trade would
    never be delivered)."""
    feed = BookFeed("binance")
    feed.arbitrate(hold_s=0.05)
    assert trade_ids(feed.on_frame(binance_trade(100), recv_ns=0)) == [100]
    ahead = trade_ids(feed.on_frame(binance_trade(102), recv_ns=0))
    assert ahead == [], ahead
    with pytest.raises(ValueError, match="held"):
        feed.arbitrate(None)
    assert feed.release_held(now_ns=int(0.04e9))[0] == "book"
    assert trade_ids(feed.release_held(now_ns=int(0.05e9))) == [102]
    stats = feed.arbiter_stats()
    assert stats is not None and stats["held_trades"] == 0 and stats["trades_released_as_gap"] == 1
    feed.arbitrate(None)
    assert trade_ids(feed.on_frame(binance_trade(104), recv_ns=0)) == [104]


def test_arbitrate_none_names_what_is_held() -> None:
    """The refusal of ``arbitrate(None)`` names what waits: before, it said "frames are held" while
    only a trade was (a user then looked for book frames that were not there)."""
    feed = BookFeed("binance")
    feed.arbitrate(hold_s=0.05)
    feed.on_frame(binance_trade(100), recv_ns=0)
    feed.on_frame(binance_trade(102), recv_ns=0)
    with pytest.raises(ValueError) as only_trade:
        feed.arbitrate(None)
    assert str(only_trade.value) == "1 trade is held: release_held() them before arbitrate(None)", str(
        only_trade.value
    )

    snapshot, frames = binance_stream(5, 3)
    feed = synced_feed(snapshot, frames[0])
    feed.arbitrate(hold_s=0.05)
    assert feed.on_frame(frames[2], recv_ns=0)[1] == (("BTCUSDT", "held"),)
    assert feed.on_frame(frames[3], recv_ns=0)[1] == (("BTCUSDT", "held"),)
    with pytest.raises(ValueError) as frames_only:
        feed.arbitrate(None)
    assert str(frames_only.value) == "2 book frames are held: release_held() them before arbitrate(None)", (
        str(frames_only.value)
    )
    feed.on_frame(binance_trade(100), recv_ns=0)
    feed.on_frame(binance_trade(102), recv_ns=0)
    with pytest.raises(ValueError) as both:
        feed.arbitrate(None)
    assert (
        str(both.value) == "2 book frames and 1 trade are held: release_held() them before arbitrate(None)"
    ), str(both.value)
