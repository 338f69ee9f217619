"""Reconciliation after the private stream was away (``Reconciler.reconcile_open``): every order open
or left unknown asked about — those whose queries fail asked again, rounds then later tries — the
orders called absent shortly before asked once more, and the fills of ended orders the stream never
listed fetched; and the same for the open orders a periodic listing of the venue's does not name
(``unlisted``: their last words lost on a stream that stayed up). Apart from
:mod:`tickwire.trading.reconcile`, whose ``Reconciler`` it is a part of, because it is what a
reconnect runs, not what one order's lost answer does."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from tickwire.errors import TickwireError
from tickwire.trading.fills_catch_up import LATER_S, FillsCatchUp, later_pauses
from tickwire.trading.orders import Order, OrderEvent

if TYPE_CHECKING:
    from tickwire.trading.reconcile import ReconcilePort

log = logging.getLogger("tickwire.trading")

# After the private stream returns, orders whose queries failed (a time-out right after a network
# blip, the budget full) are asked again in this many more rounds, each this much later than the last.
AWAY_ROUNDS = 3
AWAY_RETRY_S = 0.5
# How long after reconciliation called an order absent a private stream's return asks about it once
# more (``Reconciler._absent_again``): a venue that names no request window may take it later still.
ABSENT_RECHECK_S = 60.0


class AfterGap(FillsCatchUp):
    """The part of ``Reconciler`` a private stream's return runs. What it reads of the rest:"""

    port: ReconcilePort
    resolving: set[str]
    _lost_at: dict[str, tuple[float, float]]
    _left_to_owner: set[str]
    # Orders a task of the session asks about later (``_ask_later``): one task each, whichever of a
    # stream's return, an owner letting go or a failed state query (``Reconciler.ask_later``) left it.
    _asking_later: set[str]

    def owned(self, client_id: str) -> bool:
        raise NotImplementedError

    async def reconcile(self, client_id: str) -> Order | None:
        raise NotImplementedError

    async def _status(self, order: Order, client_id: str) -> list[OrderEvent]:
        raise NotImplementedError

    async def lost_order_window_s(self, offset_ms: float, since: float) -> tuple[float, bool]:
        """How long after ``since`` (monotonic s; the request stamped on the venue-clock offset
        ``offset_ms``) a lost order with no trace at the venue is waited for before it is called
        absent, and whether the venue bounds it: its request window (``lost_request_window_s``; True:
        past it the venue can no longer take the request), else the session's ``lost_order_wait_s``
        (False: no proof — a venue holding the request longer may still take it, and the order is
        reopened then — but "not placed" no longer comes ~0.6 s after the loss, while a request the
        venue held a second in its queue was still taken: an order its caller was told to send again).
        For the verdicts a caller acts on — a lost place's "not placed", a lost amend's "did not take
        effect" — never for ``Reconciler.recheck``, which takes the venue's window as proof (an amend
        it did not apply by then is closed) and otherwise looks at once."""
        window = await self.port.lost_request_window_s(offset_ms, since)
        return (self.port.lost_order_wait_s, False) if window is None else (window, True)

    async def reconcile_open(self) -> None:
        """Reconciles every order that was open or left unknown (after the private stream came back),
        and fetches the fills of ended ones stated filled beyond the fills heard of: what changed
        while it was away reaches ``on_order``/``on_fill`` like any other event. A pending
        order, or one its own call is reconciling, is left to that call. An order whose queries fail
        does not stop the others; it is asked again, ``AWAY_ROUNDS`` times at most."""
        await self._open_ones()
        await self._absent_again()
        await self._missing_fills()  # after: the open orders are the urgent part

    async def _open_ones(self) -> None:
        tracker = self.port.tracker
        todo = []
        for o in tracker.open_orders():
            if self.owned(o.client_id):
                self._left_to_owner.add(o.client_id)  # asked about once its owner lets go
            else:
                todo.append(o.client_id)
        failed: list[tuple[str, TickwireError]] = []
        for round in range(AWAY_ROUNDS + 1):
            if round:
                await asyncio.sleep(AWAY_RETRY_S * round)
            failed = []
            for cid in todo:
                try:
                    await self._after_away(cid)
                except TickwireError as e:
                    failed.append((cid, e))
            if not failed:
                return
            todo = [cid for cid, _ in failed]
        p = self.port
        for cid, err in failed:
            log.warning("%s: order %s not reconciled after the stream returned: %s", p.venue, cid, err)
            p.audit.event("reconcile_failed", venue=p.venue, client_id=cid, error=str(err))
            # Asked again later, as an order left unknown is (``_later``): a REST outage or a
            # rate-limit ban outlasting the rounds above must not leave an order the venue ended
            # in the gap open here for good (nothing else asks about it until the next reconnect).
            self._ask_later(cid)

    async def _absent_again(self) -> None:
        """The orders called absent in the last ``ABSENT_RECHECK_S`` (``rejected``: the queries found no
        trace), asked about once: on a venue that names no request window (OKX, Bybit over REST) the
        verdict is the queries' word, and the venue may take the request after it — its word on the
        order, which reopens it, may have been lost in the gap. Where the venue bounds that (Binance
        spot's ``recvWindow``) the verdict waited the bound out; asking again costs one query.
        Failures are logged, not retried: the verdict stands until the venue says otherwise."""
        p = self.port
        for cid in p.tracker.absent_since(p.tracker.clock() - ABSENT_RECHECK_S):
            if self.owned(cid):
                continue
            try:
                events = await self._status(self._current(cid), cid)
            except TickwireError as e:
                if not p.grammar.not_found(e):
                    log.info("%s: order %s called absent, not asked again: %s", p.venue, cid, e)
                continue
            for ev in events:
                p.tracker.apply(replace(ev, source="reconcile"))
            if self._current(cid).status != "rejected":
                log.warning("%s: order %s called absent was taken by the venue after all", p.venue, cid)
                p.audit.event("reconciled", venue=p.venue, client_id=cid, found=True, reopened=True)
                await self.settle_fills(cid)

    async def unlisted(self, before: Sequence[str], listed: set[str]) -> int:
        """An audit's listing of the venue's open orders (``open_audit.py``) just read: of ``before``,
        the orders acknowledged open here when it was asked, each not in ``listed`` (client ids) and
        still open and not being settled is asked about as after the stream's return — its state,
        then the fills it is stated to have made unheard — and each listed one stated filled beyond
        the fills heard has them fetched. Returns how many were asked about."""
        tracker, asked = self.port.tracker, 0
        for cid in before:
            o = tracker.get(cid)
            if o is None or not o.is_open or self.owned(cid):
                continue
            if cid in listed:
                if tracker.unheard(cid):
                    self._fills_again(cid)
                continue
            asked += 1
            self.port.audit.event("open_audit_unlisted", venue=self.port.venue, client_id=cid)
            await self._after_away_once(cid)
        return asked

    def _ask_later(self, client_id: str) -> None:
        """``_away_later`` for ``client_id`` in a task of the session, unless one already asks about it:
        each return of a stream flapping through a REST outage would add one more, every one asking
        on until the order settles — the queries multiplied against a venue refusing them."""
        if self.spawn is None or client_id in self._asking_later:
            return
        self._asking_later.add(client_id)
        self.spawn(self._asking(client_id))

    async def _asking(self, client_id: str) -> None:
        try:
            await self._away_later(client_id)
        finally:
            self._asking_later.discard(client_id)

    async def _away_later(self, client_id: str) -> None:
        """``_after_away`` for an order whose queries failed every round after the stream returned,
        after each of ``later_pauses`` until one answers (or something else settles the order);
        audited ``reconcile_stuck`` once ``LATER_S`` ran out, and asked on."""
        p = self.port
        for n, pause in later_pauses(LATER_S):
            if n == len(LATER_S):
                p.audit.event("reconcile_stuck", venue=p.venue, client_id=client_id)
            await asyncio.sleep(pause)
            o = p.tracker.get(client_id)
            if o is None or not o.is_open:
                return
            try:
                await self._after_away(client_id)
            except TickwireError as e:
                log.info("%s: order %s still not reconciled: %s", p.venue, client_id, e)
                continue
            return

    async def _missing_fills(self) -> None:
        """Ended orders whose answer stated fills the stream, up as far as the session knew, never
        listed (it had stopped delivering unnoticed): their fills from the trade history, once each
        by trade id. An open order's reconciliation fetches its own."""
        p = self.port
        for cid in p.tracker.unaccounted():
            if self.owned(cid):
                self._left_to_owner.add(cid)  # asked once its owner lets go
                continue
            p.tracker.fills_asked(cid)
            await self.settle_fills(cid)

    def _released(self, client_id: str) -> None:
        """Nothing settles ``client_id`` any more: if a reconciliation after the stream's return left
        it to what did, it is asked about now (what that applied may predate the stream's gap: a
        place answer stating the order new, sent before it filled unheard)."""
        if client_id not in self._left_to_owner or self.owned(client_id):
            return
        self._left_to_owner.discard(client_id)
        if self.spawn is not None:
            self.spawn(self._after_away_once(client_id))

    async def _after_away_once(self, client_id: str) -> None:
        """``reconcile_open`` for one order its owner let go of: its state if it is open, and the
        fills it is stated to have made and no one heard (an answer stating them unlisted, applied
        with the stream back: the call left them to the stream, which had lost them)."""
        p = self.port
        try:
            await self._after_away(client_id)
        except TickwireError as e:
            log.warning("%s: order %s not reconciled after the stream returned: %s", p.venue, client_id, e)
            p.audit.event("reconcile_failed", venue=p.venue, client_id=client_id, error=str(e))
            # Asked again later, as ``_open_ones`` does for an order whose rounds all failed: its
            # owner's answer predates the gap, and nothing else asks until the next reconnect.
            self._ask_later(client_id)
        o = p.tracker.get(client_id)
        if o is not None and not o.is_open and p.tracker.unheard(client_id) and not self.owned(client_id):
            p.tracker.fills_asked(client_id)
            await self.settle_fills(client_id)

    async def _after_away(self, client_id: str) -> None:
        tracker = self.port.tracker
        o = tracker.get(client_id)
        if o is None or not o.is_open:
            return  # settled meanwhile
        if self.owned(client_id):
            self._left_to_owner.add(client_id)  # its own call settles it; asked about after
            return
        if await self.reconcile(client_id) is not None:
            return
        o = tracker.get(client_id)  # as it is now: the stream may have spoken during the queries
        if o is None or not o.is_open or client_id in self.resolving:
            return
        if o.status in ("unknown", "pending"):  # no trace now, as ``resolve`` concludes
            lost = self._lost_at.get(client_id)
            if lost is not None:
                window, _ = await self.lost_order_window_s(lost[1], lost[0])
                if time.monotonic() < lost[0] + window:
                    # The venue may still take it (its window, else the session's wait, as ``_later``
                    # keeps): ``_later`` waits that out and settles it.
                    return
            tracker.mark_absent(client_id, "no trace at the venue after the private stream returned")
            return
        tracker.apply(
            OrderEvent(
                source="reconcile",
                client_id=client_id,
                order_id=o.order_id,
                status="expired",
                reason="no longer known to the venue",
            )
        )
