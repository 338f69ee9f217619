"""What a market-data session's user reads of its books: the live views, which symbols are in sync,
and the wait for them. Apart from :mod:`tickwire.session.market` because it only reads what the
session keeps (its views, its registry of subscriptions, the venue's refusals); ``MarketData``
inherits it and owns those."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from tickwire._core import OrderBook
from tickwire.errors import RequestTimeoutError, VenueError
from tickwire.session.adapter import Adapter
from tickwire.session.registry import Registry
from tickwire.session.views import Views


class BookReads:
    """The read side of :class:`tickwire.session.market.MarketData`."""

    venue: str
    adapter: Adapter
    views: Views
    registry: Registry
    closing: bool
    # Symbols whose subscription the venue refused, with that refusal (``session.refusals``).
    refused: dict[str, VenueError]

    def book(self, symbol: str) -> OrderBook:
        """The live book (KeyError until the venue has sent anything for it)."""
        return self.views.book(symbol)

    def live_book(self, symbol: str) -> OrderBook:
        """:meth:`book`, while this session runs: KeyError once it is closing or closed, its books
        frozen as they were (still saying synced) — what prices a market order (``md.trade``)."""
        if self.closing:
            raise KeyError(f"{self.venue}: {symbol}: the market session is closed")
        return self.book(symbol)

    def book_keys(self) -> list[str]:
        """The feed's names of the subscribed books (``BTCUSDT`` for ``btcusdt`` on Binance, …)."""
        return [self.adapter.book_key(s) for s in self.registry.symbols("book")]

    def last_update_ns(self, key: str) -> int | None:
        return self.views.last_update_ns(key)

    def symbols(self) -> list[str]:
        return self.registry.symbols()

    def is_synced(self, symbol: str | None = None) -> bool:
        """True when the book (every book without ``symbol``) is in sync and, after a reconnect,
        its continuity has been proven by a message on the new connection."""
        names = [symbol] if symbol is not None else self.registry.symbols("book")
        for s in names:
            try:
                if not self.book(s).is_synced:
                    return False
            except KeyError:
                return False
        return True

    async def wait_synced(self, timeout: float = 10.0, symbols: Iterable[str] | None = None) -> None:
        """Returns once every book named (every subscribed one without ``symbols``) is in sync;
        raises the venue's refusal of one of them, or :class:`RequestTimeoutError` naming the
        laggards after ``timeout``."""
        names = list(symbols) if symbols is not None else self.registry.symbols("book")
        end = time.monotonic() + timeout
        while not all(self.is_synced(s) for s in names):
            for s in names:
                if s in self.refused and not self.is_synced(s):
                    raise self.refused[s]
            left = end - time.monotonic()
            if left <= 0:
                bad = [s for s in names if not self.is_synced(s)]
                raise RequestTimeoutError(f"{self.venue}: books not in sync after {timeout} s: {bad}")
            await asyncio.sleep(min(left, 0.005))
