"""What a closing session learns before it lets go: the orders still being settled waited for, and
what it could not learn named — orders of unknown fate (``closed_unsettled``) and fills stated by
the venue but never reported to ``on_fill`` (``closed_fills_unheard``) — in the log and the audit."""

from __future__ import annotations

import logging
from typing import Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.trading.orders import Order
from tickwire.trading.reconcile import until_settled
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.trading")


class ClosePort(Protocol):
    venue: str
    tracker: OrderTracker
    audit: AuditLog | NullAudit

    def settling(self) -> set[str]: ...


async def settle_for_close(port: ClosePort, wait_s: float) -> list[Order]:
    """Waits up to ``wait_s`` for ``port.settling()`` to empty; returns the orders still pending or
    unknown, or whose cancel or amend still runs (an outcome unknown too), logged and audited."""
    await until_settled(port.settling, None, wait_s)
    still = port.settling()
    tracker = port.tracker
    unsettled = [
        o for o in tracker.open_orders() if o.status in ("pending", "unknown") or o.client_id in still
    ]
    if unsettled:
        ids = sorted(o.client_id for o in unsettled)
        log.warning("%s: closed with %d order(s) of unknown fate: %s", port.venue, len(ids), ids)
        port.audit.event("closed_unsettled", venue=port.venue, client_ids=ids)
    unheard = sorted(o.client_id for o in tracker if tracker.unheard(o.client_id))
    if unheard:  # filled by what the venue stated, their executions not reported to on_fill
        log.warning("%s: closed with fills not heard of %d order(s): %s", port.venue, len(unheard), unheard)
        port.audit.event("closed_fills_unheard", venue=port.venue, client_ids=unheard)
    return unsettled
