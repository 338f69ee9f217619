"""Where a trading session's order changes and fills go: the audit log, the user's ``on_order`` and
``on_fill``, and the queue ``tr.events()`` iterates.

Apart from :mod:`tickwire.trading.session` because it is the user's side of the session, not the
venue's: nothing here changes an order. It sees the session only through :class:`DeliveryPort`, its
audit log read at each use (a session's log may be replaced after it was made; whether order changes
are audited at all is decided once, from the log the session was made with, as before the split),
and is handed the user's callback with each change for the same reason."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import RiskLimitExceeded
from tickwire.trading.intake import audit_fields
from tickwire.trading.orders import Fill, Order

log = logging.getLogger("tickwire.trading")


class DeliveryPort(Protocol):
    venue: str
    audit: AuditLog | NullAudit


class EventFeed:
    """What ``events()`` iterates, queued from its first call on: a session whose events nobody asks
    for keeps none (the callbacks are the fast path, and a queue nobody reads would grow for as long as
    the session runs); from that call on, every change, none dropped — to each iteration its own
    queue, so two consumers (a P&L task, a strategy loop) both get every event (before stop 42 they
    shared one queue and each got some). An iteration dropped unread keeps nothing (its queue is held
    only by its iterator). Shared by the trading session and its remote twin
    (``tickwire.remote.trade``)."""

    def __init__(self) -> None:
        self._queues: list[weakref.ref[asyncio.Queue[tuple[str, Any]]]] = []
        self.closed = False

    def live(self) -> list[asyncio.Queue[tuple[str, Any]]]:
        """The queues of the iterations still held, oldest first."""
        out = [q for r in self._queues if (q := r()) is not None]
        if len(out) != len(self._queues):
            self._queues = [weakref.ref(q) for q in out]
        return out

    def put(self, kind: str, value: Any) -> None:
        if self._queues:
            for q in self.live():
                q.put_nowait((kind, value))

    def close(self) -> None:
        """The session closed: every iteration ends (at once for one begun after this)."""
        self.closed = True
        self.put("closed", None)

    def events(self) -> AsyncIterator[tuple[str, Any]]:
        """``async for kind, value in ...``, from now on."""
        q: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        if self.closed:
            q.put_nowait(("closed", None))
        else:
            self._queues.append(weakref.ref(q))
        return _drain(q)


async def _drain(q: asyncio.Queue[tuple[str, Any]]) -> AsyncIterator[tuple[str, Any]]:
    while True:
        kind, value = await q.get()
        if kind == "closed":
            return
        yield kind, value


class Delivery:
    """One session's deliveries into ``feed``; ``audited``: the session was given a real audit log."""

    def __init__(self, port: DeliveryPort, feed: EventFeed) -> None:
        self.port = port
        self.feed = feed
        self.audited = not isinstance(port.audit, NullAudit)

    def order(self, order: Order, callback: Callable[[Order], None] | None) -> None:
        if self.audited:  # the fields are built only for a real log: this runs for every change
            self.port.audit.event("order", **audit_fields(order))
        if callback is not None:
            _call(callback, order)
        self.feed.put("order", order)

    def fill(self, fill: Fill, callback: Callable[[Fill], None] | None) -> None:
        self.port.audit.event(
            "fill",
            venue=self.port.venue,
            symbol=fill.symbol,
            client_id=fill.client_id,
            trade_id=fill.trade_id,
            price=str(fill.price),
            qty=str(fill.qty),
        )
        if callback is not None:
            _call(callback, fill)
        self.feed.put("fill", fill)

    def risk_refused(
        self, e: RiskLimitExceeded, side: str, qty: Decimal, price: Decimal | None, client_id: str | None
    ) -> None:
        """An order the risk limits refused (``RiskGate.on_refused``): never tracked nor sent, so this
        line is all the audit file says of it (before, nothing did)."""
        self.port.audit.event(
            "risk_refused", venue=self.port.venue, symbol=e.symbol, client_id=client_id, side=side,
            qty=str(qty), price=None if price is None else str(price), limit=e.limit, reason=str(e),
        )  # fmt: skip


def _call(fn: Callable[[Any], None], arg: Any) -> None:
    try:
        fn(arg)
    except Exception:
        # A user callback's bug must not break the order path.
        log.exception("trading callback %r raised", fn)
