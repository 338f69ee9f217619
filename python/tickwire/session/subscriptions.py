"""A session's subscriptions on the wire: a change goes out on every connected line, and a line that
(re)connects logs in and takes every live subscription; in the venue's chunks, each recorded in the
audit log.

Apart from :mod:`tickwire.session.market` because it is what the venue is asked to send, not what is
done with what it sends: it is given the registry, the adapter and the lines to send on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from tickwire.audit import AuditSink
from tickwire.session.adapter import Adapter
from tickwire.session.registry import Registry
from tickwire.streams import Sub

if TYPE_CHECKING:
    from tickwire.session.line import Line


class Subscriptions:
    def __init__(self, venue: str, adapter: Adapter, registry: Registry, audit: AuditSink) -> None:
        self.venue = venue
        self.adapter = adapter
        self.registry = registry
        self.audit = audit

    def add(self, subs: Iterable[Sub], lines: Sequence[Line]) -> None:
        wide = self.adapter.symbol_wide
        on_wire = set(self.registry.symbols()) if wide else set()
        new = self.registry.add(subs)
        if new:
            # A symbol-wide venue already sending this symbol would send its book no snapshot: the
            # book would stay empty for good (its trades kept it subscribed while it was not).
            again = [s for s in new if s.channel == "book" and s.symbol in on_wire]
            if again:
                self._send_all(lines, self.adapter.unsubscribe, again)
            self._send_all(
                lines, self.adapter.subscribe, [s for s in new if s.symbol not in on_wire or s in again]
            )
            self.audit.event("subscribe", venue=self.venue, subs=[f"{s.channel}:{s.symbol}" for s in new])

    def remove(self, subs: Iterable[Sub], lines: Sequence[Line]) -> list[Sub]:
        """Drops a reference to each; those no one holds any more are unsubscribed and returned —
        not one another live name still needs (``btcusdt`` and ``BTCUSDT``: one stream, one book)."""
        key = self.adapter.book_key
        gone = self.registry.remove(subs)
        held = {(s.channel, key(s.symbol)) for s in self.registry.live()}
        gone = [s for s in gone if (s.channel, key(s.symbol)) not in held]
        if gone:
            wire = gone
            if self.adapter.symbol_wide:  # the venue would stop the symbol's other channels with it
                still = {key(s.symbol) for s in self.registry.live()}
                wire = [s for s in gone if key(s.symbol) not in still]
            self._send_all(lines, self.adapter.unsubscribe, wire)
            self.audit.event("unsubscribe", venue=self.venue, subs=[f"{s.channel}:{s.symbol}" for s in gone])
        return gone

    def on_connect(self, line: Line) -> int:
        """Logs in and subscribes everything live on ``line``; returns how many subscriptions."""
        login = self.adapter.login()
        if login is not None:
            line.send(login)
        subs = self.registry.live()
        self._send(line, self.adapter.subscribe, subs)
        self.audit.event(
            "subscribe", venue=self.venue, line=line.index, subs=[f"{s.channel}:{s.symbol}" for s in subs]
        )
        return len(subs)

    def resend(self, line: Line, subs: list[Sub]) -> None:
        """``subs`` subscribed again on ``line`` (a refused message took them with it)."""
        if subs:
            self._send(line, self.adapter.subscribe, subs)
            self.audit.event(
                "subscribe", venue=self.venue, line=line.index, subs=[f"{s.channel}:{s.symbol}" for s in subs]
            )

    def _send_all(
        self, lines: Sequence[Line], build: Callable[[list[Sub]], list[bytes]], subs: list[Sub]
    ) -> None:
        for ln in lines:
            if ln.connected:
                self._send(ln, build, subs)

    def _send(self, line: Line, build: Callable[[list[Sub]], list[bytes]], subs: list[Sub]) -> None:
        for chunk in self.adapter.chunks(subs):
            for m in build(list(chunk)):
                line.send(m)
