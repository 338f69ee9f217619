"""``BookFeed(touch=True)``: a book frame's summary carries each updated book's touch, so decode,
apply and reading the touch are one call. Checked against a second feed fed the same frames and
asked ``top()`` (every venue: real captures and the simulator's streams) and the simulator's own
book at the end; against a dict reference book in ``test_book_top.py``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from shared_files import shared_path
from sim_frames import VENUES, Event, sim_events
from tickwire import BookFeed, errors

CAPTURES = {
    "binance": "binance_spot.jsonl",
    "binance-usdm": "binance_usdm.jsonl",
    "okx": "okx.jsonl",
    "kraken": "kraken.jsonl",
    "htx": "htx.jsonl",
}


def _capture(venue: str) -> list[Event]:
    path = shared_path("fixtures", "real", CAPTURES[venue])
    events: list[Event] = []
    for line in path.read_text().splitlines():
        ev = json.loads(line)
        if ev["kind"] not in ("recv", "http"):
            continue
        payload = base64.b64decode(ev["b64"]) if "b64" in ev else ev["text"].encode()
        sym = ev["url"].split("symbol=")[-1].split("&")[0] if ev["kind"] == "http" else None
        events.append((sym, payload))
    return events


def _apply(feed: BookFeed, ev: Event) -> object:
    sym, payload = ev
    try:
        return feed.on_snapshot(sym, payload) if sym is not None else feed.on_frame(payload)
    except errors.TickwireError as e:
        return type(e)


def _same_frames_both_ways(venue: str, events: list[Event]) -> BookFeed:
    """Every event into a ``touch=True`` feed and a plain one: the same kinds, outcomes, refusals and
    other values, and for book frames the touches the plain feed's ``top()`` reads."""
    touching, plain = BookFeed(venue, touch=True), BookFeed(venue)
    books = 0
    for i, ev in enumerate(events):
        got, want = _apply(touching, ev), _apply(plain, ev)
        if isinstance(want, type):
            assert got is want, i
            continue
        assert isinstance(got, tuple) and isinstance(want, tuple)
        assert got[:2] == want[:2], i
        if got[0] == "book":
            books += 1
            assert got[2] == tuple(plain.book(s).top() for s, _ in want[1]), i
        else:
            assert got[2] == want[2], i
    assert books > 100  # the stream is mostly book frames: the comparison above was made
    return touching


@pytest.mark.parametrize("venue", sorted(CAPTURES))
def test_touch_of_every_real_frame_is_what_top_reads(venue: str) -> None:
    _same_frames_both_ways(venue, _capture(venue))


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_touch_of_every_simulated_frame_ends_on_the_simulators_book(venue: str) -> None:
    events, (bids, asks) = sim_events(venue, extra=True)
    feed = _same_frames_both_ways(venue, list(events))
    sym = VENUES[venue][1]
    (bp, bq), (ap, aq) = bids[0], asks[0]
    assert feed.book(sym).top() == (float(bp), float(bq), float(ap), float(aq))


def test_frame_of_two_books_carries_both_touches_in_order() -> None:
    """A Coinbase ``l2_data`` frame with events for two products: one touch per outcome, each its
    own book's; a refused frame after it raises and leaves both touches as they were."""

    def l2(seq: int, kind: str, *events: tuple[str, list[tuple[str, str, str]]]) -> str:
        evs = [
            {
                "type": kind,
                "product_id": pid,
                "updates": [
                    {"side": s, "event_time": "2026-01-01T00:00:00Z", "price_level": p, "new_quantity": q}
                    for s, p, q in ups
                ],
            }
            for pid, ups in events
        ]
        frame = {"channel": "l2_data", "client_id": "", "timestamp": "2026-01-01T00:00:00Z"}
        return json.dumps(frame | {"sequence_num": seq, "events": evs})

    feed = BookFeed("coinbase", touch=True)
    btc = ("BTC-USD", [("bid", "100.5", "1"), ("offer", "101", "2")])
    eth = ("ETH-USD", [("bid", "10.25", "3"), ("offer", "10.5", "4")])
    kind, outcomes, tops = feed.on_frame(l2(0, "snapshot", btc, eth))
    assert kind == "book" and [s for s, _ in outcomes] == ["BTC-USD", "ETH-USD"]
    assert tops == ((100.5, 1.0, 101.0, 2.0), (10.25, 3.0, 10.5, 4.0))
    kind, outcomes, tops = feed.on_frame(
        l2(1, "update", ("ETH-USD", [("offer", "10.5", "0")]), ("BTC-USD", [("bid", "100.75", "5")]))
    )
    assert [s for s, _ in outcomes] == ["ETH-USD", "BTC-USD"]
    assert tops == (None, (100.75, 5.0, 101.0, 2.0))
    assert tops == tuple(feed.book(s).top() for s, _ in outcomes)
    with pytest.raises(errors.DecodeError):
        feed.on_frame(l2(2, "update", btc)[:-9])
    assert (feed.book("BTC-USD").top(), feed.book("ETH-USD").top()) == (tops[1], None)


def test_an_unchanged_touch_returns_the_same_summary_and_a_changed_one_is_what_top_returns() -> None:
    """What README "Decode, apply and the touch in one call" says of the objects: a frame leaving its
    book's touch and outcome as the last such frame did returns that summary again; after one that
    changes the touch, ``top()`` returns the very tuple the summary holds."""
    events, _ = sim_events("clarofinlore")
    feed = BookFeed("clarofinlore", touch=True)
    last: dict[tuple[str, str], tuple[Any, ...]] = {}
    same = changed = 0
    for ev in events:
        s = _apply(feed, ev)
        if not (isinstance(s, tuple) and s[0] == "book" and len(s[1]) == 1):
            continue
        key, prev = s[1][0], last.get(s[1][0])
        if prev is not None and prev[2] == s[2]:
            assert s is prev
            same += 1
        elif prev is not None:
            assert s[1] is prev[1]  # ((symbol, outcome),) is made once
            top = feed.book(key[0]).top()
            assert top is s[2][0] or top is None is s[2][0]
            changed += 1
        last[key] = s
    assert same > 10 and changed > 10
