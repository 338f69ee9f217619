"""A/B arbitration against a real book feed: two lines with independent losses must give exactly
the book of one loss-free line, never a gap, as long as every message reaches one of them."""

from __future__ import annotations

import random

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire import BookFeed
from tickwire.recovery.arbiter import DROP, HELD, PASS, Arbiter
from tickwire.venues.binance import Adapter as BinanceAdapter
from tickwire.venues.okx import Adapter as OkxAdapter


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
    now = [0]
    book = feed.book("BTCUSDT")
    arb = Arbiter(
        lambda k: book.last_update_id if book.is_synced else None,
        BinanceAdapter().sequence,
        hold_s=1.0,
        clock=lambda: now[0],
    )
    # Interleave the two lines' deliveries in a random but per-line ordered way.
    a = [f for i, f in enumerate(frames[1:], 1) if i not in lost_a]
    b = [f for i, f in enumerate(frames[1:], 1) if i not in lost_b]
    while a or b:
        line = a if (a and (not b or order.random() < 0.5)) else b
        frame = line.pop(0)
        if arb.admit(memoryview(frame)) == PASS:
            _, updates, _ = feed.on_frame(frame)
            assert all(o != "gap" for _, o in updates), "arbitration let a gap through"
        for p in arb.ready():
            feed.on_frame(p)
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


def test_duplicates_dropped_ahead_held_then_filled() -> None:
    snapshot, frames = binance_stream(4, 1)
    feed = synced_feed(snapshot, frames[0])
    book = feed.book("BTCUSDT")
    now = [0]
    arb = Arbiter(lambda k: book.last_update_id, BinanceAdapter().sequence, hold_s=0.05, clock=lambda: now[0])
    assert arb.admit(memoryview(frames[0])) == DROP  # already in the book
    assert arb.admit(memoryview(frames[2])) == HELD  # frames[1] missing on this line
    assert arb.ready() == []
    assert arb.admit(memoryview(frames[1])) == PASS  # the other line
    feed.on_frame(frames[1])
    assert arb.ready() == [frames[2]]
    assert arb.stats()["filled_from_other_line"] == 1


def test_a_hole_no_line_fills_is_released_to_the_feed_as_a_gap() -> None:
    snapshot, frames = binance_stream(4, 2)
    feed = synced_feed(snapshot, frames[0])
    book = feed.book("BTCUSDT")
    now = [0]
    arb = Arbiter(
        lambda k: book.last_update_id if book.is_synced else None,
        BinanceAdapter().sequence,
        hold_s=0.05,
        clock=lambda: now[0],
    )
    assert arb.admit(memoryview(frames[3])) == HELD
    now[0] = int(0.06e9)
    released = arb.ready()
    assert released == [frames[3]]
    _, updates, _ = feed.on_frame(released[0])
    assert updates == (("BTCUSDT", "gap"),)
    assert arb.stats()["released_as_gap"] == 1


def test_okx_sequence_reads_updates_snapshots_and_resets() -> None:
    seq = OkxAdapter().sequence
    upd = (
        b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update",'
        b'"data":[{"asks":[],"bids":[],"ts":"1","checksum":1,"prevSeqId":10,"seqId":15}]}'
    )
    snap = upd.replace(b'"prevSeqId":10', b'"prevSeqId":-1')
    assert seq(memoryview(upd)) == ("BTC-USDT", 11, 15)
    assert seq(memoryview(snap)) == ("BTC-USDT", 0, 15)
    reset = upd.replace(b'"prevSeqId":10,"seqId":15', b'"prevSeqId":15,"seqId":3')
    _, first, last = seq(memoryview(reset))  # type: ignore[misc]
    arb = Arbiter(lambda k: 15, seq)
    assert last < first - 1 and arb.admit(memoryview(reset)) == PASS
