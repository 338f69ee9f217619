"""One venue event applied to one order's record (:mod:`tickwire.trading.order_record`): its fill
counted once by trade id, the cumulative quantities and fees it states, the status it moves the order
to, and the anomalies it shows — the rules the order tracker (:mod:`tickwire.trading.tracker`) states,
applied to the order it found for the event. Storing and reporting the result is the tracker's."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal, NamedTuple

from tickwire.trading.order_record import ZERO, Record, amended, average, next_status, queued_change
from tickwire.trading.orders import TERMINAL, Fee, Fill, Order, OrderEvent, Status, evolve

__all__ = ["Change", "apply_event"]


class Change(NamedTuple):
    """What an event changed: the order as it is now, the fill it counted first (None: none new), the
    anomalies it showed, and whether the order itself changed (else only a fill is new)."""

    order: Order
    fill: Fill | None
    notes: list[str]
    changed: bool


def apply_event(rec: Record, ev: OrderEvent) -> Change | Literal["dropped"] | None:
    """``ev`` folded into ``rec``: its counts updated in place (and a rejected order the venue turns
    out to have, reopened), the new order returned for the caller to store. None if nothing changed;
    ``"dropped"`` for a late event about a closed order that adds nothing."""
    old = rec.order
    if rec.amending and old.is_open and ev.source != "ack":
        new_terms = amended(old, ev)
        if rec.queued_amends and new_terms is not old:
            # A replaced amend the venue states applied, before the open one: off the queue (it is
            # not applied again later; its larger quantity no longer counts against the risk limits).
            queued_change(rec, new_terms)
        old = new_terms
        if rec.amend_terms is not None and (old.qty, old.price) == rec.amend_terms:
            rec.amending, rec.amend_terms = False, None  # the venue states what was asked: settled
            rec.terms_ns = ev.ts_ns if ev.ts_ns is not None else rec.terms_ns
    elif rec.queued_amends and old.is_open and ev.source != "ack":
        # An amend a later one replaced, applied by the venue after it: its change is taken; any
        # other terms outside a window are a late word from before an amend, ignored. So is one
        # stating the change that the venue wrote before the word that settled the terms since: the
        # replaced amend applied first (its own word late), the later amend on top of it.
        late = amended(old, ev)
        if (
            late is not old
            and (ev.ts_ns is None or rec.terms_ns is None or ev.ts_ns > rec.terms_ns)
            and queued_change(rec, late)
        ):
            old = late
            rec.terms_ns = ev.ts_ns if ev.ts_ns is not None else rec.terms_ns
    notes: list[str] = []
    new_fill = _take_fill(rec, ev.fill, notes)
    stated: Status | None = ev.status if ev.status not in (None, "pending", "unknown") else None
    venue_word = new_fill is not None or stated not in (None, "rejected") or bool(ev.filled_cum)
    if rec.absent and old.status == "rejected" and venue_word:
        # The venue has it after all: processed late. Open again (stored: an end this word brings
        # counts from now), for this word to move it on.
        rec.absent = False
        rec.order = old = evolve(old, {"status": "unknown"})
        notes.append(f"the venue reported {old.client_id} after reconciliation found no trace of it")
    cum = ev.filled_cum
    if cum is None and stated == "filled":
        cum = old.qty  # "filled" with no quantity states the whole order
    if cum is not None:
        if cum > rec.cum:
            rec.cum, rec.cum_avg = cum, ev.avg_price  # an average belongs to its own quantity
        elif cum == rec.cum and rec.cum_avg is None:
            rec.cum_avg = ev.avg_price
    if ev.fee_cum is not None and (old.fee_asset is None or ev.fee_asset in (None, old.fee_asset)):
        # The statement of the most quantity filled wins (a later fill may be a rebate: the largest
        # fee is not the latest); one stating no quantity only while none was stated.
        at = cum if cum is not None else ZERO
        if rec.fee_at is None or at > rec.fee_at:
            rec.fee_cum, rec.fee_at = ev.fee_cum, at
    # An adopted order's distinct fills are this run's: the earlier run's quantity is on top.
    filled = max(old.filled, rec.cum, rec.fill_qty + (rec.adopted_base or ZERO))
    if rec.adopted_at is not None and rec.adopted_base is None:
        rec.adopted_base = filled - rec.fill_qty  # the earlier run's fills, never to be listed here
        if not rec.adopted_base:
            rec.adopted_notional = ZERO
        elif rec.cum == filled and rec.cum_avg is not None:
            rec.adopted_notional = rec.cum_avg * filled - rec.fill_notional
    status = next_status(old, stated, filled)

    closed = old.status in TERMINAL
    oid = ev.order_id or (ev.fill.order_id if ev.fill is not None else None)
    learns_oid = bool(oid) and old.order_id is None
    if closed and new_fill is None and filled == old.filled and status == old.status and not learns_oid:
        return "dropped"
    if new_fill is not None and old.status == "rejected":
        notes.append(f"fill {new_fill.trade_id} on an order the venue rejected")
    if filled > old.qty and filled > old.filled:
        notes.append(f"overfill: {filled} filled of {old.qty}")

    changes: dict[str, object] = {"filled": filled, "status": status}
    changes["avg_price"] = average(rec, filled, old.avg_price)
    # The venue's cumulative fee where it covers at least the fills counted here, else their sum:
    # either may be negative (rebates), so neither is the larger by rule. Fills beyond the venue's
    # statement that told no fee of their own leave the larger, as a fee was charged on them.
    if rec.fee_at is None:
        changes["fee"] = rec.fill_fee
    elif rec.fee_at >= rec.fill_qty:
        changes["fee"] = rec.fee_cum
    elif rec.unpriced:
        changes["fee"] = max(rec.fee_cum, rec.fill_fee)
    else:
        changes["fee"] = rec.fill_fee
    if rec.other_fees:
        changes["other_fees"] = tuple(Fee(a, n) for a, n in sorted(rec.other_fees.items()))
    if old.fee_asset is None:
        fee_asset = ev.fee_asset or (new_fill.fee_asset if new_fill is not None else None)
        if fee_asset is not None:
            changes["fee_asset"] = fee_asset
    if learns_oid:
        changes["order_id"] = oid  # even when closed: late fills may name only this id
    if not closed:
        if ev.reason:
            changes["reason"] = ev.reason
    elif status != old.status and ev.reason:
        changes["reason"] = ev.reason
    changed = old is not rec.order or any(getattr(old, k) != v for k, v in changes.items())
    if not changed and new_fill is None:
        return None  # (``old`` differs from the record only by an amend's new terms)
    if ev.ts_ns is not None:  # one copy, not two: this runs for every event
        changes["created_ns"] = old.created_ns if old.created_ns is not None else ev.ts_ns
        changes["updated_ns"] = ev.ts_ns if old.updated_ns is None else max(old.updated_ns, ev.ts_ns)
    new = evolve(old, changes)
    return Change(new, new_fill, notes, changed)


def _take_fill(rec: Record, fill: Fill | None, notes: list[str]) -> Fill | None:
    if fill is None:
        return None
    if not fill.trade_id:
        notes.append("a fill without a trade id cannot be de-duplicated: not counted")
        return None
    if fill.trade_id in rec.trade_ids:
        return None
    rec.trade_ids.add(fill.trade_id)
    rec.fill_qty += fill.qty
    rec.fill_notional += fill.price * fill.qty
    if fill.fee_asset is None and not fill.fee:
        rec.unpriced = True
    if rec.order.fee_asset is None or fill.fee_asset in (None, rec.order.fee_asset):
        rec.fill_fee += fill.fee
    elif fill.fee:
        rec.other_fees[fill.fee_asset] = rec.other_fees.get(fill.fee_asset, ZERO) + fill.fee
    if fill.client_id != rec.order.client_id:
        fill = replace(fill, client_id=rec.order.client_id)  # reported under the order's key
    return fill
