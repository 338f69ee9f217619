"""The fan-out of private order events: who receives an account's events, and the loop that sends them.

Venues keep the receivers one of two ways. A private socket that logged on and subscribed is added
under its account (Binance WS API, OKX ``orders``, Bybit ``order``, Kraken ``executions``); closed ones
are forgotten at the next event. Or the private channel is a topic of the venue servers (Coinbase
``user:<key>``, HTX ``orders#<symbol>``, a Binance listenKey), so the servers' subscription bookkeeping
applies to it. Either way each message is built per connection, with that connection's server clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickwire.sim.venues.context import Subscribers
    from tickwire.sim.ws import Conn

# The frame for one connection, or None to skip it (a topic several accounts share).
Message = Callable[["Conn"], bytes | None]


class PrivateStreams:
    def __init__(self, subscribers: Subscribers) -> None:
        self._subscribers = subscribers
        self._added: dict[str, set[Conn]] = {}

    def add(self, account: str, conn: Conn) -> None:
        self._added.setdefault(account, set()).add(conn)

    def remove(self, conn: Conn) -> None:
        for conns in self._added.values():
            conns.discard(conn)

    def count(self, account: str) -> int:
        return len(self._added.get(account, ()))

    def push(self, message: Message, account: str | None = None, topics: Iterable[str] = ()) -> None:
        """Send ``message(conn)`` to the connections added under ``account`` and those subscribed to
        any of ``topics``."""
        targets: list[Conn] = []
        if account is not None and (added := self._added.get(account)):
            for c in list(added):
                if c.transport is None:
                    added.discard(c)
                else:
                    targets.append(c)
        for topic in topics:
            for _, subs in self._subscribers(topic):
                targets.extend(subs)
        for c in targets:
            data = message(c)
            if data is not None:
                c.send_text(data)
