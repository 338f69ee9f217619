"""Adoption: the open orders an earlier run of the same strategy left on the account (a restart),
tracked again by client id — listed once at start, after the private stream runs, and taken from the
venue's later events too (``OrderTracker``'s ``adopt`` predicate)."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.clock import Stamp
from tickwire.trading.client_ids import ClientIds
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.trading")

# The client ids of the trading sessions of the process still open (on any loop or thread). An order
# one of them made is no earlier run's, even under the same strategy name: adopted, its fills reached
# both sessions' ``on_fill`` and counted in both positions.
_OPEN: weakref.WeakSet[ClientIds] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


def session_opened(ids: ClientIds) -> None:
    with _OPEN_LOCK:
        _OPEN.add(ids)


def session_closed(ids: ClientIds) -> None:
    """From now on what ``ids``' session left open is an earlier run's to the others."""
    with _OPEN_LOCK:
        _OPEN.discard(ids)


def _made_by_an_open_session(ids: ClientIds, client_id: str) -> bool:
    with _OPEN_LOCK:
        others = [o for o in _OPEN if o is not ids]
    return any(o.mine(client_id) for o in others)


def adoptable(ids: ClientIds, owns: Callable[[str], bool], ev: OrderEvent) -> bool:
    """An order of an earlier run worth tracking: ``owns`` its client id, neither this session nor
    another still open in the process made it (its own orders are tracked from the start, or were
    dropped on purpose), and it is open or filling (one that ended with nothing to count — canceled,
    expired — is left alone)."""
    cid = ev.client_id or ""
    live = ev.fill is not None or ev.status in ("new", "partially_filled")
    return live and not ids.mine(cid) and owns(cid) and not _made_by_an_open_session(ids, cid)


class AdoptPort(Protocol):
    """What the listing at start needs of a trading session."""

    venue: str
    tracker: OrderTracker
    audit: AuditLog | NullAudit

    def stamp(self) -> Stamp: ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...


async def adopt_open(port: AdoptPort) -> None:
    """The account's open orders listed once the private stream runs (so nothing that happens to
    them after the listing is missed): those the tracker's ``adopt`` accepts are tracked from then
    on — listed by ``open_orders()``, their fills counted. A listing that fails leaves the start
    going; the venue's later events still adopt them."""
    tracker = port.tracker
    # What the listing states filled is the earlier run's; a fill after the venue wrote it counts
    # here, so the fills of what it adopts count from when it was asked (the stream may miss one
    # while the answer is on its way: reconciliation then finds it from there).
    tracker.adopting_since = port.stamp()
    try:
        listed = await port.open_orders()
    except Exception as e:  # an order of another script the grammar cannot read included
        # Pages read before a failed one were adopted (``open_orders`` applies them first).
        log.warning("%s: open orders not all listed at start (%s); events adopt the rest", port.venue, e)
        port.audit.event("adopt_failed", venue=port.venue, error=str(e))
        return
    finally:
        tracker.adopting_since = None
    ids = [o.client_id for o in listed if o.is_open and tracker.get(o.client_id) is not None]
    if ids:
        log.info("%s: %d open order(s) of an earlier run adopted", port.venue, len(ids))
        port.audit.event("adopted", venue=port.venue, client_ids=ids)
