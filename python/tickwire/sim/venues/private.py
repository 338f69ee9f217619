"""The fan-out of private order events: who receives an account's events, and the loop that sends them.

Venues keep the receivers one of two ways. A private socket that logged on and subscribed is added
under its account (Binance WS API, OKX ``orders``, Bybit ``order``, Kraken ``executions``); closed ones
are forgotten at the next event. Or the private channel is a topic of the venue servers (Coinbase
``user:<key>``, HTX ``orders#<symbol>``, a Binance listenKey), so the servers' subscription bookkeeping
applies to it. Either way each message is built per connection, with that connection's server clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickwire.sim.venues.context import Subscribers
    from tickwire.sim.ws import Conn

# The frame for one connection, or None to skip it (a topic several accounts share).
Message = Callable[["Conn"], bytes | None]


class PrivateFaults:
    """What a venue's private streams do wrong when a test asks (``Venue.scramble_private``): send each
    message twice (``duplicate``: how many more messages), and deliver them out of order (``reorder``:
    each message is held back until the next one for the same connection went out, or ``hold_s``
    passed)."""

    def __init__(self) -> None:
        self.duplicate = 0
        self.reorder = False
        self.hold_s = 0.05
        self.sent = 0  # messages delivered while scrambling (duplicates included)
        self._held: dict[Conn, tuple[float, bytes]] = {}

    @property
    def active(self) -> bool:
        return self.duplicate > 0 or self.reorder or bool(self._held)

    def deliver(self, conn: Conn, data: bytes) -> None:
        copies = 1
        if self.duplicate > 0:
            self.duplicate -= 1
            copies = 2
        for _ in range(copies):
            if self.reorder:
                held = self._held.pop(conn, None)
                if held is None:
                    self._held[conn] = (time.monotonic(), data)
                else:  # this one first: sending the held one first kept every message in order
                    self._send(conn, data)
                    self._send(conn, held[1])
                continue
            self._send(conn, data)

    def flush(self, now: float) -> None:
        """Sends what was held longer than ``hold_s`` (called by the venue's timer)."""
        for conn, (t, data) in list(self._held.items()):
            if now - t >= self.hold_s or not self.reorder:
                del self._held[conn]
                self._send(conn, data)

    def release(self, conn: Conn) -> None:
        """Sends what is held for ``conn`` now: it is being closed gracefully, and a graceful close
        writes everything sent before it (held, the message was lost, not reordered)."""
        held = self._held.pop(conn, None)
        if held is not None:
            self._send(conn, held[1])

    def _send(self, conn: Conn, data: bytes) -> None:
        if conn.transport is not None:
            self.sent += 1
            conn.send_text(data)


class PrivateStreams:
    def __init__(self, subscribers: Subscribers, faults: PrivateFaults | None = None) -> None:
        self._subscribers = subscribers
        self._added: dict[str, set[Conn]] = {}
        self.faults = faults or PrivateFaults()

    def add(self, account: str, conn: Conn) -> None:
        self._added.setdefault(account, set()).add(conn)

    def remove(self, conn: Conn) -> None:
        for conns in self._added.values():
            conns.discard(conn)

    def count(self, account: str) -> int:
        return len(self._added.get(account, ()))

    def connections(self, account: str) -> list[Conn]:
        """The connections added under ``account`` and still open (a test cuts the private stream
        alone with them, the order socket left up)."""
        return [c for c in self._added.get(account, ()) if c.transport is not None]

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
            if data is None:
                continue
            if self.faults.active:
                self.faults.deliver(c, data)
            else:
                c.send_text(data)
