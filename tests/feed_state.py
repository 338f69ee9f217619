"""Everything a ``BookFeed`` shows about its books, for checking that a refused frame changed none
of it (the fuzz tests of real captures and of the simulator's frames)."""

from __future__ import annotations

from tickwire import BookFeed


def whole_state(feed: BookFeed) -> object:
    """Which books exist, their levels, scales, sync state, counters and checksums, and the feed's
    book counters (frames and errors count traffic, so they are left out)."""
    stats = {k: v for k, v in feed.stats().items() if k not in ("frames", "errors")}
    books = [
        (
            s,
            b.state,
            b.last_update_id,
            b.price_decimals,
            b.qty_decimals,
            b.stats(),
            b.checksum(),
            b.levels_exact("bid", 10**6),
            b.levels_exact("ask", 10**6),
        )
        for s in feed.symbols()
        for b in [feed.book(s)]
    ]
    return feed.symbols(), feed.needs(), stats, books
