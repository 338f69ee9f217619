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
from collections.abc import Callable
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.trading.intake import audit_fields
from tickwire.trading.orders import Fill, Order

log = logging.getLogger("tickwire.trading")


class DeliveryPort(Protocol):
    venue: str
    audit: AuditLog | NullAudit


class Delivery:
    """One session's deliveries into ``queue``; ``audited``: the session was given a real audit log."""

    def __init__(self, port: DeliveryPort, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        self.port = port
        self.queue = queue
        self.audited = not isinstance(port.audit, NullAudit)

    def order(self, order: Order, callback: Callable[[Order], None] | None) -> None:
        if self.audited:  # the fields are built only for a real log: this runs for every change
            self.port.audit.event("order", **audit_fields(order))
        if callback is not None:
            _call(callback, order)
        self.queue.put_nowait(("order", order))

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
        self.queue.put_nowait(("fill", fill))


def _call(fn: Callable[[Any], None], arg: Any) -> None:
    try:
        fn(arg)
    except Exception:
        # A user callback's bug must not break the order path.
        log.exception("trading callback %r raised", fn)
