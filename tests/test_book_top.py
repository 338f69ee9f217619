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
