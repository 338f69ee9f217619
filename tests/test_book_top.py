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
    with pytest.raises(ValueError):
        book.best_bid_mantissa(1)  # 100.25 has two decimals
    feed.on_frame(
        '{"channel":"orderbook.btc-usdt","type":"update","seq":2,"prev_seq":1,"bids":[],'
        '"asks":[["101.75","0"],["102","0"]]}'
    )
    assert book.best_ask_mantissa(2) is None and book.best_bid_mantissa(2) == 10025


def test_top_follows_every_change_of_the_touch() -> None:
    """``top()`` returns its last tuple again while the touch is unchanged: after each of many
    random updates (at the touch, behind it, a finer price widening the book's decimals, sides
    emptied and refilled) it still equals a dict reference book's touch."""

    rnd = random.Random(13)
    feed = BookFeed("clarofinlore")
    feed.on_frame(SNAP)
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
    assert book.price_decimals == 3  # the finer prices widened the book on the way
