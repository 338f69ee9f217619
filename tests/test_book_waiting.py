"""A book waiting for its REST snapshot refuses bad diffs as a synced book does, on the real
Binance capture: a diff it could never hold (a negative quantity, a price past an i64 mantissa at
the book's scale) is refused with a typed error and changes nothing, not kept to blow up the good
snapshot that comes next (``rust/book/mod.rs``: ``apply_diff``, ``replay``)."""

from __future__ import annotations

import base64
import json
from functools import cache

import pytest
from feed_state import whole_state
from shared_files import shared_path
from test_book_fuzz import step
from tickwire import BookFeed, errors


@cache
def _binance_events() -> tuple[tuple[str, str, str], ...]:
    out = []
    for line in shared_path("fixtures", "real", "binance_spot.jsonl").read_text().splitlines():
        ev = json.loads(line)
        if ev["kind"] not in ("recv", "http"):
            continue
        payload = base64.b64decode(ev["b64"]).decode() if "b64" in ev else ev["text"]
        sym = ev["url"].split("symbol=")[-1].split("&")[0] if ev["kind"] == "http" else ""
        out.append((ev["kind"], sym, payload))
    return tuple(out)


def _with_level(payload: str, px: str, qty: str) -> str:
    msg = json.loads(payload)
    msg["data"]["b"].append([px, qty])
    return json.dumps(msg)


BAD = {
    "negative": ("0.35", "-1", errors.BookError),
    "overflow": ("9223372036854775807", "1", errors.ValueRangeError),
}


@pytest.mark.parametrize("bad", sorted(BAD))
def test_a_binance_diff_no_book_can_hold_is_refused_while_the_book_waits_for_its_snapshot(bad: str) -> None:
    """NKNUSDT's first diff arrives before its REST snapshot (the book buffers). A copy of a later diff
    with one level no book can hold, arriving then, must be refused whole: the snapshot that follows
    then syncs the book exactly as in the capture without that frame."""
    events = _binance_events()
    snap = next(i for i, e in enumerate(events) if e[0] == "http" and e[1] == "NKNUSDT")
    nkn = [i for i, e in enumerate(events) if e[0] == "recv" and "nknusdt@depth" in e[2]]
    later = next(i for i in nkn if i > snap)
    px, qty, err = BAD[bad]
    frame = _with_level(events[later][2], px, qty)
    feed, ref = BookFeed("binance"), BookFeed("binance")
    for ev in events[:snap]:
        step(feed, ev)
        step(ref, ev)
    assert feed.book("NKNUSDT").state == "buffering"
    before = whole_state(feed)
    try:
        feed.on_frame(frame)
        refused: object = None
    except errors.TickwireError as e:
        refused = e
    # The overflow needs the snapshot's 8 decimals to show, so only the negative quantity can be
    # refused at once; either way the good snapshot must not be the one refused.
    if bad == "negative":
        assert isinstance(refused, err), f"a negative quantity was taken while buffering: {refused!r}"
        assert whole_state(feed) == before
    for ev in events[snap:]:
        step(feed, ev)
        step(ref, ev)
    assert feed.needs() == ref.needs() == (), f"the good snapshot was refused: {feed.needs()}"
    assert whole_state(feed) == whole_state(ref)


def test_a_binance_diff_no_book_can_hold_is_refused_while_the_book_resyncs() -> None:
    """A synced NKNUSDT book (8 price decimals) loses a diff and resyncs; a diff with a price past
    an i64 mantissa at 8 decimals, or a negative quantity, is then refused as it would be when
    synced (ValueRangeError / BookError), and the buffer is left as it was."""
    events = _binance_events()
    nkn = [i for i, e in enumerate(events) if e[0] == "recv" and "nknusdt@depth" in e[2]]
    feed = BookFeed("binance")
    for i, ev in enumerate(events[: nkn[10]]):
        if i != nkn[8]:  # lost on the way: a gap
            step(feed, ev)
    assert feed.book("NKNUSDT").state == "resyncing"
    for px, qty, err in BAD.values():
        before = whole_state(feed)
        with pytest.raises(err):
            feed.on_frame(_with_level(events[nkn[11]][2], px, qty))
        assert whole_state(feed) == before
