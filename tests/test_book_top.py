"""`OrderBook.top()`: the touch of both sides in one call, equal to best_bid()/best_ask()."""

from __future__ import annotations

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
