"""Tradefence beyond single orders: the account, the batch endpoint and AI recommendations, each
returning typed frozen results. They run on a ``tickwire.trade("tradefence")`` session (its signer,
connection, rules and tracker).

**doc**: ``POST /v1/batch`` with ``operations`` of ``{"action", "data"}`` — ``CREATE_ORDER``,
``UPDATE_POSITION``, ``CANCEL_ORDER``; ``POST /v1/ai/recommendations`` with ``portfolio``,
``risk_tolerance`` (the document shows ``MODERATE``) and ``time_horizon`` (``30_DAYS``); ``GET
/v1/account`` is named in the Clarofinlore document only — for Tradefence it is a default.

**default** (the simulator's choices, ``sim/venues/tradefence/trade.py``): the batch answers
``{"results": [{"action", "status", "result"}]}`` in the operations' order, each result an order, a
position update ``{"symbol", "quantity", "order"}`` or an error ``{"code", "message"}``;
``UPDATE_POSITION`` data is ``{"symbol", "quantity"}`` (the target position, signed; reached with a
market order, 0 closes it); ``CANCEL_ORDER`` data is ``{"order_id"}``; risk tolerances are
CONSERVATIVE, MODERATE or AGGRESSIVE and horizons ``<n>_DAYS``; a recommendation is ``{"symbol",
"action" BUY|SELL|HOLD, "confidence", "price"}``; the account is ``{"balances": [...], "positions":
[{"symbol", "quantity", "side" LONG|SHORT}]}``.

Orders created in a batch are validated against the instrument rules, checked against the
session's risk limits and tracked like ``place_order``'s (a position update is checked as the order
that moves the position the session counts to its target): a lost batch answer is reconciled per
created order (by its ``strategy`` tag), never resent.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from tickwire.errors import (
    RequestTimeoutError,
    RiskLimitExceeded,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.trading.codes import invalid_order
from tickwire.trading.intake import checked_order, untracked
from tickwire.trading.numbers import EXACT, to_decimal
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.venue import Balance, Call, Position
from tickwire.trading.wire import was_unsent
from tickwire.venues.tradefence.orders import Orders, dec, dumps

if TYPE_CHECKING:
    from tickwire.trading.session import TradingSession

__all__ = [
    "Account",
    "BatchResult",
    "CancelOrder",
    "CreateOrder",
    "Recommendation",
    "Recommendations",
    "UpdatePosition",
    "account",
    "batch",
    "recommendations",
]

RiskTolerance = Literal["CONSERVATIVE", "MODERATE", "AGGRESSIVE"]
RISK_TOLERANCES: tuple[RiskTolerance, ...] = ("CONSERVATIVE", "MODERATE", "AGGRESSIVE")
_HORIZON = re.compile(r"[1-9][0-9]{0,3}_DAYS")


@dataclass(frozen=True, slots=True)
class Account:
    balances: Mapping[str, Balance]
    positions: Mapping[str, Position]  # by symbol, quantities signed (long > 0)


@dataclass(frozen=True, slots=True)
class CreateOrder:
    """A ``CREATE_ORDER``: an order from ``tr.prepare(...)`` (checked, with its client id)."""

    order: Order


@dataclass(frozen=True, slots=True)
class UpdatePosition:
    """An ``UPDATE_POSITION``: bring ``symbol``'s position to ``qty`` (signed; 0 closes it)."""

    symbol: str
    qty: Decimal


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """A ``CANCEL_ORDER`` of an order known by its venue id or this session's client id."""

    order_id: str | None = None
    client_id: str | None = None


