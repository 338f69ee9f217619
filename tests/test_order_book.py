"""OrderBook queries beyond floats: exact Decimal values and top-N levels written into caller buffers,
checked against the OKX capture read independently here with Decimal."""

from __future__ import annotations

import array
import json
from decimal import Decimal
from typing import Any

import pytest
from shared_files import shared_path
from tickwire import BookFeed


def _okx_first_snapshot() -> tuple[BookFeed, str, dict[str, list[list[str]]]]:
    """A feed holding the capture's first OKX book snapshot, and that snapshot's data as received."""
    path = shared_path("fixtures", "real", "okx.jsonl")
    for line in path.read_text().splitlines():
        ev: dict[str, Any] = json.loads(line)
        if ev["kind"] != "recv":
            continue
        msg = json.loads(ev["text"])
        if msg.get("action") == "snapshot":
            feed = BookFeed("okx")
            feed.on_frame(ev["text"])
            return feed, msg["arg"]["instId"], msg["data"][0]
    raise AssertionError("no OKX snapshot in the capture")


def test_exact_levels_are_the_received_text() -> None:
    feed, sym, data = _okx_first_snapshot()
    book = feed.book(sym)
    want_bids = [(Decimal(p), Decimal(q)) for p, q, *_ in data["bids"]]
    want_asks = [(Decimal(p), Decimal(q)) for p, q, *_ in data["asks"]]
    assert book.levels_exact("bid", 1000) == want_bids
    assert book.levels_exact("ask", 7) == want_asks[:7]
    assert book.best_bid_exact() == want_bids[0]
    assert book.best_ask_exact() == want_asks[0]
    # Written with the venue's decimals, not just numerically equal.
    assert [str(p) for p, _ in book.levels_exact("bid", 5)] == [p for p, *_ in data["bids"][:5]]
    assert book.level_count("bid") == len(want_bids) and book.level_count("ask") == len(want_asks)


def test_levels_into_float_and_int64_buffers() -> None:
    feed, sym, data = _okx_first_snapshot()
    book = feed.book(sym)
    prices, qtys = array.array("d", [0.0] * 10), array.array("d", [0.0] * 10)
    assert book.levels_into("ask", prices, qtys) == 10
    assert list(zip(prices, qtys, strict=True)) == [(float(p), float(q)) for p, q, *_ in data["asks"][:10]]
    # int64: exact mantissas at the book's decimals.
    pm, qm = array.array("q", [0] * 3), array.array("q", [0] * 5)
    assert book.levels_into("bid", pm, qm) == 3
    scale_p, scale_q = Decimal(10) ** book.price_decimals, Decimal(10) ** book.qty_decimals
    assert [(Decimal(p) / scale_p, Decimal(q) / scale_q) for p, q in zip(pm, qm[:3], strict=True)] == [
        (Decimal(p), Decimal(q)) for p, q, *_ in data["bids"][:3]
    ]
    assert list(qm[3:]) == [0, 0]  # untouched past the shorter buffer
    # More room than levels: only the levels present are written.
    big = array.array("d", [-1.0] * (len(data["bids"]) + 3))
    assert book.levels_into("bid", big, array.array("d", big)) == len(data["bids"])
    assert big[-3:].tolist() == [-1.0] * 3


def test_levels_into_refuses_wrong_buffers() -> None:
    feed, sym, _ = _okx_first_snapshot()
    book = feed.book(sym)
    with pytest.raises(TypeError):
        book.levels_into("bid", bytes(80), bytes(80))  # read-only
    with pytest.raises(TypeError):
        book.levels_into("bid", array.array("f", [0.0]), array.array("f", [0.0]))  # float32
    with pytest.raises(TypeError):
        book.levels_into("bid", array.array("d", [0.0]), array.array("q", [0]))  # mixed
    with pytest.raises(ValueError):
        book.levels_into("middle", array.array("d", [0.0]), array.array("d", [0.0]))


def test_levels_into_numpy_arrays() -> None:
    np = pytest.importorskip("numpy", reason="numpy is optional; levels_into takes any buffer")
    feed, sym, data = _okx_first_snapshot()
    book = feed.book(sym)
    px, qty = np.zeros(25), np.zeros(25)
    n = book.levels_into("bid", px, qty)
    assert n == 25
    assert px.tolist() == [float(p) for p, *_ in data["bids"][:25]]
    strided = np.zeros((25, 2))
    with pytest.raises(TypeError):
        book.levels_into("bid", strided[:, 0], strided[:, 1])  # not contiguous
