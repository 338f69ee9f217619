"""The session's book views: one ``OrderBook`` per book, made on first use and kept (a view is a
handle on the feed's book, valid for the session's life; ``md.book(s)`` returns the same one)."""

from __future__ import annotations

from collections.abc import Callable

from tickwire._core import BookFeed, OrderBook


class Views:
    def __init__(self, feed: BookFeed, book_key: Callable[[str], str]) -> None:
        self.feed = feed
        self.book_key = book_key  # the venue's name of a symbol's book (the adapter's)
        self._views: dict[str, OrderBook] = {}

    def book(self, symbol: str) -> OrderBook:
        """The live book (KeyError until the venue has sent anything for it)."""
        key = self.book_key(symbol)
        v = self._views.get(key)
        if v is None:
            v = self._views[key] = self.feed.book(key)
        return v

    def last_update_ns(self, key: str) -> int | None:
        """``time.monotonic_ns()`` of the socket read that last changed this book (the feed keeps
        it per book, so the hot path stores nothing for it); None for a book not made yet."""
        v = self._views.get(key)
        if v is None:
            try:
                v = self._views[key] = self.feed.book(key)
            except KeyError:
                return None
        recv: int | None = v.recv_ns
        return recv
