"""``RemoteMarketData`` (python/tickwire/remote/market.py) given the subscriber's ``dropped`` item: the
"rust" engine's backlog was full and its oldest messages went (rust/bus/backlog.rs). The books that
lost one go out of sync and resync; what was lost is counted and reported."""

from __future__ import annotations

import struct
import time
from typing import Any

from tickwire.remote.market import RemoteMarketData
from tickwire.session.events import StatusEvent


def _snapshot(sym: bytes, venue_id: int) -> bytes:
    """A bus book snapshot (kind 2): one bid at 1.00, one ask at 1.01."""
    head = struct.pack(
        "<cBBBBBHQqqqII", b"T", 1, 2, 0, 2, 0, len(sym), 1, venue_id, venue_id, time.time_ns(), 1, 1
    )
    return head + sym + struct.pack("<qqqq", 100, 1, 101, 1)


def _client(symbols: list[str]) -> tuple[RemoteMarketData, list[StatusEvent], list[tuple[str, str]]]:
    events: list[StatusEvent] = []
    md = RemoteMarketData("nats://127.0.0.1:1", "binance", symbols, on_status=events.append)
    asked: list[tuple[str, str]] = []
    md.resync = lambda key, why: asked.append((key, why))  # type: ignore[method-assign]
    for s in symbols:
        md.feed.on_frame(_snapshot(s.encode(), 5), recv_ns=0)
        assert md.book(s).is_synced
    return md, events, asked


def _counts(**kw: Any) -> dict[str, Any]:
    return {"books": 0, "trades": 0, "bbos": 0, "other": 0, "all_books": False, **kw}


def test_a_book_that_lost_messages_goes_out_of_sync_and_resyncs_and_the_loss_is_reported() -> None:
    md, events, asked = _client(["BTCUSDT", "ETHUSDT"])
    md.on_summary(("dropped", (("ETHUSDT", "dropped"),), _counts(books=3, trades=2)), None)
    assert not md.book("ETHUSDT").is_synced, "a book with a hole still synced"
    assert md.book("BTCUSDT").is_synced  # it lost nothing
    assert asked == [("ETHUSDT", "bus backlog full")]
    assert [(e.kind, e.symbol) for e in events] == [("out_of_sync", "ETHUSDT"), ("dropped", None)]
    assert events[-1].detail == "bus backlog full, oldest messages dropped: 3 books, 2 trades"
    assert (md.counters["dropped"], md.counters["gaps"]) == (5, 1)
    assert md.health()["dropped"] == 5


def test_too_many_books_to_name_resyncs_every_book() -> None:
    md, _, asked = _client(["BTCUSDT", "ETHUSDT"])
    md.on_summary(("dropped", (), _counts(books=9_000, all_books=True)), None)
    assert not md.book("BTCUSDT").is_synced and not md.book("ETHUSDT").is_synced, "books with holes synced"
    assert sorted(asked) == [("BTCUSDT", "bus backlog full"), ("ETHUSDT", "bus backlog full")]


def test_lost_trades_alone_leave_the_books_in_sync_but_are_reported() -> None:
    md, events, asked = _client(["BTCUSDT"])
    md.on_summary(("dropped", (), _counts(trades=7, bbos=1)), None)
    assert md.book("BTCUSDT").is_synced and asked == [], asked
    told = [(e.kind, e.detail) for e in events]
    assert told == [("dropped", "bus backlog full, oldest messages dropped: 7 trades, 1 bbos")], told