Operation = CreateOrder | UpdatePosition | CancelOrder


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One operation's outcome: ``order`` (created, cancelled, or the market order of a position
    update), ``position`` (an update's resulting position), or the venue's typed ``error``."""

    action: str
    status: int
    order: Order | None = None
    position: Position | None = None
    error: TickwireError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Recommendation:
    symbol: str
    action: str  # BUY, SELL or HOLD (kept as the venue says it)
    confidence: Decimal
    price: Decimal | None


@dataclass(frozen=True, slots=True)
class Recommendations:
    items: tuple[Recommendation, ...]
    risk_tolerance: str
    time_horizon: str
    generated_ms: int | None


def _grammar(tr: TradingSession) -> Orders:
    g = tr.grammar
    if not isinstance(g, Orders):
        raise TypeError(f"a Tradefence session is needed, not {tr.venue!r}")
    return g


def read_account(g: Orders, body: Mapping[str, Any]) -> Account:
    return Account(g.read_balances(body), g.read_positions(body))


async def account(tr: TradingSession) -> Account:
    """Balances and positions (``GET /v1/account``)."""
    g = _grammar(tr)
    return read_account(g, await tr.send(g.balances()))


# batch -----------------------------------------------------------------------------------------


def _checked_again(tr: TradingSession, g: Orders, op: Operation) -> Operation:
    """A ``CREATE_ORDER``'s order checked again against the instrument's rules, as ``place_orders``
    checks a prepared order (it may be changed since: ``dataclasses.replace``), its numbers as the
    check reads them (exact Decimals: a float or text never reaches the JSON)."""
    if not isinstance(op, CreateOrder):
        return op
    o = op.order
    if o.venue != g.venue or o.client_id in ("", None):
        raise invalid_order("CREATE_ORDER takes an order from tr.prepare(...)")
    again = checked_order(
        tr.venue, tr.rules, tr.client_ids, lambda cid: False, o.symbol, o.side, o.type, o.qty, o.price,
        tif=o.tif, post_only=o.post_only, reduce_only=o.reduce_only, client_id=o.client_id,
    )  # fmt: skip
    if (again.qty, again.price) == (o.qty, o.price) and type(o.qty) is Decimal:
        return op
    return CreateOrder(replace(o, qty=again.qty, price=again.price))


def _operation(tr: TradingSession, g: Orders, op: Operation) -> dict[str, Any]:
    """The operation's documented ``{"action", "data"}``, checked before anything is sent."""
    if isinstance(op, CreateOrder):
        if op.order.venue != g.venue or op.order.client_id in ("", None):
            raise invalid_order("CREATE_ORDER takes an order from tr.prepare(...)")
        if tr.tracker.get(op.order.client_id) is not None:
            raise invalid_order(f"order {op.order.client_id} was already sent", rule="client_id")
        return {"action": "CREATE_ORDER", "data": g.order_body(op.order)}
    if isinstance(op, CancelOrder):
        oid = g.venue_id(op.client_id, op.order_id)
        if oid is None:
            raise invalid_order(f"CANCEL_ORDER of {op.client_id or 'nothing'}: no known venue order id")
        return {"action": "CANCEL_ORDER", "data": {"order_id": oid}}
    if isinstance(op, UpdatePosition):
        rules = tr.rules.get(op.symbol)
        if rules is None:
            raise invalid_order(f"{g.venue}: unknown symbol {op.symbol!r}", rule="symbol")
        qty = _signed(op.qty)
        if rules.lot_size and EXACT.remainder(qty, rules.lot_size):
            raise invalid_order(
                f"UPDATE_POSITION {qty} is not a multiple of {rules.lot_size}", rule="lot_size"
            )
        return {"action": "UPDATE_POSITION", "data": {"symbol": op.symbol, "quantity": qty}}
    raise TypeError(f"not a batch operation: {op!r}")


def _signed(x: object) -> Decimal:
    """A position target: signed, otherwise checked as an order's quantity is (``to_decimal``: exact,
    finite, within its bounds; no float, no bool), and never rounded in the caller's context."""
    if isinstance(x, str) and x.startswith("-"):
        mag, neg = to_decimal(x[1:], "qty"), True
    elif isinstance(x, Decimal):
        mag, neg = to_decimal(x.copy_abs(), "qty"), x.is_signed()
    elif isinstance(x, int) and not isinstance(x, bool):
        mag, neg = to_decimal(abs(x), "qty"), x < 0
    else:
        mag, neg = to_decimal(x, "qty"), False
    return mag.copy_negate() if neg and mag else mag  # copy_negate: exact (unary minus rounds)


def _tracked_or_untracked(tr: TradingSession, events: list[OrderEvent]) -> Order:
    for ev in events:
        tr.tracker.apply(ev)
    got = tr.tracker.get(events[0].client_id) if events[0].client_id else None
    return got if got is not None else untracked(tr.venue, events[0])


def _reject(tr: TradingSession, client_id: str, why: str) -> None:
    tr.tracker.apply(OrderEvent(source="rest", client_id=client_id, status="rejected", reason=why))


def _result(tr: TradingSession, g: Orders, op: Operation, item: Mapping[str, Any]) -> BatchResult:
    action, status = str(item.get("action")), int(item.get("status", 0))
    try:
        body = g.unwrap(item)
    except TickwireError as e:
        if isinstance(op, CreateOrder):
            _reject(tr, op.order.client_id, str(e))
        return BatchResult(action, status, error=e)
    if isinstance(op, UpdatePosition):
        placed = body.get("order")
        order = _tracked_or_untracked(tr, g.read_order(placed)) if placed else None
        if order is not None:  # the venue's market order: what it filled moves the position counted
            tr.risk.count_untracked(tr.tracker, order)
        now = Position(op.symbol, Decimal(str(body["quantity"])))
        return BatchResult(action, status, order=order, position=now)
    return BatchResult(action, status, order=_tracked_or_untracked(tr, g.read_order(body)))


async def batch(tr: TradingSession, operations: Sequence[Operation]) -> tuple[BatchResult, ...]:
    """One ``POST /v1/batch``; one result per operation, in order. Every operation is checked before
    anything is sent (``InvalidOrder``); created orders are tracked first, like ``place_order``'s. A
    refusal of the whole batch is raised (its created orders rejected). When the answer is lost the
    created orders are reconciled one by one and :class:`UnknownOutcome` says so: the batch is not
    resent, and the fate of its cancels and position updates is for the caller to check."""
    g = _grammar(tr)
    if not operations:
        raise invalid_order("an empty batch")
    places = any(isinstance(op, CreateOrder | UpdatePosition) for op in operations)
    if places:
        # New orders (a position update places one) are refused after a kill, as place_order's;
        # a batch of cancels still goes.
        tr.refuse_if_halted("batch")
    operations = [_checked_again(tr, g, op) for op in operations]
    ops = [_operation(tr, g, op) for op in operations]
    created = [op.order for op in operations if isinstance(op, CreateOrder)]
    if len({o.client_id for o in created}) != len(created):
        raise invalid_order("the batch creates one order twice", rule="client_id")
    # The session's risk limits, as ``place_order``'s (no await from here to the tracking): each
    # created order counted from its check on, so the batch's later operations see its earlier ones;
    # a position update as the order that takes the position the gate counts to its target. One
    # refused, the batch is refused whole with nothing sent.
    try:
        for op, wire_op in zip(operations, ops, strict=True):
            if isinstance(op, CreateOrder):
                o = op.order
                # Released as it is tracked; the per-order caps too (no template's rules hold them).
                tr.risk.reserve(o.client_id, o.symbol, o.side, o.qty, o.price, caps=True)
            elif isinstance(op, UpdatePosition):
                move = wire_op["data"]["quantity"] - tr.risk.state(op.symbol).position
                if move:
                    tr.risk.check(op.symbol, "buy" if move > 0 else "sell", abs(move))
    except RiskLimitExceeded:
        for o in created:
            tr.risk.release(o.client_id)
        raise
    for o in created:
        tr.tracker.track(o)
    with contextlib.ExitStack() as calls:
        # Each created order counted in flight while the batch runs (``Reconciler.call``), as
        # ``place_orders``' are: a kill thrown meanwhile waits for it and cancels what it made (else
        # the kill skipped them as pending, and one reaching the venue after its last listing stayed
        # open); its caller cancelling the batch leaves them settled in the background.
        for o in created:
            calls.enter_context(tr.reconciler.call(o.client_id))
        if any(isinstance(op, UpdatePosition) for op in operations):
            # Its market orders are the venue's, tracked by no one: the batch is named in ``placing``
            # while it runs, so a kill waits for it and reads the positions again after it.
            name = f"batch {id(ops):x}"
            tr.placing.add(name)
            calls.callback(tr.placing.discard, name)
        return await _sent(tr, g, operations, ops, created, places)


async def _sent(
    tr: TradingSession,
    g: Orders,
    operations: Sequence[Operation],
    ops: list[Any],
    created: list[Order],
    places: bool,
) -> tuple[BatchResult, ...]:
    """The batch's request sent and its answer applied (``batch``, its created orders tracked)."""
    try:
        # One that places goes on the order lane: the halt is checked again right before its write
        # (after a wait for the budget), as for place_order's. One of cancels only goes on the
        # cancel lane, as cancel_order's: it may use the room kept back for cancels.
        body = await tr.send(g.batch_call(ops), lane="order" if places else "cancel")
    except TickwireError as e:
        if was_unsent(e):
            # Refused before a byte went out (the halt, a connection none could open): forgotten
            # again — taken for a lost answer, its orders were left unknown, reconciled for nothing.
            for o in created:
                tr.tracker.withdraw(o.client_id)
            raise
        if not isinstance(e, UnknownOutcome | RequestTimeoutError | TransportError):
            for o in created:
                _reject(tr, o.client_id, str(e))
            raise
        lost = tr.reconciler.lost_now()  # one loss: every order waits from it
        # Stamped for a close's bound (``settle_bound``): resolved one after another.
        with tr.reconciler.queued([o.client_id for o in created], lost):
            for o in created:
                # The session's own resolution: found (tracked as the venue has it), proven absent
                # (rejected, TransportError) or still unknown when even its queries fail
                # (UnknownOutcome, asked again in the background) — each order, not only those before
                # the first unknown (the rest were left pending for good).
                with contextlib.suppress(TickwireError):
                    await tr.reconciler.resolve(o, str(e), lost)
        if any(isinstance(op, UpdatePosition) for op in operations):
            # The position updates' market orders are the venue's, unknown now: the gate takes the
            # positions the venue lists (kept as they were if even that fails).
            with contextlib.suppress(TickwireError):
                held = await tr.positions()
                tr.risk.observe_positions({s: p.qty for s, p in held.items()})
        raise UnknownOutcome(f"{g.venue}: batch answer lost ({e}); its created orders were reconciled") from e
    if not isinstance(body, list) or len(body) != len(operations):
        raise UnknownOutcome(f"{g.venue}: batch answer does not list one result per operation")
    return tuple(_result(tr, g, op, item) for op, item in zip(operations, body, strict=True))


# AI recommendations ----------------------------------------------------------------------------


async def recommendations(
    tr: TradingSession,
    portfolio: Sequence[str | Mapping[str, Any]],
    risk_tolerance: RiskTolerance = "MODERATE",
    time_horizon: str = "30_DAYS",
) -> Recommendations:
    """``POST /v1/ai/recommendations``. ``portfolio``: symbols, or objects with a ``symbol`` (and
    whatever else the venue takes: sent as given, Decimals as exact numbers). Checked first: known
    symbols, a documented risk tolerance, a ``<n>_DAYS`` horizon."""
    g = _grammar(tr)
    if isinstance(portfolio, str | bytes) or not portfolio:
        raise invalid_order("portfolio is a non-empty list of symbols or {'symbol': ...} objects")
    for p in portfolio:
        symbol = p.get("symbol") if isinstance(p, Mapping) else p
        if not isinstance(symbol, str) or symbol not in tr.rules:
            raise invalid_order(f"{g.venue}: unknown symbol {symbol!r} in portfolio", rule="symbol")
    if risk_tolerance not in RISK_TOLERANCES:
        raise invalid_order(f"risk_tolerance is one of {', '.join(RISK_TOLERANCES)}, not {risk_tolerance!r}")
    if not isinstance(time_horizon, str) or not _HORIZON.fullmatch(time_horizon):
        raise invalid_order(f"time_horizon is <n>_DAYS (e.g. 30_DAYS), not {time_horizon!r}")
    req: dict[str, Any] = {"portfolio": [dict(p) if isinstance(p, Mapping) else p for p in portfolio]}
    req |= {"risk_tolerance": risk_tolerance, "time_horizon": time_horizon}
    body = await tr.send(Call("POST", "/v1/ai/recommendations", body=dumps(req)))
    items = tuple(
        Recommendation(
            symbol=str(r["symbol"]),
            action=str(r["action"]),
            confidence=Decimal(str(r["confidence"])),
            price=dec(r.get("price")),
        )
        for r in body.get("recommendations", ())
    )
    gen = body.get("generated_at")
    return Recommendations(
        items, str(body.get("risk_tolerance")), str(body.get("time_horizon")), int(gen) if gen else None
    )
