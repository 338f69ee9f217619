"""Where a session's book changes, trades, BBOs and status events go: the user's callbacks, and the
queue ``md.events()`` iterates once it has been asked for.

Apart from :mod:`tickwire.session.market` because it is the user's side of the session, not the
venue's: it sees the session only through :class:`Callbacks`, read at each use (a session's callbacks
may be set after it was made).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from tickwire._core import OrderBook
from tickwire.session.events import EventQueue, StatusEvent, StatusKind

log = logging.getLogger("tickwire.session")

BookCallback = Callable[[OrderBook], None]
ValueCallback = Callable[[Any], None]
StatusCallback = Callable[[StatusEvent], None]


class Callbacks(Protocol):
    on_book: BookCallback | None
    on_trade: ValueCallback | None
    on_bbo: ValueCallback | None
    on_status: StatusCallback | None


class Delivery:
    """One session's deliveries; ``queue`` is the events queue, None until ``events()`` is called."""

    def __init__(self, venue: str, callbacks: Callbacks) -> None:
        self.venue = venue
        self.callbacks = callbacks
        self.queue: EventQueue | None = None

    def book_callback(self) -> BookCallback | None:
        """What the dispatcher calls with each changed book: ``on_book``, and the event queue's put
        when ``events()`` is iterated."""
        cb, events = self.callbacks.on_book, self.queue
        if events is None:
            return cb
        put = events.put
        if cb is None:
            return lambda book: put("book", book)

        def both(book: OrderBook) -> None:
            try:
                cb(book)
            finally:
                put("book", book)

        return both

    def value(self, kind: str, value: Any) -> None:
        """A trade or a BBO."""
        cb = self.callbacks.on_trade if kind == "trade" else self.callbacks.on_bbo
        if cb is not None:
            self._call(cb, value)
        if self.queue is not None:
            self.queue.put(kind, value)

    def status(self, kind: StatusKind, line: int | None, symbol: str | None, detail: str) -> None:
        ev = StatusEvent(kind, self.venue, line, symbol, detail)
        log.info(
            "%s %s%s%s %s",
            self.venue,
            kind,
            f" line {line}" if line is not None else "",
            f" {symbol}" if symbol else "",
            detail,
        )
        on_status = self.callbacks.on_status
        if on_status is not None:
            self._call(on_status, ev)
        if self.queue is not None:
            self.queue.put("status", ev)

    def book_error(self, exc: BaseException) -> None:
        """``on_book`` raised (the dispatcher caught it)."""
        log.error("%s: on_book callback raised", self.venue, exc_info=(type(exc), exc, exc.__traceback__))

    def close(self) -> None:
        if self.queue is not None:
            self.queue.close()

    def _call(self, fn: Callable[[Any], None], arg: Any) -> None:
        try:
            fn(arg)
        except Exception:
            # A user callback's bug must not take the connection down with it.
            log.exception("%s: user callback %r raised", self.venue, fn)
