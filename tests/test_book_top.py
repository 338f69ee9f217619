"""`OrderBook.top()`: the touch of both sides in one call, equal to best_bid()/best_ask()."""

from __future__ import annotations

import json
import random
from decimal import Decimal

from tickwire import BookFeed

SNAP = (
    '{"channel":"orderbook.btc-usdt","type":"snapshot","seq":1,"prev_seq":0,'
    '"bids":[["100.25","1.5"],["99.5","2"]],"asks":[["101.75","0.125"],["102","3"]]}'
)


def test_top_is_both_touches_or_none() -> None:
    feed = BookFeed("clarofinlore")
    feed.on_frame(SNAP)
    book = feed.book("btc-usdt")
    assert book.top() == (100.25, 1.5, 101.75, 0.125)
    assert book.top() == (*book.best_bid(), *book.best_ask())  # type: ignore[misc]
    # Empty the ask side: no touch to report.
    feed.on_frame(
        '{"channel":"orderbook.btc-usdt","type":"update","seq":2,"prev_seq":1,"bids":[],'
        '"asks":[["101.75","0"],["102","0"]]}'
    )
    assert book.best_ask() is None and book.best_bid() == (100.25, 1.5)
    assert book.top() is None


def test_best_price_mantissas_are_the_decimal_touch_at_any_exact_scale() -> None:
    """Against the frames' own text read with ``Decimal``: the mantissa at a scale is exact, and a
    scale too coarse for the price is refused rather than rounded."""
    from decimal import Decimal

    import pytest

    feed = BookFeed("clarofinlore")
    feed.on_frame(SNAP)
    book = feed.book("btc-usdt")
    bid, ask = Decimal("100.25"), Decimal("101.75")
    assert book.best_bid_mantissa() == int(bid.scaleb(book.price_decimals))
    for scale in (2, 3, 8):
        assert book.best_bid_mantissa(scale) == int(bid.scaleb(scale))
        assert book.best_ask_mantissa(scale) == int(ask.scaleb(scale))
    with pytest.raises(ValueError, match="not exact at 1 decimals"):
        book.best_bid_mantissa(1)  # 100.25 has two decimals
    with pytest.raises(ValueError, match="past an i64"):
        book.best_bid_mantissa(18)  # 100.25e18 is past an i64 (before: "has more decimals")
    feed.on_frame(
        '{"channel":"orderbook.btc-usdt","type":"update","seq":2,"prev_seq":1,"bids":[],'
        '"asks":[["101.75","0"],["102","0"]]}'
    )
    assert book.best_ask_mantissa(2) is None and book.best_bid_mantissa(2) == 10025


def test_top_follows_every_change_of_the_touch() -> None:
    """``top()`` returns its last tuple again while the touch is unchanged: after each of many
    random updates (at the touch, behind it, a finer price widening the book's decimals, sides
    emptied and refilled) it still equals a dict reference book's touch; so does the touch a
    ``touch=True`` feed hands back in each frame's summary (the same tuple again while unchanged)."""

    rnd = random.Random(13)
    feed, touching = BookFeed("clarofinlore"), BookFeed("clarofinlore", touch=True)
    feed.on_frame(SNAP)
    assert touching.on_frame(SNAP)[2] == ((100.25, 1.5, 101.75, 0.125),)
    book = feed.book("btc-usdt")
    ref: dict[str, dict[Decimal, Decimal]] = {
        "bids": {Decimal("100.25"): Decimal("1.5"), Decimal("99.5"): Decimal("2")},
        "asks": {Decimal("101.75"): Decimal("0.125"), Decimal("102"): Decimal("3")},
    }
    for seq in range(2, 1500):
        side = rnd.choice(["bids", "asks"])
        base = Decimal("100") if side == "bids" else Decimal("102")
        step = Decimal("0.005") if seq > 700 and rnd.random() < 0.1 else Decimal("0.25")
        px = base + rnd.randint(-4, 3) * step
        qty = Decimal(rnd.choice(["0", "0", "1", "2.5", "0.125"]))
        if side == "bids" and ref["asks"] and px >= min(ref["asks"]):
            continue
        if side == "asks" and ref["bids"] and px <= max(ref["bids"]):
            continue
        lv = [[str(px), str(qty)]]
        frame = {"channel": "orderbook.btc-usdt", "type": "update", "seq": seq, "prev_seq": seq - 1}
        frame |= {"bids": lv if side == "bids" else [], "asks": lv if side == "asks" else []}
        feed.on_frame(json.dumps(frame))
        summary = touching.on_frame(json.dumps(frame))
        if qty:
            ref[side][px] = qty
        else:
            ref[side].pop(px, None)
        bids, asks = ref["bids"], ref["asks"]
        want = None
        if bids and asks:
            bb, ba = max(bids), min(asks)
            want = (float(bb), float(bids[bb]), float(ba), float(asks[ba]))
        assert book.top() == want, seq
        assert book.top() == want  # the remembered tuple
        assert summary == ("book", (("btc-usdt", "applied"),), (want,)), seq
    assert book.price_decimals == 3  # the finer prices widened the book on the way


