"""What the order tracker (:mod:`tickwire.trading.tracker`) keeps of each order beyond the order
itself — the fills counted by trade id, the quantities and averages the venue stated, adoption and
retry marks — and the arithmetic of moving an order's state on from an event."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from tickwire.clock import Stamp
from tickwire.trading.orders import TERMINAL, Fill, Order, OrderEvent, Status, evolve

# The replaced amends' changes kept per order (``Record.queued_amends``).
MAX_QUEUED_AMENDS = 8
ZERO = Decimal(0)
# Forward order among the open states; pending and unknown rank lowest (any news moves them on).
_RANK: dict[Status, int] = {"pending": 0, "unknown": 0, "new": 1, "partially_filled": 2}


@dataclass(slots=True)
class Record:
    order: Order
    trade_ids: set[str] = field(default_factory=set)
    fill_qty: Decimal = ZERO  # sum over distinct fills
    fill_notional: Decimal = ZERO
    fill_fee: Decimal = ZERO  # in the order's fee asset
    other_fees: dict[str, Decimal] = field(default_factory=dict)  # fills' fees in other assets
    cum: Decimal = ZERO  # largest cumulative quantity a source stated
    cum_avg: Decimal | None = None  # the average price stated with it
    fee_cum: Decimal = ZERO
    # The cumulative quantity ``fee_cum`` was stated with (None: no cumulative fee stated yet). A fee
    # may be negative (a maker rebate), so the cumulative fee of the most quantity counts, not the
    # largest fee.
    fee_at: Decimal | None = None
    # A fill was counted that states no fee (HTX's stream: fee 0, no asset): the sum over the fills
    # is then no fee total of its own.
    unpriced: bool = False
    retry: bool = False
    # An amend sent and not settled: stated qty/price are the new terms. Amends of one order run one
    # at a time (``amend.OneAtATime``); one left open closes when the venue states the terms it asked.
    amending: bool = False
    amend_terms: tuple[Decimal, Decimal | None] | None = None
    # The changes (qty, price; None: unchanged) of amends whose windows a later amend replaced while
    # still open: on a venue that names no request window the venue may apply one after the later
    # amend, and its word then states the order's terms with exactly that change (``queued_change``).
    # At most ``MAX_QUEUED_AMENDS``, the newest: an order re-quoted by overlapping amends for hours
    # would otherwise keep every one, and a venue applies a request that old late, if ever, rarely.
    queued_amends: list[tuple[Decimal | None, Decimal | None]] = field(default_factory=list)
    # The venue's time (ns) of the word that last settled the order's terms — stating an amend's terms
    # asked, or a queued amend's change: a word stating a queued change from before it is the venue's
    # state before that amend (the replaced one applied first, its word late), not one applied after.
    terms_ns: int | None = None
    # An earlier run's order: from when this session counts its fills (``clock.Stamp``) — the adopting
    # listing's request, or the word that adopted it; those before were that run's.
    adopted_at: Stamp | None = None
    # Adopted by a stream word, which states the fills held for the order before it (their quantity
    # is this run's, not in ``adopted_base``); a listing may have been written before them.
    adopted_by_stream: bool = False
    adopted_base: Decimal | None = None  # of its quantity filled, what it had when adopted
    # What ``adopted_base`` cost (None: no average was stated with it): this run's fills priced on top
    # where no word states the average of the whole (HTX's stream states ``execAmt`` alone).
    adopted_notional: Decimal | None = None
    fills_asked: bool = False  # its fills were asked for once, unaccounted: not again
    absent: bool = False  # rejected because reconciliation found no trace: any later venue word reopens it
    ended_at: float = 0.0  # when it last ended (an order reopened and ended again counts from then)
    # What the order counts in the session's risk exposure (``RiskGate.account``); None: nothing yet.
    risk: tuple[str, str, bool, Decimal, Decimal] | None = None


class Exposure(Protocol):
    """What the tracker tells of each order's change (``tickwire.trading.risk.RiskGate``)."""

    def account(self, rec: Record, gone: bool = False) -> None: ...


