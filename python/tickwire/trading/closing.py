"""What a closing session learns before it lets go: the orders still being settled waited for, and
what it could not learn named — orders of unknown fate (``closed_unsettled``) and fills stated by
the venue but never reported to ``on_fill`` (``closed_fills_unheard``) — in the log and the audit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import TickwireError
from tickwire.trading.orders import Order
from tickwire.trading.reconcile import until_settled
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.trading")


class ClosePort(Protocol):
    venue: str
    tracker: OrderTracker
    audit: AuditLog | NullAudit

    def settling(self) -> set[str]: ...


async def settle_for_close(
    port: ClosePort,
    wait_s: float,
    catch_up: Callable[[str], Awaitable[None]] | None = None,
    catch_up_s: float = 0.0,
) -> list[Order]:
    """Waits up to ``wait_s`` for ``port.settling()`` to empty; returns the orders still pending or
    unknown, or whose cancel or amend still runs (an outcome unknown too), logged and audited.

    An order the venue stated fills of that ``on_fill`` has not heard may have its fetch due later
    (``FillsCatchUp``: a query failed, refused for rate, or the venue's history lagged) — a task the
    close cancels. Its fills are fetched once more now (``catch_up``, all of them within
    ``catch_up_s``), while the session can still ask: else a close right after such a failure let
    fills the venue made go unreported for good."""
    await until_settled(port.settling, None, wait_s)
    if catch_up is not None:
        await _last_fills(port, catch_up, catch_up_s)
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


async def _last_fills(port: ClosePort, catch_up: Callable[[str], Awaitable[None]], within_s: float) -> None:
    owed = [o.client_id for o in port.tracker if port.tracker.unheard(o.client_id)]
    if not owed:
        return

    async def one(client_id: str) -> None:
        try:
            await catch_up(client_id)
        except TickwireError as e:  # named below with the others still unheard
            log.warning("%s: fills of %s not fetched before the close: %s", port.venue, client_id, e)

    jobs = [asyncio.ensure_future(one(cid)) for cid in owed]
    try:
        await asyncio.wait(jobs, timeout=within_s)
    finally:  # past the bound, or the close itself cancelled: none outlives it
        for j in jobs:
            j.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