def _update(sym: str, seq: int, bids: list[list[str]], asks: list[list[str]]) -> str:
    frame = {"channel": f"orderbook.{sym}", "type": "update", "seq": seq, "prev_seq": seq - 1}
    return json.dumps(frame | {"bids": bids, "asks": asks})


def test_top_keeps_one_tuple_per_book_shared_by_its_views() -> None:
    """The remembered tuple is the book's, whichever view asks: two books of one feed never
    answer with each other's, and a second view of a book gets the first view's tuple."""
    feed = BookFeed("clarofinlore")
    feed.on_frame(SNAP)
    eth_snap = SNAP.replace("btc-usdt", "eth-usdt").replace("100.25", "10.25").replace("99.5", "9.5")
    feed.on_frame(eth_snap.replace("101.75", "11.75").replace('"102"', '"12"'))
    btc, eth, btc2 = feed.book("btc-usdt"), feed.book("eth-usdt"), feed.book("btc-usdt")
    for seq in range(2, 40):
        feed.on_frame(_update("btc-usdt", seq, [[f"{100 + seq % 3 * 0.25}", "1"]], []))
        want = (*btc.best_bid(), *btc.best_ask())  # type: ignore[misc]
        t = btc.top()
        assert t == want and eth.top() == (10.25, 1.5, 11.75, 0.125)
        assert btc2.top() is t  # unchanged touch: the same tuple, from either view
        assert btc.top() is t


def test_top_inside_a_shared_borrow_of_the_feed() -> None:
    """``top()`` called back while Rust holds the feed shared (a collection while ``feed.stats()``
    makes its dict runs a gc callback) reads the book without its remembered tuple rather than
    failing to borrow the feed."""
    import gc

    feed = BookFeed("clarofinlore")
    feed.on_frame(SNAP)
    book = feed.book("btc-usdt")
    inside = False
    seen: list[object] = []

    def cb(phase: str, info: dict[str, int]) -> None:
        if inside and phase == "start":
            try:
                seen.append(book.top())
            except Exception as e:  # a gc callback's exception would only be printed
                seen.append(e)

    threshold = gc.get_threshold()
    gc.callbacks.append(cb)
    gc.set_threshold(1)
    # Dicts held so that the free list is empty and the dict `stats()` makes is a new object
    # (which is what counts towards a collection).
    held = [{} for _ in range(100)]
    try:
        for _ in range(200):
            held.append({})
            inside = True
            feed.stats()
            inside = False
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(cb)
    assert seen, "no collection ran inside the call: the test did not test anything"
    assert all(t == (100.25, 1.5, 101.75, 0.125) for t in seen), seen[:3]
