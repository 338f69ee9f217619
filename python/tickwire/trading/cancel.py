"""``TradingSession.cancel_order``: one order's cancel. A lost answer is settled by the order's state
at the venue, never by a second cancel (one of a done cancel is "unknown order"); a cancel its caller
gave up on once it may have gone out has the order asked about in the background
(``Reconciler.recheck``), since no private stream may tell what the venue did."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import InvalidOrder, OrderNotFound, TickwireError, TransportError, UnknownOutcome
from tickwire.limits import Lane
from tickwire.trading.account import ask_if_ended
from tickwire.trading.orders import Order
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar
from tickwire.trading.wire import was_unsent


class Rechecks(Protocol):
    def recheck(self, client_id: str, *, lost: bool = False) -> None: ...


class CancelPort(Protocol):
    """What one order's cancel needs of a trading session."""

    venue: str
    grammar: OrderGrammar
    tracker: OrderTracker
    audit: AuditLog | NullAudit

    @property
    def reconciler(self) -> Rechecks: ...

    async def send(self, call: Call, lane: Lane = "query") -> Any: ...

    async def answered(self, symbol: str, body: Any) -> Order | None: ...

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order: ...


def find(tracker: OrderTracker, client_id: str | None, order_id: str | None) -> Order | None:
    """The tracked order with ``client_id``, else with ``order_id``."""
    found = tracker.get(client_id) if client_id else None
    if found is None and order_id:
        found = tracker.by_order_id(order_id)
    return found


def tracked(venue: str, tracker: OrderTracker, client_id: str | None, order_id: str | None) -> Order:
    """As :func:`find`; ``OrderNotFound`` when this session does not track it."""
    found = find(tracker, client_id, order_id)
    if found is None:
        raise OrderNotFound(f"{venue}: order {client_id or order_id} is not tracked by this session")
    return found


async def cancel_order(port: CancelPort, symbol: str, client_id: str | None, order_id: str | None) -> Order:
    if client_id is None and order_id is None:
        raise InvalidOrder("cancel_order needs client_id or order_id")
    port.audit.event(
        "cancel_request", venue=port.venue, symbol=symbol, client_id=client_id, order_id=order_id
    )
    try:
        return await _cancel(port, symbol, client_id, order_id)
    except OrderNotFound:  # the venue's refusal, or its answer's entry (Coinbase)
        await ask_if_ended(port, symbol, find(port.tracker, client_id, order_id))
        raise
    except asyncio.CancelledError as e:
        # Given up by its caller: unless cut short waiting for the budget, the cancel may be out
        # (or its answer not applied yet), and no private stream may tell what the venue did.
        if not was_unsent(e) and (found := find(port.tracker, client_id, order_id)) is not None:
            port.reconciler.recheck(found.client_id)
        raise


async def _cancel(port: CancelPort, symbol: str, client_id: str | None, order_id: str | None) -> Order:
    try:
        body = await port.send(port.grammar.cancel(symbol, client_id, order_id), lane="cancel")
    except (TransportError, UnknownOutcome) as e:
        if was_unsent(e):
            raise  # not one byte of it went out: the order is as it was
        # The answer was lost (or the venue could not say, a 5xx), not necessarily the cancel: the
        # order's state at the venue says. Still open there, or not asked, the cancel may yet be
        # taken (queued at the venue): asked about again once the venue can no longer act on it,
        # since no private stream may tell — else the order stayed open here for good.
        try:
            now = await port.order_status(symbol, client_id=client_id, order_id=order_id)
        except TickwireError:
            if (found := find(port.tracker, client_id, order_id)) is not None:
                port.reconciler.recheck(found.client_id, lost=True)
            raise e from None
        if now.is_open:
            port.reconciler.recheck(now.client_id, lost=True)
            raise
        return now
    got = await port.answered(symbol, body)
    if got is not None:
        return got
    return tracked(port.venue, port.tracker, client_id, order_id)
