"""Reference-counted subscriptions: what every connection must carry after a reconnect.

Two parts of one program may subscribe the same symbol; it is unsubscribed on the wire only when
the last of them lets go, and a reconnect resubscribes exactly the live set.
"""

from __future__ import annotations

from collections.abc import Iterable

from tickwire.streams import Sub


class Registry:
    def __init__(self) -> None:
        self._refs: dict[Sub, int] = {}

    def add(self, subs: Iterable[Sub]) -> list[Sub]:
        """Counts a reference to each; returns those that are new (to subscribe on the wire)."""
        new = []
        for s in subs:
            n = self._refs.get(s, 0)
            self._refs[s] = n + 1
            if n == 0:
                new.append(s)
        return new

    def remove(self, subs: Iterable[Sub]) -> list[Sub]:
        """Drops a reference to each; returns those no one holds any more (to unsubscribe).
        ``KeyError`` for one not subscribed, with nothing dropped (all checked first)."""
        subs = list(subs)
        held = dict(self._refs)
        for s in subs:  # (a sub named twice takes two references)
            if held.get(s, 0) == 0:
                raise KeyError(f"not subscribed: {s.channel} {s.symbol}")
            held[s] -= 1
        gone = []
        for s in subs:
            n = self._refs[s]
            if n == 1:
                del self._refs[s]
                gone.append(s)
            else:
                self._refs[s] = n - 1
        return gone

    def discard(self, symbol: str) -> list[Sub]:
        """Every reference to ``symbol``'s subscriptions dropped at once (the venue refused them);
        returns those subscriptions."""
        gone = self.for_symbol(symbol)
        for s in gone:
            del self._refs[s]
        return gone

    def live(self) -> list[Sub]:
        return list(self._refs)

    def symbols(self, channel: str | None = None) -> list[str]:
        seen: dict[str, None] = {}
        for s in self._refs:
            if channel is None or s.channel == channel:
                seen[s.symbol] = None
        return list(seen)

    def for_symbol(self, symbol: str) -> list[Sub]:
        return [s for s in self._refs if s.symbol == symbol]

    def refs(self, sub: Sub) -> int:
        return self._refs.get(sub, 0)

    def __len__(self) -> int:
        return len(self._refs)
