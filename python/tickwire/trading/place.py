"""Placing a checked order exactly once (``TradingSession.place_order``): a per-symbol dead-man switch
armed on its symbol, the order registered (:func:`register`) before anything is sent; then the venue's
answer applied, an answer that never comes reconciled (never resent), a refusal recorded as the order
rejected.

Apart from :mod:`tickwire.trading.session`, as amending is (:mod:`tickwire.trading.amend`): the session
checks the order and refuses it while halted; this is what happens to it once it goes. It sees the
session through :class:`PlacePort`. An order template's send (:mod:`tickwire.trading.template`)
registers the orders it writes with the same :func:`register`; the kill switch's closing orders
(:mod:`tickwire.trading.kill_positions`) take the same :func:`send_order` on the kill's own lane."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.clock import Stamp
from tickwire.errors import (
    DecodeError,
    InvalidOrder,
    RequestTimeoutError,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.limits import Lane
from tickwire.trading.deadman import DeadMan
from tickwire.trading.intake import audit_fields
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.reconcile import Reconciler
from tickwire.trading.risk import RiskGate
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.rules_recheck import RulesRecheck
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar
from tickwire.trading.wire import was_unsent


class RequestAudit(Protocol):
    def audit_request(self, call: Call, transport: str) -> None: ...


class RegisterPort(Protocol):
    """What registering an order needs of a trading session: its tracker, its send times by client id
    (reconciliation searches fills from there), its audit log and whether that is a real one, and the
    wire's record of a request (for bytes written around the wire's ``send``)."""

    venue: str
    grammar: OrderGrammar
    tracker: OrderTracker
    audit: AuditLog | NullAudit
    audited: bool
    sent_at: dict[str, Stamp]
    # Now, with the venue clock's offset (``ClockSync.stamp``): a send time that a later step of our
    # clock, or the offset measured again, cannot make later than it was.
    stamp: Callable[[], Stamp]

    @property
    def wire(self) -> RequestAudit: ...


def register(port: RegisterPort, order: Order, written_on: str | None = None) -> None:
    """``order`` tracked under its client id, its send time kept and, with a real audit log, its
    ``order_request`` written: ``place_order``'s before it sends, a template's send's right after it
    wrote the bytes itself (``written_on``: ``"ws"``/``"rest"``, where the wire's ``request`` record is
    written too, as the wire's ``send`` writes it for ``place_order``)."""
    port.tracker.track(order)
    port.sent_at[order.client_id] = port.stamp()
    if port.audited:  # the fields are built only for a real log: this runs for every order
        port.audit.event("order_request", **audit_fields(order))
        if written_on is not None:
            port.wire.audit_request(port.grammar.new_order(order), written_on)


def withdraw(port: RegisterPort, client_id: str, why: BaseException) -> None:
    """An order refused before any byte of it was written, forgotten again (``register`` undone; its
    ``order_request`` stays in the audit log, followed by ``order_withdrawn``)."""
    if port.tracker.withdraw(client_id) is not None:
        port.sent_at.pop(client_id, None)
        port.audit.event("order_withdrawn", venue=port.venue, client_id=client_id, error=type(why).__name__)


class SendPort(RegisterPort, Protocol):
    """What sending a registered order and settling its answer needs of a trading session."""

    reconciler: Reconciler
    rules_recheck: RulesRecheck

    async def answered(self, symbol: str, body: Any) -> Order | None: ...


class PlacePort(SendPort, Protocol):
    """What placing an order needs of a trading session."""

    dead_man: DeadMan | None
    risk: RiskGate
    rules: dict[str, InstrumentRules]

    async def send(
        self, call: Call, lane: Lane = "query", *, ready: Callable[[], None] | None = None
    ) -> Any: ...


# How an order's request goes: ``place_order``'s on the session's request path (the order socket or
# REST, the ``"order"`` lane), the kill switch's over REST on its own lane.
Sender = Callable[[Call], Awaitable[Any]]


async def place_order(port: PlacePort, order: Order, *, reserved: bool = False) -> Order:
    """``order`` (checked, not yet tracked) placed. ``reserved``: the risk limits already count it
    (``RiskGate.reserve`` under its client id, as ``place_orders`` does for several at once), so it
    is not checked again; the reservation ends as the tracker takes it, or here if it never goes."""
    try:
        if port.dead_man is not None:
            await port.dead_man.cover(order.symbol)  # a per-symbol switch armed before its first order
        # Made before the order is tracked: what the grammar refuses (an order type or time in force
        # the venue lacks) raises with nothing tracked, reported or sent.
        call = port.grammar.new_order(order)
    except BaseException:
        if reserved:
            port.risk.release(order.client_id)
        raise
    if not reserved:
        # Right before it counts (no await between): two concurrent calls cannot both pass a limit.
        port.risk.check(order.symbol, order.side, order.qty, order.price, client_id=order.client_id)
    register(port, order)
    ready = rules_kept(port, order)
    return await send_order(port, order, call, lambda c: port.send(c, lane="order", ready=ready))


def rules_kept(port: PlacePort, order: Order) -> Callable[[], None]:
    """A check of ``order`` (checked by the rules read so far) right before its weight is taken: by
    rules read anew while it waited for the budget (``load_rules``, the periodic read) — the venue's
    grid changed, and an order on the old grid only is refused by the venue — the rules' own
    :class:`InvalidOrder`, nothing written. (No wait, no new rules: an identity comparison.)"""
    rules = port.rules

    def check() -> None:
        if port.rules is not rules:
            now = port.rules.get(order.symbol)
            if now is None:
                raise InvalidOrder(f"{port.venue}: unknown symbol {order.symbol!r}")
            now.for_post_only(order.post_only).validate(order.side, order.type, order.qty, order.price)

    return check


async def send_order(port: SendPort, order: Order, call: Call, send: Sender) -> Order:
    """The one route of a registered order (``register``) to the venue and back, whoever sends it
    (``place_order``, the kill switch's closing orders): ``call`` sent with ``send``, counted in flight
    meanwhile (``Reconciler.call``: a kill waits for it; its caller cancelling it leaves it settled in
    the background). The order as the venue has it once answered. An answer lost is reconciled
    (``Reconciler.resolve``: found, the venue's state; no trace, ``TransportError`` with the order
    ``rejected``; the queries failing, ``UnknownOutcome`` with it ``unknown``), never resent; a request
    of which not one byte was written withdraws the order and raises its error (``was_unsent``); a
    refusal records it ``rejected`` and raises."""
    with port.reconciler.call(order.client_id):
        return await _sent(port, order, call, send)


async def _sent(port: SendPort, order: Order, call: Call, send: Sender) -> Order:
    try:
        body = await send(call)
    except asyncio.CancelledError as e:  # the caller's: settled by ``reconciler.call`` unless unsent
        if was_unsent(e):
            withdraw(port, order.client_id, e)
        raise
    except UnknownOutcome as e:
        return await port.reconciler.resolve(order, str(e))
    except TickwireError as e:
        if was_unsent(e):
            withdraw(port, order.client_id, e)
            raise
        if isinstance(e, RequestTimeoutError | TransportError):
            return await port.reconciler.resolve(order, str(e))
        refused(port, order.client_id, e)
        raise
    try:
        await port.answered(order.symbol, body)
    except DecodeError as e:
        # Answered in a form not the venue's: what became of the order is asked of the venue, as
        # for a lost answer (the unread answer changed nothing).
        return await port.reconciler.resolve(order, f"answer unreadable: {e}")
    got = port.tracker.get(order.client_id)
    assert got is not None
    return got


def refused(port: SendPort, client_id: str, e: TickwireError) -> None:
    """The venue's refusal of the new order ``client_id`` recorded (``rejected``, its reason the
    error's text); one saying the instrument rules may be out of date — a market the venue calls
    closed, a price or size off the grid it names (``stale_rules``) — has the session read its
    instrument list again."""
    port.tracker.apply(
        OrderEvent(source="rest", client_id=client_id, order_id=None, status="rejected", reason=str(e))
    )
    port.rules_recheck.after(e)
