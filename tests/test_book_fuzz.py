"""Fuzzing BookFeed.on_frame with mutated real frames: only tickwire errors come out (never a crash, a
panic or another exception), and a frame that is refused leaves every book exactly as it was."""

from __future__ import annotations

import base64
import json
from functools import cache

from conftest import shared_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


def _feed(venue: str) -> BookFeed:
    feed = BookFeed(venue)
    warm, _ = _frames(venue)
    for kind, sym, payload in warm:
        try:
            if kind == "http":
                feed.on_snapshot(sym, payload)
            else:
                feed.on_frame(payload)
        except errors.TickwireError:
            pass
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
        after = _state(feed)
        # A mangled symbol may have named a new book; it must be empty.
        assert after[: len(before)] == before
        assert all(bid == [] and ask == [] for _, _, bid, ask in after[len(before) :])
    # Whatever happened, the feed still takes the next genuine frame (a typed error at most: the
    # mutation may have widened a book's scale past what that frame's values fit).
    try:
        feed.on_frame(later[(which + 1) % len(later)])
    except errors.TickwireError:
        pass
