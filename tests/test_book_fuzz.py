"""Fuzzing BookFeed.on_frame with mutated real frames: only tickwire errors come out (never a crash, a
panic or another exception), and a frame that is refused leaves every book exactly as it was. Frames
of several book messages (OKX `data` arrays, Kraken v2 `data` entries) apply all or nothing."""

from __future__ import annotations

import base64
import json
from functools import cache

import pytest
from feed_state import whole_state
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shared_files import shared_path
from tickwire import BookFeed, errors

# venue -> capture; each frame of these venues holds at most one book message, so a refused frame
# must not have changed anything.
CAPTURES = {"okx": "okx.jsonl", "kraken": "kraken.jsonl", "binance": "binance_spot.jsonl", "htx": "htx.jsonl"}
WARMUP = 40


@cache
def _frames(venue: str) -> tuple[tuple[tuple[str, str, bytes], ...], tuple[bytes, ...]]:
    """(warm-up events as (kind, symbol, payload), then the later book frames to mutate)."""
    path = shared_path("fixtures", "real", CAPTURES[venue])
    events = []
    for line in path.read_text().splitlines():
        ev = json.loads(line)
        if ev["kind"] not in ("recv", "http"):
            continue
        payload = base64.b64decode(ev["b64"]) if "b64" in ev else ev["text"].encode()
        sym = ev["url"].split("symbol=")[-1].split("&")[0] if ev["kind"] == "http" else ""
        events.append((ev["kind"], sym, payload))
    http = [e for e in events if e[0] == "http"]
    recv = [e for e in events if e[0] == "recv"]
    warm = tuple(http + recv[:WARMUP]) if venue == "binance" else tuple(recv[:WARMUP])
    later = tuple(p for _, _, p in recv[WARMUP:] if venue == "htx" or b"book" in p or b"depth" in p)
    return warm, later[:200]


def step(feed: BookFeed, event: tuple[str, str, bytes | str]) -> None:
    """One captured event into ``feed`` (a REST snapshot or a frame); a typed refusal passed over."""
    kind, sym, payload = event
    try:
        if kind == "http":
            feed.on_snapshot(sym, payload)
        else:
            feed.on_frame(payload)
    except errors.TickwireError:
        pass


def _feed(venue: str) -> BookFeed:
    feed = BookFeed(venue)
    warm, _ = _frames(venue)
    for ev in warm:
        step(feed, ev)
    return feed


def _state(feed: BookFeed) -> list[object]:
    return [
        (s, b.state, b.levels_exact("bid", 10**6), b.levels_exact("ask", 10**6))
        for s in feed.symbols()
        for b in [feed.book(s)]
    ]


mutation = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "cut", "insert", "delete"]),
        st.integers(0, 1 << 30),
        st.integers(0, 255),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CAPTURES)), st.integers(0, 1 << 30), mutation)
def test_mutated_real_frames_never_crash_and_refusals_change_nothing(
    venue: str, which: int, edits: list[tuple[str, int, int]]
) -> None:
    _, later = _frames(venue)
    frame = bytearray(later[which % len(later)])
    for op, pos, byte in edits:
        i = pos % max(len(frame), 1)
        if op == "flip" and frame:
            frame[i] ^= 1 << (byte % 8)
        elif op == "set" and frame:
            frame[i] = byte
        elif op == "cut":
            del frame[i:]
        elif op == "insert":
            frame.insert(i, byte)
        elif op == "delete" and frame:
            del frame[i]
    feed = _feed(venue)
    before = _state(feed)
    try:
        feed.on_frame(bytes(frame))
    except errors.TickwireError:
        # Not even a book for a symbol the mangling made up.
        assert _state(feed) == before
    # Whatever happened, the feed still takes the next genuine frame (a typed error at most: the
    # mutation may have widened a book's scale past what that frame's values fit).
    try:
        feed.on_frame(later[(which + 1) % len(later)])
    except errors.TickwireError:
        pass


# --- frames of several book messages: all or nothing ---------------------------------------------


# A level no book can take, and the error class it must raise: a negative quantity or price, and a
# price past an i64 mantissa at the book's scale (every captured book has at least one price decimal).
BAD_LEVELS = {
    "negative": ("96", "-1", errors.BookError),
    "negative_price": ("-96", "1", errors.BookError),
    "overflow": ("9223372036854775807", "1", errors.ValueRangeError),
}


