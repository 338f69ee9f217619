"""Placing a checked order exactly once (``TradingSession.place_order``): a per-symbol dead-man switch
armed on its symbol, the order registered with the tracker under its client id and its send time kept,
all before anything is sent; then the venue's answer applied, an answer that never comes reconciled
(never resent), a refusal recorded as the order rejected.

Apart from :mod:`tickwire.trading.session`, as amending is (:mod:`tickwire.trading.amend`): the session
checks the order and refuses it while halted; this is what happens to it once it goes. It sees the
session through :class:`PlacePort` and is handed, as values, the session's send times (reconciliation
searches fills from there) and whether its audit log is a real one."""

from __future__ import annotations

import time
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import RequestTimeoutError, TickwireError, TransportError, UnknownOutcome
from tickwire.limits import Lane
from tickwire.trading.deadman import DeadMan
from tickwire.trading.intake import audit_fields
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.reconcile import Reconciler
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar


class PlacePort(Protocol):
    """What placing an order needs of a trading session."""

    grammar: OrderGrammar
    tracker: OrderTracker
    audit: AuditLog | NullAudit
    reconciler: Reconciler
    dead_man: DeadMan | None

    async def send(self, call: Call, lane: Lane = "query") -> Any: ...

    async def answered(self, symbol: str, body: Any) -> Order | None: ...


async def place_order(port: PlacePort, order: Order, sent_ms: dict[str, int], audited: bool) -> Order:
    """``order`` (checked, not yet tracked) placed; ``sent_ms``: the session's send times by client id,
    ``audited``: each request is written to a real audit log."""
    if port.dead_man is not None:
        await port.dead_man.cover(order.symbol)  # a per-symbol switch armed before its first order
    port.tracker.track(order)
    sent_ms[order.client_id] = int(time.time() * 1000)
    if audited:
        port.audit.event("order_request", **audit_fields(order))
    try:
        body = await port.send(port.grammar.new_order(order), lane="order")
    except UnknownOutcome as e:
        return await port.reconciler.resolve(order, str(e))
    except (RequestTimeoutError, TransportError) as e:
        return await port.reconciler.resolve(order, str(e))
    except TickwireError as e:
        port.tracker.apply(
            OrderEvent(
                source="rest", client_id=order.client_id, order_id=None, status="rejected", reason=str(e)
            )
        )
        raise
    await port.answered(order.symbol, body)
    got = port.tracker.get(order.client_id)
    assert got is not None
    return got
