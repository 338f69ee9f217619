"""A venue's error answer on a market-data connection, and the subscription it refuses: a symbol the
venue does not list is told from other errors by the book it names (not in sync yet), then dropped
from the session — no reconnect asks for it again, ``is_synced()`` no longer waits for it, its book
is forgotten — and ``wait_synced`` on it raises the refusal."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tickwire.errors import VenueError
from tickwire.session.ports import Reporter

if TYPE_CHECKING:
    from tickwire._core import BookFeed
    from tickwire.session.adapter import Adapter
    from tickwire.session.line import Line
    from tickwire.session.registry import Registry
    from tickwire.session.resync import Resyncer
    from tickwire.session.subscriptions import Subscriptions


class Refusals:
    """The session's refused subscriptions (``refused``: symbol → the refusal ``wait_synced``
    raises until the symbol is subscribed again) and the handling of a venue's error answer."""

    def __init__(
        self,
        reporter: Reporter,
        adapter: Adapter,
        feed: BookFeed,
        registry: Registry,
        resyncer: Resyncer,
        subscriptions: Subscriptions,
        books_held: Callable[[], contextlib.AbstractContextManager[object]],
    ) -> None:
        self.reporter = reporter
        self.adapter = adapter
        self.venue = adapter.venue
        self.feed = feed
        self.registry = registry
        self.resyncer = resyncer
        self.subscriptions = subscriptions
        self.books_held = books_held
        self.refused: dict[str, VenueError] = {}
        # line index -> (its connection's count, the names ``ask_apart`` asked again alone on it).
        self.apart: dict[int, tuple[int, set[tuple[str, str]]]] = {}

    def on_venue_error(self, line: Line, code: str, message: str, symbols: Sequence[str] = ()) -> None:
        """The venue's error answer on ``line``. One that names a subscribed book not in sync (by
        ``symbols``, or the name in its text) is the venue refusing that subscription: the symbol is
        dropped and the status event names it."""
        r = self.reporter
        detail = f"{code} {message}".strip()
        refused = self.refused_by(message, symbols)
        if not refused:
            r.status("venue_error", line=line.index, detail=detail)
            r.record("venue_error", line=line.index, code=code, message=message)
            if self.adapter.refusal_names_nothing:
                self.ask_apart(line)
            return
        for sym in refused:
            self.refused[sym] = VenueError(f"{self.venue}: subscription of {sym} refused: {detail}")
            gone = self.registry.discard(sym)
            r.status("venue_error", line=line.index, symbol=sym, detail=detail)
            r.record("subscription_refused", line=line.index, symbol=sym, code=code, message=message)
            if any(s.channel == "book" for s in gone):
                key = self.adapter.book_key(sym)
                self.resyncer.drop(key)
                with self.books_held():
                    self.feed.forget(key)
        if self.adapter.refusal_takes_batch:
            # The refused message took the names sent with it: those of books no message on this
            # connection has vouched for yet — never built, or built before a reconnect whose
            # subscribe message this was — and trades with no book to tell are asked again (one the
            # venue took already is ignored or refused as a duplicate, which names no refusal:
            # ``refused_by``). Before, a book left unproven by a reconnect was not: refused with the
            # name subscribed while the line was down, it read "not synced" for good, no resync.
            live = self.registry.live()
            books = {s.symbol for s in live if s.channel == "book"}
            fresh = {s.symbol for s in live if s.symbol not in books or not self.proven(s.symbol)}
            self.subscriptions.resend(line, [s for s in live if s.symbol in fresh])

    def ask_apart(self, line: Line) -> None:
        """An error naming nothing, on a venue whose refusal of one unknown name in a message takes
        the whole message and names none (Coinbase): which message it was is unknown, so each name
        no message on this connection has vouched for yet is asked again in a message of its own —
        the good ones are taken, a bad one is refused alone. Once per name and connection: a name
        refused alone is not asked again and again. (Before, the good names sent with an unknown
        one stayed unsubscribed for good.)"""
        connects, done = self.apart.get(line.index, (-1, set()))
        if connects != line.connects:
            done = set()
            self.apart[line.index] = (line.connects, done)
        for s in self.registry.live():
            if (s.channel, s.symbol) not in done and not self.proven(s.symbol):
                done.add((s.channel, s.symbol))
                self.subscriptions.resend(line, [s])

    def refused_by(self, message: str, symbols: Sequence[str]) -> list[str]:
        """The subscribed symbols that a venue's error names, but those whose book is in sync: a
        book not in sync yet, or trades alone (no book to tell; before, a refused trades name was
        never dropped, and on Bybit every later message naming it — each reconnect's — was refused
        whole, the books sent with it never subscribed). In sync means vouched for on the connection
        now up (``proven``): a book synced before a reconnect, then delisted, is refused in the
        reconnect's subscribe message, and taking it for in sync kept the message's other books
        unsubscribed for good."""
        out: list[str] = []
        if "already subscribed" in message.lower():
            return out  # a duplicate, not a refusal
        for sym in self.registry.symbols():
            if self.proven(sym):
                continue
            named = sym in symbols or re.search(
                rf"(?<![A-Za-z0-9]){re.escape(sym)}(?![A-Za-z0-9])", message, re.IGNORECASE
            )
            if named:
                out.append(sym)
        return out

    def proven(self, symbol: str) -> bool:
        """Whether ``symbol``'s book is in sync and vouched for on the connection now up."""
        try:
            return bool(self.feed.book(self.adapter.book_key(symbol)).is_synced)
        except KeyError:
            return False