def _refuses_whole(feed: BookFeed, frame: str, bad: str) -> None:
    before, errors_before = whole_state(feed), feed.stats()["errors"]
    with pytest.raises(BAD_LEVELS[bad][2]):
        feed.on_frame(frame)
    assert whole_state(feed) == before
    assert feed.stats()["errors"] == errors_before + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 150), st.integers(2, 4), st.integers(0, 1 << 30), st.sampled_from([None, *BAD_LEVELS]))
def test_real_okx_updates_merged_into_one_frame_apply_all_or_nothing(
    start: int, n: int, pick: int, bad: str | None
) -> None:
    _, later = _frames("okx")
    feed, ref = _feed("okx"), _feed("okx")
    for frame in later[:start]:
        for f in (feed, ref):
            try:
                f.on_frame(frame)
            except errors.TickwireError:
                pass
    # The next n updates of one instrument, as OKX would send them in one `data` array.
    msgs = [json.loads(f) for f in later[start:]]
    inst = msgs[0]["arg"]["instId"]
    same = [m for m in msgs if m["arg"]["instId"] == inst and m["action"] == "update"][:n]
    entries = [e for m in same for e in m["data"]]
    assume(len(entries) >= 2)
    if bad is not None:
        px, qty, _ = BAD_LEVELS[bad]
        entries[1 + pick % (len(entries) - 1)]["asks"].append([px, qty, "0", "1"])
        merged = json.dumps({"arg": same[0]["arg"], "action": "update", "data": entries})
        _refuses_whole(feed, merged, bad)
        return
    merged = json.dumps({"arg": same[0]["arg"], "action": "update", "data": entries})
    got = feed.on_frame(merged)[1]
    # The independent truth: each entry sent as its own frame.
    want = tuple(
        u
        for e in entries
        for u in ref.on_frame(json.dumps({"arg": same[0]["arg"], "action": "update", "data": [e]}))[1]
    )
    assert got == want
    assert whole_state(feed) == whole_state(ref)


def _kraken_v2_frame(
    kind: str, entries: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]
) -> str:
    def side(levels: list[tuple[str, str]]) -> str:
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels)

    data = ",".join(f'{{"symbol":"{s}","bids":[{side(b)}],"asks":[{side(a)}]}}' for s, b, a in entries)
    return f'{{"channel":"book","type":"{kind}","data":[{data}]}}'


# Bids at or below the snapshot's best bid and asks at or above its best ask: nothing crosses.
_kraken_level = st.tuples(
    st.integers(0, 400), st.sampled_from(["0", "0.5", "1.54582015", "0.00000001", "12"])
)
_kraken_entry = st.tuples(
    st.sampled_from(["BTC/USD", "ETH/USD"]),
    st.lists(_kraken_level, max_size=4),
    st.lists(_kraken_level, max_size=4),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(_kraken_entry, min_size=2, max_size=4),
    st.integers(0, 1 << 30),
    st.sampled_from([None, *BAD_LEVELS]),
)
def test_kraken_v2_data_entries_apply_all_or_nothing(
    raw: list[tuple[str, list[tuple[int, str]], list[tuple[int, str]]]], pick: int, bad: str | None
) -> None:
    feed, ref = BookFeed("kraken"), BookFeed("kraken")
    bids, asks = [("45283.5", "0.1"), ("45280.3", "1.5")], [("45285.2", "0.001"), ("45290.2", "0.2")]
    snapshot = [(s, bids, asks) for s in ("BTC/USD", "ETH/USD")]
    for f in (feed, ref):
        f.on_frame(_kraken_v2_frame("snapshot", snapshot))
    entries = [
        (s, [(f"{452835 - t}e-1", q) for t, q in bids], [(f"{452852 + t}e-1", q) for t, q in asks])
        for s, bids, asks in raw
    ]
    if bad is not None:
        px, qty, _ = BAD_LEVELS[bad]
        entries[1 + pick % (len(entries) - 1)][1].append((px, qty))
        _refuses_whole(feed, _kraken_v2_frame("update", entries), bad)
        return
    got = feed.on_frame(_kraken_v2_frame("update", entries))[1]
    want = tuple(u for e in entries for u in ref.on_frame(_kraken_v2_frame("update", [e]))[1])
    assert got == want == tuple((s, "applied") for s, _, _ in entries)
    assert whole_state(feed) == whole_state(ref)
