"""The one idempotent apply for everything said about an order: acks, REST answers, private-stream
events and reconciliation results, in any order, any number of times.

Rules (venues.md section 9 and the failures it lists; one event applied to one order's record in
:mod:`tickwire.trading.order_apply`):

- Fills are de-duplicated by ``trade_id``; the filled quantity never decreases: it is the largest of
  the sum of distinct fills and every cumulative quantity a source stated (a ``filled`` status states
  the whole quantity). ``filled >= qty`` means status ``filled``.
- Status moves forward only: pending/unknown → new → partially_filled → filled. canceled, expired and
  rejected are terminal, except that canceled or expired becomes filled when fills prove it (a cancel
  racing the last fill): a later fill, a cumulative quantity or a ``filled`` status wins.
- Events for a closed order are dropped unless they add a fill or filled quantity (then reported) or
  tell the venue's order id.
- An overfill (filled > qty) is kept as reported and signalled (``anomalies``, ``on_anomaly``), never
  clamped: it means a mapping bug or a venue fault that someone must look at.
- ``unknown`` (``mark_unknown``: the submit timed out, got a 5xx, or lost its socket) is left by any
  event for that order, which also cancels a scheduled resend of it (NautilusTrader issue 4215: the
  ack arrived on the user stream, the resend still fired and was refused as a duplicate).
- ``on_fill`` fires once per new fill, then ``on_order`` once per change, after the state is stored.
- An order reconciliation found no trace of (``mark_absent``) is ``rejected`` until the venue says
  otherwise: a venue that processed the request late (Binance -1007: "execution status unknown")
  acks, states or fills it afterwards, and that word reopens it (signalled as an anomaly), so it is
  tracked, listed open and its fills counted, never lost behind a terminal status.

Events for orders the tracker has not seen (placed before a restart, or by another script sharing the
key) are ignored and counted, unless the ``adopt`` predicate accepts them (e.g. ``ClientIds.owns``:
our prefix from an earlier session) and they describe the order (symbol, side, qty). An event naming
only a venue order id not yet known is held (up to ``max_orphans``) and applied once an ack or update
ties that id to one of our orders: a fill can overtake the ack.

An order is forgotten ``retain_s`` (default 600 s, at least 1 s) after it ended (filled, canceled,
expired, rejected), checked as new orders are tracked: a long-running session keeps the orders of the
last minutes, not every order it ever placed (~1 KB each, and every ``open_orders()`` walks them). A
late event for a forgotten order is ignored and counted, as for any order the tracker does not know;
a fill cannot be counted twice for it. ``retain_s = None`` keeps every order.

One tracker per venue account (client ids are unique within one); not thread-safe: feed it from one
thread (the event loop's).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal

from tickwire.clock import Stamp
from tickwire.trading.codes import invalid_order
from tickwire.trading.order_apply import apply_event
from tickwire.trading.order_record import (
    MAX_QUEUED_AMENDS,
    Exposure,
    Record,
    change_of,
    held_at_adoption,
    take_off_base,
    unheard_in,
)
from tickwire.trading.orders import TERMINAL, Fill, Order, OrderEvent, Status, evolve

__all__ = ["OrderTracker"]

_IN_FLIGHT: frozenset[Status] = frozenset({"pending", "unknown"})
# How long an ended order stays tracked: late fills of a cancel that raced them, a late copy of an
# event, a user's lookup come within seconds; minutes of margin.
RETAIN_S = 600.0
# Never less: the task that placed an order reads it back right after its last event (across awaits
# in which other orders may be tracked).
MIN_RETAIN_S = 1.0
MAX_GONE = 100_000  # forgotten client ids remembered against adoption (~10 MB at most)


# Held events' keys: a venue order id, or this prefix and a client id (a fill of an order to adopt).
_BY_CID = "\x00cid:"


class OrderTracker:
    """Orders by client id, updated only through ``apply``; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        on_order: Callable[[Order], object] | None = None,
        on_fill: Callable[[Fill], object] | None = None,
        on_anomaly: Callable[[Order, str], object] | None = None,
        adopt: Callable[[OrderEvent], bool] | None = None,
        on_forget: Callable[[str], object] | None = None,
    ) -> None:
        self.on_order = on_order
        self.on_fill = on_fill
        self.on_anomaly = on_anomaly
        self.adopt = adopt
        self.on_forget = on_forget  # called with each forgotten order's client id
        # Told of every change of what an order counts against the risk limits (``RiskGate``).
        self.exposure: Exposure | None = None
        self.retain_s: float | None = RETAIN_S
        self.clock: Callable[[], float] = time.monotonic
        # Now, with the venue clock's offset (the session's ``ClockSync.stamp``): when an adopted
        # order's fills count from. While a listing adopts (``adopting_since``), its request's.
        self.stamp: Callable[[], Stamp] = lambda: Stamp(int(time.time() * 1000), 0.0)
        self.adopting_since: Stamp | None = None
        # (when it ended, client id), oldest first: what ``_forget_ended`` walks.
        self._ended: collections.deque[tuple[float, str]] = collections.deque()
        self.forgotten = 0
        # The client ids forgotten last, or heard of as ended while untracked (oldest first, at most
        # ``MAX_GONE``): a late event for one is never adopted as another run's open order — its fills
        # were counted already, or it is over.
        self._gone: dict[str, None] = {}
        self._recs: dict[str, Record] = {}
        self._by_oid: dict[str, str] = {}
        self._orphans: dict[str, list[OrderEvent]] = {}
        self._orphan_count = 0
        self.max_orphans = 10_000
        self.anomalies = 0  # overfills, fills on rejected orders, fills without a trade id
        self.ignored = 0  # events for orders neither tracked nor adopted (nor yet matched)
        self.dropped = 0  # late events for closed orders that added nothing

    # -- registering -------------------------------------------------------------------------------

    def track(self, order: Order) -> Order:
        """Register an intent before it is sent: status ``pending``, nothing filled."""
        if not order.client_id:
            raise invalid_order("an order needs a client_id to be tracked", rule="client_id")
        if order.client_id in self._recs:
            raise invalid_order(f"client_id {order.client_id!r} is already tracked", rule="client_id")
        if order.status != "pending" or order.filled:
            raise invalid_order("track() takes a new intent: status 'pending', nothing filled", rule="status")
        if self._ended and self.retain_s is not None:
            self._forget_ended(self.clock() - max(self.retain_s, MIN_RETAIN_S))
        rec = self._recs[order.client_id] = Record(order)
        if order.order_id:
            self._by_oid[order.order_id] = order.client_id
        if self.exposure is not None:
            self.exposure.account(rec)
        return order

    def _forget_ended(self, before: float) -> None:
        """Forgets the orders that ended before ``before`` (and were not discarded since)."""
        ended = self._ended
        while ended and ended[0][0] <= before:
            _, cid = ended.popleft()
            rec = self._recs.get(cid)
            if rec is None or rec.order.is_open or rec.ended_at > before:
                continue
            del self._recs[cid]
            if rec.order.order_id and self._by_oid.get(rec.order.order_id) == cid:
                del self._by_oid[rec.order.order_id]
            self._mark_gone(cid)
            self.forgotten += 1
            if self.on_forget is not None:
                self.on_forget(cid)

    def mark_unknown(self, client_id: str, reason: str, *, retry: bool = False) -> Order | None:
        """The submit's outcome is unknown (time-out, 5xx, lost socket): reconcile it. Only a pending
        order moves to ``unknown`` (one the venue already acknowledged is known to exist). With
        ``retry`` a resend is scheduled; any event for the order cancels it."""
        rec = self._recs.get(client_id)
        if rec is None or rec.order.status != "pending":
            return None
        rec.retry = retry
        return self._store(rec, evolve(rec.order, {"status": "unknown", "reason": reason}), None)

    def mark_absent(self, client_id: str, reason: str) -> Order | None:
        """Reconciliation found no trace of the order at the venue: ``rejected``, reopened by any later
        word of the venue about it (see the module docstring)."""
        rec = self._recs.get(client_id)
        if rec is None:
            return None
        ev = OrderEvent(source="reconcile", client_id=client_id, status="rejected", reason=reason)
        got = self.apply(ev)
        rec.absent = rec.order.status == "rejected"
        return got

    def absent_since(self, since: float) -> list[str]:
        """The orders reconciliation called absent (``mark_absent``) and no venue word reopened since,
        that ended at or after ``since`` (this tracker's ``clock``)."""
        return [
            cid
            for cid, rec in self._recs.items()
            if rec.absent and rec.order.status == "rejected" and rec.ended_at >= since
        ]

    def schedule_retry(self, client_id: str) -> None:
        rec = self._recs.get(client_id)
        if rec is not None and rec.order.status in _IN_FLIGHT:
            rec.retry = True

    def retry_due(self, client_id: str) -> bool:
        """True once if a scheduled resend should go out now (nothing was heard of the order since);
        taking it clears it, so two timers cannot both resend."""
        rec = self._recs.get(client_id)
        if rec is None or not rec.retry or rec.order.status not in _IN_FLIGHT:
            return False
        rec.retry = False
        return True

    def cancel_retry(self, client_id: str) -> None:
        rec = self._recs.get(client_id)
        if rec is not None:
            rec.retry = False

    def begin_amend(self, client_id: str, terms: tuple[Decimal, Decimal | None] | None = None) -> None:
        """An amend of ``client_id`` to ``terms`` (qty, price) is on its way: until :meth:`end_amend`,
        or until an event states ``terms``, the quantity and price an answer, query or stream event
        states are taken as the order's terms. Outside that window stated terms are ignored: a late
        event from before the amend must not undo it. A new amend replaces one left open."""
        rec = self._recs.get(client_id)
        if rec is not None:
            if rec.amending and rec.amend_terms is not None and rec.amend_terms != terms:
                # The amend whose window this one replaces may still be applied, after this one (a
                # venue naming no request window): its change is kept, so that word is taken.
                change = change_of(rec.order, rec.amend_terms)
                if change != (None, None):
                    rec.queued_amends.append(change)
                    del rec.queued_amends[:-MAX_QUEUED_AMENDS]
            rec.amending, rec.amend_terms = True, terms
            if self.exposure is not None:  # a larger quantity counts from now
                self.exposure.account(rec)

    def restore_amend(self, client_id: str, terms: tuple[Decimal, Decimal | None] | None) -> None:
        """The amend to ``terms``, whose window a later amend replaced, open again (that later amend
        changed nothing at the venue): as if the later one had never begun."""
        rec = self._recs.get(client_id)
        if rec is None:
            return
        if terms is not None:
            change = change_of(rec.order, terms)
            queued = rec.queued_amends
            if change in queued:  # queued when the later amend replaced its window: the last such
                del queued[len(queued) - 1 - queued[::-1].index(change)]
        rec.amending, rec.amend_terms = True, terms
        if self.exposure is not None:
            self.exposure.account(rec)

    def amend_window(self, client_id: str) -> tuple[bool, tuple[Decimal, Decimal | None] | None]:
        """Whether an amend of ``client_id`` is open (:meth:`begin_amend`), and the terms it asked."""
        rec = self._recs.get(client_id)
        return (False, None) if rec is None else (bool(rec.amending), rec.amend_terms)

    def end_amend(self, client_id: str, terms: tuple[Decimal, Decimal | None] | None = None) -> None:
        """The amend of ``client_id`` settled (with ``terms``: only if it is still the amend to them)."""
        rec = self._recs.get(client_id)
        if rec is not None and (terms is None or rec.amend_terms == terms):
            rec.amending, rec.amend_terms = False, None
            if self.exposure is not None:
                self.exposure.account(rec)

    def withdraw(self, client_id: str) -> Order | None:
        """Forget an order never written (refused before its first byte went out: the budget, the kill
        switch, the order socket down), as if never tracked: nothing fires. Only a pending one."""
        rec = self._recs.get(client_id)
        if rec is None or rec.order.status != "pending":
            return None
        del self._recs[client_id]
        if self.exposure is not None:
            self.exposure.account(rec, gone=True)
        return rec.order

    def discard(self, client_id: str) -> None:
        """Forget a closed order (late fills for it will then be ignored, not reported)."""
        rec = self._recs.get(client_id)
        if rec is None or rec.order.is_open:
            return
        del self._recs[client_id]
        if rec.order.order_id:
            self._by_oid.pop(rec.order.order_id, None)
        self._mark_gone(client_id)

    # -- lookups -----------------------------------------------------------------------------------

    def get(self, client_id: str) -> Order | None:
        rec = self._recs.get(client_id)
        return None if rec is None else rec.order

    def used(self, client_id: str) -> bool:
        """Whether ``client_id`` names an order tracked now, or one forgotten since it ended or heard
        of as ended (the last ``MAX_GONE``): a new order under it is a reuse — a venue may take it for
        a resend of the first (Clarofinlore answers with that order) or accept it as a second order
        of one id (Binance once the first closed)."""
        return client_id in self._recs or client_id in self._gone

    def by_order_id(self, order_id: str) -> Order | None:
        cid = self._by_oid.get(order_id)
        return None if cid is None else self.get(cid)

    def open_orders(self) -> list[Order]:
        """Every order not terminal, including pending and unknown ones (they may be live)."""
        return [r.order for r in self._recs.values() if r.order.is_open]

    def in_flight(self) -> list[Order]:
        return [r.order for r in self._recs.values() if r.order.status in _IN_FLIGHT]

    def unknown(self) -> list[Order]:
        return [r.order for r in self._recs.values() if r.order.status == "unknown"]

    def __iter__(self) -> Iterator[Order]:
        return (r.order for r in list(self._recs.values()))

    def __len__(self) -> int:
        return len(self._recs)

    # -- the apply ---------------------------------------------------------------------------------

    def apply(self, ev: OrderEvent) -> Order | None:
        """Fold one event in; the updated Order if anything changed (a new fill counts), else None."""
        rec = self._find(ev)
        if rec is None:
            rec = self._adopt(ev)
            if rec is None:
                if self.adopt is not None and ev.client_id and ev.status in TERMINAL:
                    # Ended: a listing taken before this word, stating it open, must not bring it back.
                    self._mark_gone(ev.client_id)
                self._stash(ev)
                return None
        rec.retry = False  # any word from the venue about this order supersedes a scheduled resend
        change = apply_event(rec, ev)
        if change == "dropped":
            self.dropped += 1
            return None
        if change is None:
            return None
        return self._store(rec, change.order, change.fill, change.notes, changed=change.changed)

    # -- internals ---------------------------------------------------------------------------------

    def _find(self, ev: OrderEvent) -> Record | None:
        cid = ev.client_id or (ev.fill.client_id if ev.fill is not None else "")
        rec = self._recs.get(cid) if cid else None
        if rec is None:
            oid = ev.order_id or (ev.fill.order_id if ev.fill is not None else None)
            owner = self._by_oid.get(oid) if oid else None
            rec = self._recs.get(owner) if owner is not None else None
        return rec

    def _stash(self, ev: OrderEvent) -> None:
        """Keep an event that names only a venue order id not yet known: a fill can overtake the ack
        that tells which of our orders the id belongs to. Replayed when the id becomes known."""
        self.ignored += 1
        cid = ev.client_id or (ev.fill.client_id if ev.fill is not None else "")
        if cid and ev.fill is not None and self.adopt is not None and cid not in self._gone:
            adoptable = self.adopt(ev if ev.client_id else replace(ev, client_id=cid))
        else:
            adoptable = False
        if adoptable:
            # A fill of an order to adopt, in a word that cannot adopt it (Bybit's ``execution``
            # names no quantity): held for the word that does — else the fill, in the quantity
            # filled that word states, would never reach on_fill.
            self._hold(_BY_CID + cid, ev)
            return
        oid = ev.order_id or (ev.fill.order_id if ev.fill is not None else None)
        if cid or not oid:
            return  # a client id we do not hold is another script's order, not a race
        self._hold(oid, ev)

    def _hold(self, key: str, ev: OrderEvent) -> None:
        self._orphans.setdefault(key, []).append(ev)
        self._orphan_count += 1
        while self._orphan_count > self.max_orphans:  # oldest first: other scripts' orders on a shared key
            first = next(iter(self._orphans))
            self._orphan_count -= len(self._orphans.pop(first))

    def _mark_gone(self, client_id: str) -> None:
        gone = self._gone
        gone[client_id] = None
        if len(gone) > MAX_GONE:
            del gone[next(iter(gone))]

    def _adopt(self, ev: OrderEvent) -> Record | None:
        if self.adopt is None or not ev.client_id or ev.symbol is None or ev.side is None or ev.qty is None:
            return None
        if ev.client_id in self._gone:
            return None
        # Fills held for this client id passed the test already: the word that can adopt the order
        # does so even if it says the order ended (filled, or canceled after a fill), so they count.
        if not self.adopt(ev) and _BY_CID + ev.client_id not in self._orphans:
            return None
        order = Order(
            venue=ev.venue or (ev.fill.venue if ev.fill is not None else ""),
            symbol=ev.symbol,
            side=ev.side,
            type=ev.type or ("limit" if ev.price is not None else "market"),
            tif=ev.tif or "GTC",
            qty=ev.qty,
            price=ev.price,
            client_id=ev.client_id,
            status="pending",
        )
        since = self.adopting_since or self.stamp()
        rec = Record(order, adopted_at=since, adopted_by_stream=ev.source == "stream")
        self._recs[ev.client_id] = rec
        return rec

    def unaccounted(self) -> list[str]:
        """Ended orders (still kept) stated filled beyond the fills known by trade id: an answer said
        how much filled, and the stream that was to list the fills lost them. Their fills are asked
        for once the private stream is back, once each (an adopted order's earlier fills aside)."""
        return [
            cid
            for cid, r in self._recs.items()
            if not r.order.is_open and not r.fills_asked and unheard_in(r)
        ]

    def unheard(self, client_id: str) -> bool:
        """True if ``client_id`` is stated filled beyond the fills known by trade id (an adopted
        order's earlier run's aside): executions ``on_fill`` has not heard of yet."""
        rec = self._recs.get(client_id)
        return rec is not None and unheard_in(rec)

    def fills_asked(self, client_id: str) -> None:
        """Its fills were asked for: not listed by :meth:`unaccounted` again (a fill the venue's one
        page of trade history no longer holds would be asked for at every reconnect)."""
        rec = self._recs.get(client_id)
        if rec is not None:
            rec.fills_asked = True

    def adopted_at(self, client_id: str) -> Stamp | None:
        """From when this session counts the fills of ``client_id``, an order it adopted; None if it
        placed it."""
        rec = self._recs.get(client_id)
        return None if rec is None else rec.adopted_at

    def adopted_base(self, client_id: str) -> Decimal | None:
        """Of an adopted order's quantity filled, what the earlier run's fills made (None: not adopted,
        or no word of its quantity filled yet)."""
        rec = self._recs.get(client_id)
        return None if rec is None else rec.adopted_base

    def _store(
        self,
        rec: Record,
        new: Order,
        fill: Fill | None,
        notes: list[str] | None = None,
        *,
        changed: bool = True,
    ) -> Order:
        if rec.order.is_open and not new.is_open:
            rec.ended_at = self.clock()
            self._ended.append((rec.ended_at, new.client_id))
        rec.order = new
        if self.exposure is not None:  # before anything is reported: a callback may place an order
            self.exposure.account(rec)
        learned = bool(new.order_id) and new.order_id not in self._by_oid
        if learned:
            assert new.order_id is not None
            self._by_oid[new.order_id] = new.client_id
        for note in notes or ():
            self.anomalies += 1
            if self.on_anomaly is not None:
                self.on_anomaly(new, note)
        if fill is not None and self.on_fill is not None:
            self.on_fill(fill)
        if changed and self.on_order is not None:
            self.on_order(new)
        if not self._orphans:
            return new
        by_oid = self._orphans.pop(new.order_id, None) if learned and new.order_id else None
        by_cid = self._orphans.pop(_BY_CID + new.client_id, None) if rec.adopted_at is not None else None
        if by_oid is None and by_cid is None:
            return new
        if by_oid is not None:
            self._replay(by_oid)
        if by_cid is not None:
            if rec.adopted_base is not None and rec.adopted_at is not None:
                # Taken off before they are replayed: the quantity filled is this run's fills on top.
                take_off_base(rec, held_at_adoption(rec, by_cid))
            self._replay(by_cid)
        return rec.order

    def _replay(self, held: list[OrderEvent]) -> None:
        """Held events applied now that their order is known (no longer held, nor ignored)."""
        self._orphan_count -= len(held)
        self.ignored -= len(held)
        for ev in held:
            self.apply(ev)