def held_at_adoption(rec: Record, held: list[OrderEvent]) -> list[Fill]:
    """Of the fills ``held`` for an order until a word adopted it, those that word's quantity filled
    included: not the earlier run's. A stream word's includes every one (not yet counted); a
    listing's those made before it was asked for (one made while it was written may be in it or not:
    left out, its quantity stays the earlier run's — a fill may then go unasked for, none is counted
    twice)."""
    fills = [e.fill for e in held if e.fill is not None]
    if rec.adopted_by_stream:
        new = {f.trade_id: f for f in fills if f.trade_id and f.trade_id not in rec.trade_ids}
        return list(new.values())
    assert rec.adopted_at is not None
    asked_ns = rec.adopted_at.venue_ms * 1e6
    return [f for f in fills if f.ts_ns and f.ts_ns <= asked_ns]


def take_off_base(rec: Record, fills: list[Fill]) -> None:
    """``fills`` (held, counted as this run's) taken off what the adopting word made the earlier
    run's quantity filled, and off what that quantity cost."""
    assert rec.adopted_base is not None
    qty = sum((f.qty for f in fills), ZERO)
    rec.adopted_base = max(ZERO, rec.adopted_base - qty)
    if rec.adopted_notional is not None:
        cost = sum((f.price * f.qty for f in fills), ZERO)
        rec.adopted_notional = max(ZERO, rec.adopted_notional - cost) if rec.adopted_base else ZERO


def unheard_in(r: Record) -> bool:
    return r.order.order_id is not None and r.order.filled > r.fill_qty + (r.adopted_base or ZERO)


def amended(order: Order, ev: OrderEvent) -> Order:
    """``order`` with the total quantity and limit price ``ev`` states (an amend changes both in
    place; a market order has no price to change)."""
    qty = ev.qty if ev.qty is not None and ev.qty > 0 else order.qty
    price = ev.price if ev.price is not None and order.type == "limit" else order.price
    if qty == order.qty and price == order.price:
        return order
    return evolve(order, {"qty": qty, "price": price})


def change_of(order: Order, terms: tuple[Decimal, Decimal | None]) -> tuple[Decimal | None, Decimal | None]:
    """What an amend to ``terms`` changes of ``order``'s terms (None: that one unchanged)."""
    qty, price = terms
    return (None if qty == order.qty else qty, None if price == order.price else price)


def queued_change(rec: Record, stated: Order) -> bool:
    """Whether ``stated`` (the order with the terms a venue word states) is ``rec``'s order with exactly
    one of its ``queued_amends`` applied — that amend, applied late; if so it is taken off the queue."""
    old = rec.order
    for i, (qty, price) in enumerate(rec.queued_amends):
        if stated.qty == (old.qty if qty is None else qty) and stated.price == (
            old.price if price is None else price
        ):
            del rec.queued_amends[i]
            return True
    return False


def next_status(old: Order, stated: Status | None, filled: Decimal) -> Status:
    if (filled >= old.qty and filled > 0) or stated == "filled":
        return "filled"  # also from canceled/expired: the fills prove it (cancel raced the fill)
    if old.status in TERMINAL:
        return old.status
    if stated in ("canceled", "expired", "rejected"):
        assert stated is not None
        return stated
    best: Status = "partially_filled" if filled > 0 else "new"
    for s in (old.status, stated):
        if s is not None and _RANK.get(s, -1) > _RANK[best]:
            best = s
    return best


def average(rec: Record, filled: Decimal, old: Decimal | None) -> Decimal | None:
    if rec.fill_qty > 0 and rec.fill_qty == filled:
        return rec.fill_notional / rec.fill_qty
    if rec.cum_avg is not None and rec.cum == filled:
        return rec.cum_avg
    base, cost = rec.adopted_base, rec.adopted_notional
    if base is not None and cost is not None and rec.fill_qty > 0 and base + rec.fill_qty == filled:
        # An adopted order's fills heard here on top of the earlier run's, no word stating the whole.
        return (cost + rec.fill_notional) / filled
    return old
