"""Reconciliation: what the venue did with an order whose answer never came, and with every open order
after the private stream was away. It asks, in this order, for the order's status by client id, for the
open orders, and once it is found for its fills since it was sent — and never resends anything. What it learns
goes through the tracker's one idempotent ``apply`` like any other event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from tickwire.errors import OrderNotFound, TickwireError, TransportError, UnknownOutcome, VenueError
from tickwire.trading.account import pages
from tickwire.trading.after_gap import AfterGap
from tickwire.trading.answers import read_events
from tickwire.trading.fills_catch_up import LATER_S, CatchUpPort, later_pauses
from tickwire.trading.orders import Order, OrderEvent

log = logging.getLogger("tickwire.trading")

# Venue answers that leave an order's fate open are retried as queries this many times, this far
# apart: Binance's matching engine may still be working on a request it timed out (-1007).
RECONCILE_ATTEMPTS = 4
RECONCILE_PAUSE_S = 0.2
# While a lost order's request may still reach the venue's engine: how often the tracker is looked at
# (a private stream's word ends the wait).
WINDOW_POLL_S = 0.05


class ReconcilePort(CatchUpPort, Protocol):
    """What reconciliation needs of a trading session."""

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    def signing_offset_ms(self) -> float: ...

    async def lost_request_window_s(self, offset_ms: float, since: float) -> float | None: ...

    def request_window_s(self) -> float | None: ...

    # How long a lost order is waited for where the venue bounds no request's life (seconds).
    lost_order_wait_s: float
    timeout: float  # the request time-out


async def until_settled(busy: Callable[[], set[str]], client_ids: set[str] | None, wait_s: float) -> None:
    """Returns once none of ``client_ids`` (None: no order at all) is among ``busy()`` — the orders being
    settled (``Reconciler.busy``) — or ``wait_s`` seconds passed."""
    deadline = time.monotonic() + wait_s
    while (busy() if client_ids is None else client_ids & busy()) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


class Reconciler(AfterGap):
    port: ReconcilePort

    def __init__(self, port: ReconcilePort) -> None:
        super().__init__()
        self.port = port
        self.resolving: set[str] = set()  # orders their own call is reconciling now
        # Orders whose call is still running (it settles them: its answer, or ``resolve``).
        self.calls: set[str] = set()
        # Orders whose call was cancelled by its caller before the venue's answer was applied: each is
        # settled by a task of its own (``orphaned``), as a lost answer is.
        self.orphans: set[str] = set()
        # Orders whose cancel its caller gave up on once it may have gone out (``recheck``).
        self._rechecks: set[str] = set()
        # Orders a task asks about later (``AfterGap._ask_later``): after the venue acknowledged a
        # request and the state query failed (``ask_later``), or the stream's return could not ask.
        self._asking_later: set[str] = set()
        # When the answer of each order its call left unknown was lost (monotonic s) and the venue
        # clock's offset its request was stamped with, kept while ``_later`` settles it: no later look
        # calls it absent before the venue's request window (else the session's ``lost_order_wait_s``)
        # has passed since — the venue could still take it, and a close would not name it — as
        # ``resolve`` waits too (``lost_order_window_s``).
        self._lost_at: dict[str, tuple[float, float]] = {}
        # The same stamp of each order ``resolve`` is settling now: a close waits from it
        # (``losses``), not a fixed count of time-outs.
        self._resolving_lost: dict[str, tuple[float, float]] = {}
        # Orders of one lost batch answer waiting their turn to be resolved (``batch._resolve``) by
        # the loss they share: their verdicts come one round of queries after another (``queued``).
        self._queued: dict[str, tuple[float, float]] = {}
        # Orders whose "not placed" does not wait the session's ``lost_order_wait_s`` where the venue
        # bounds nothing (the kill's reduce-only closing orders: one the venue takes late can only
        # shrink what is left, and the position should not wait for a guess); the venue's own window
        # is still waited out.
        self.unwaited: set[str] = set()
        # Called when an order's verdict starts waiting the session's guess (``lost_order_wait_s``,
        # the venue bounding nothing): a quote rule's order lets the rule go on then, as it did after
        # the queries before the wait existed — it never resends, and its next order is a new one.
        self.on_guess_wait: dict[str, Callable[[], None]] = {}
        # Calls changing an order running now (a cancel, an amend, a cancel-all, the kill), by the
        # order's client id or their own name (``changing``): a closing session waits for them.
        self._changes: Counter[str] = Counter()
        # Runs a task for the session (kept, cancelled when it closes): the later tries of an order
        # left unknown. None: nothing runs later (it waits for the private stream's return).
        self.spawn: Callable[[Coroutine[Any, Any, None]], object] | None = None
        # Open orders a reconciliation after the stream's return left to whatever was settling them
        # (their call, its reconciliation, an orphan's task): asked about once that lets go — what
        # it applies (an answer the venue gave before the gap) may predate what the gap hid.
        self._left_to_owner: set[str] = set()

    @contextlib.contextmanager
    def call(self, client_id: str) -> Iterator[None]:
        """While the call that placed ``client_id`` runs (see ``calls``). Should its caller cancel it
        (a time-out of its own) with the order still pending or unknown, the order is settled in the
        background (``orphaned``): its request may be out, so it is never taken as not sent."""
        self.calls.add(client_id)
        try:
            yield
        except asyncio.CancelledError:
            self.orphaned(client_id)
            raise
        finally:
            self.calls.discard(client_id)
            self._released(client_id)

    def settled_by(self, client_id: str, task: asyncio.Task[Any]) -> None:
        """``task`` settles ``client_id``, an order already written and tracked (an order template's:
        its bytes go out before its task's first step). Counted as its call from now; should the
        task be cancelled before its coroutine ran (``call`` never entered, nothing else settles it),
        the order is settled as a cancelled call's (``orphaned``)."""
        self.calls.add(client_id)

        def done(t: asyncio.Task[Any]) -> None:
            if t.cancelled():  # after a run that entered ``call``: already orphaned there (one task)
                self.orphaned(client_id)
            self.calls.discard(client_id)
            self._released(client_id)

        task.add_done_callback(done)

    def owned(self, client_id: str) -> bool:
        """Whether something is settling ``client_id`` now: its own call, its reconciliation, or the
        task that took over from a cancelled call. Others leave it be; the kill switch waits for it."""
        return client_id in self.calls or client_id in self.resolving or client_id in self.orphans

    def busy(self) -> set[str]:
        """The client ids ``owned`` says are being settled."""
        return self.calls | self.resolving | self.orphans

    @contextlib.contextmanager
    def changing(self, key: str) -> Iterator[None]:
        """While a call changing ``key`` runs: an order's client id (a cancel, an amend), or a name of
        its own (a cancel-all, the kill). See ``settling``."""
        self._changes[key] += 1
        try:
            yield
        finally:
            self._changes[key] -= 1
            if self._changes[key] <= 0:
                del self._changes[key]

    def settling(self) -> set[str]:
        """What a closing session waits for: ``busy``, what a running call is changing (``changing``),
        the orders whose cancel, given up by its caller, is being asked about (``recheck``), and those
        whose executions are being fetched (``fetching``)."""
        return self.busy() | set(self._changes) | self._rechecks | self.fetching()

    def orphaned(self, client_id: str) -> None:
        """``client_id``'s call was cancelled before the venue's answer was applied. A pending or unknown
        order is reconciled by a task of the session's as ``resolve`` does for a lost answer — found,
        it is tracked as the venue has it; no trace once the venue can no longer take it (or, where it
        bounds nothing, once the session's ``lost_order_wait_s`` has passed), not placed —
        so it neither stays pending for the session's life (counted open by the risk limits, skipped
        by the kill switch) nor is sent again. A closing session starts nothing (``spawn`` None)."""
        o = self.port.tracker.get(client_id)
        if o is None or o.status not in ("pending", "unknown") or self.spawn is None:
            return
        if client_id in self.orphans:
            return
        self.orphans.add(client_id)
        self.spawn(self._settle_orphan(o))

    def recheck(
        self,
        client_id: str,
        amend_terms: tuple[Decimal, Decimal | None] | None = None,
        *,
        lost: bool = False,
    ) -> None:
        """A cancel of ``client_id`` — or an amend to ``amend_terms`` — was given up by its caller once
        it may have gone out: the order is asked about in the background, once the venue can no longer
        act on that request where it bounds that (``lost_request_window_s``; else at once: the
        session's ``lost_order_wait_s``, no proof, is for a lost place's verdict), so an order the
        venue ended or amended is not left as it was here — counted by the risk limits — while no
        private stream tells. Where the window bounds it, what the venue then states is final: an
        amend it did not apply is closed (the order's terms counted as they are). ``lost``: a cancel
        whose answer was lost while the venue still stated the order open (or an amend whose lost
        answer's state query failed, ``amend._look``) — its request may be queued
        at the venue, so where the venue bounds nothing the session's ``lost_order_wait_s`` is waited
        too before the look (``lost_order_window_s``), as for a lost place. A closing session starts
        nothing."""
        o = self.port.tracker.get(client_id)
        if o is None or not o.is_open or self.spawn is None or client_id in self._rechecks:
            return
        self._rechecks.add(client_id)
        offset = self.port.signing_offset_ms()  # what the request was stamped on
        self.spawn(self._recheck(client_id, time.monotonic(), amend_terms, offset, lost))

    async def _recheck(
        self,
        client_id: str,
        given_up: float,
        amend_terms: tuple[Decimal, Decimal | None] | None,
        offset_ms: float = 0.0,
        lost: bool = False,
    ) -> None:
        tracker = self.port.tracker
        try:
            window = await self.port.lost_request_window_s(offset_ms, given_up)
            wait = window if window is not None or not lost else self.port.lost_order_wait_s
            left = 0.0 if wait is None else given_up + wait - time.monotonic()
            if left > 0:
                await asyncio.sleep(left)
            o = tracker.get(client_id)
            if o is not None and o.is_open and not self.owned(client_id):
                await self.reconcile(client_id)
                if amend_terms is not None and window is not None:
                    tracker.end_amend(client_id, amend_terms)  # unless another amend replaced it
        except TickwireError as e:
            log.info("%s: order %s, its cancel or amend given up: %s", self.port.venue, client_id, e)
        finally:
            self._rechecks.discard(client_id)

    def ask_later(self, client_id: str) -> None:
        """The venue acknowledged a request about ``client_id`` (a place, cancel or amend answered
        with an acknowledgement, no state) and the query of the order's state that follows failed,
        with no private stream up to tell what the venue did: the order is asked about in the
        background, on the schedule of an order left unreconciled after the stream's return
        (``_away_later``), until the venue answers or something else settles it. Else an order the
        venue canceled or ended (an IOC's remainder) stayed open here, counted by the risk limits."""
        o = self.port.tracker.get(client_id)
        if o is not None and o.is_open:
            self._ask_later(client_id)  # unless a task asks about it already

    async def _settle_orphan(self, order: Order) -> None:
        try:
            await self.resolve(order, "its call was cancelled before the venue's answer")
        except TickwireError as e:  # not placed (recorded so), or unknown: asked again later
            log.info("%s: order %s, its call cancelled: %s", self.port.venue, order.client_id, e)
        finally:
            self.orphans.discard(order.client_id)
            self._released(order.client_id)

    def losses(self) -> dict[str, tuple[float, float]]:
        """Each order whose verdict waits from a lost answer: its loss stamp (``lost_now``'s pair).
        Orders sharing one stamp (a batch's, ``queued``) are resolved one after another."""
        return {**self._queued, **self._lost_at, **self._resolving_lost}

    @contextlib.contextmanager
    def queued(self, client_ids: list[str], lost: tuple[float, float]) -> Iterator[None]:
        """While the orders of ``client_ids``, whose one answer was lost at ``lost``, are resolved one
        after another: each not yet through ``resolve`` is stamped with that loss for ``losses``."""
        for cid in client_ids:
            self._queued[cid] = lost
        try:
            yield
        finally:
            for cid in client_ids:
                self._queued.pop(cid, None)

    def lost_now(self) -> tuple[float, float]:
        """A loss stamped now, as ``resolve`` takes it: the monotonic time (every write of the request,
        resends too, signed before it) and the venue-clock offset the signer stamps requests with."""
        return time.monotonic(), self.port.signing_offset_ms()

    async def resolve(self, order: Order, why: str, lost: tuple[float, float] | None = None) -> Order:
        """The answer to ``order`` was lost: find out what the venue did with it. ``TransportError``
        when it proved absent — no trace, also at a last look once the venue's request window, else
        the session's ``lost_order_wait_s``, has passed since the loss (``_window_open``) — the intent
        may be sent again; ``UnknownOutcome`` when even the queries failed (the order stays unknown).
        ``lost``: when the answer was lost (monotonic s) and the venue-clock offset its request was
        stamped with, where one loss holds several orders (a batch's): each waits from it, not from
        its own turn. An order resolved again (its caller gave up during the wait, the kill's look
        at an order still unknown) waits from its first loss, not anew."""
        p, cid = self.port, order.client_id
        p.tracker.mark_unknown(cid, why)
        p.audit.event("unknown_outcome", venue=p.venue, client_id=cid, reason=why)
        log.warning("%s: order %s outcome unknown (%s); reconciling", p.venue, cid, why)
        self.resolving.add(cid)
        # Every write of the request (resends too) signed before this, stamped with this offset.
        lost_at, offset = lost or self._lost_at.get(cid) or self.lost_now()
        self._resolving_lost[cid] = (lost_at, offset)
        try:
            found = await self.reconcile(cid)
            if found is None and await self._window_open(cid, lost_at, offset):
                found = await self.reconcile(cid)  # the venue can no longer (or is not waited to) take it
        except TickwireError as e:  # a time-out, the connection, the budget: the venue not asked
            if self.spawn is not None:
                self._lost_at[cid] = (lost_at, offset)
                self.spawn(self._later(cid))
            raise UnknownOutcome(
                f"{p.venue}: order {cid} outcome unknown ({why}); reconciliation failed: {e}"
            ) from e
        except asyncio.CancelledError:  # its caller's: the orphan's resolve waits from this loss
            self._lost_at.setdefault(cid, (lost_at, offset))
            raise
        finally:
            self.resolving.discard(cid)
            self._resolving_lost.pop(cid, None)
            self._queued.pop(cid, None)
            self._released(cid)
            # Only this call's wait lets its caller go: a later look (``_later``) must not.
            self.on_guess_wait.pop(cid, None)
        self._lost_at.pop(cid, None)  # a verdict: no later look waits from it
        self.unwaited.discard(cid)
        if found is None:
            now = self._current(cid)
            if now.status != "unknown":
                return now  # the private stream heard of it while the queries found nothing yet
            # No trace at the venue: rejected here, reopened if the venue speaks of it later.
            p.tracker.mark_absent(cid, f"never reached the venue ({why})")
            raise TransportError(f"{p.venue}: order {cid} was not placed: {why}")
        return found

    async def _window_open(self, client_id: str, lost_at: float, offset_ms: float) -> bool:
        """Whether the venue could still act on the lost request when reconciliation found no trace
        of it (Binance spot: ``recvWindow`` after its timestamp, checked again before the matching
        engine; where the venue bounds nothing, the session's ``lost_order_wait_s``:
        ``lost_order_window_s``): then this waits until it cannot — ending early once the order is
        heard of — and says True, for a last look. A request still queued at the venue when "not
        placed" is said, then placed, would be a second order once the caller sends the intent again."""
        window, bounded = await self.lost_order_window_s(offset_ms, lost_at)
        if time.monotonic() >= lost_at + window or (not bounded and client_id in self.unwaited):
            return False
        p = self.port
        p.audit.event(
            "reconcile_wait", venue=p.venue, client_id=client_id, window_s=window, venue_bound=bounded
        )
        let_go = None if bounded else self.on_guess_wait.pop(client_id, None)
        if let_go is not None:
            let_go()
        while (left := lost_at + window - time.monotonic()) > 0:
            if self._current(client_id).status != "unknown":
                break  # the private stream heard of it
            await asyncio.sleep(min(left, WINDOW_POLL_S))
        return self._current(client_id).status == "unknown"

    async def reconcile(self, client_id: str) -> Order | None:
        """What the venue knows of ``client_id``: its status by client id, else its place among the open
        orders (then, found, its fills since it was sent). None when the venue has no trace of it."""
        p = self.port
        order = self._current(client_id)
        for attempt in range(RECONCILE_ATTEMPTS):
            try:
                events = await self._status(order, client_id)
            except TickwireError as e:
                if not p.grammar.not_found(e):
                    raise
            else:
                for ev in events:
                    p.tracker.apply(replace(ev, source="reconcile"))
                # Found is found: fills that cannot be read now are asked for again later.
                await self.settle_fills(client_id)
                p.audit.event("reconciled", venue=p.venue, client_id=client_id, found=True)
                return self._current(client_id)
            try:
                listed = await p.open_orders(order.symbol)
            except VenueError:
                # A listing cut short (HTX past one page of 500): the pages read reached the tracker
                # (newest first, where an order just sent is).
                now = self._current(client_id)
                listed = [now] if now.status not in ("unknown", "pending") else []
            for o in listed:
                if o.client_id == client_id:
                    # Found open, perhaps partly filled: its fills fetched as after a status answer
                    # (else unheard while it rests, the status query lagging the engine).
                    await self.settle_fills(client_id)
                    p.audit.event("reconciled", venue=p.venue, client_id=client_id, found=True)
                    return self._current(client_id)
            if attempt + 1 < RECONCILE_ATTEMPTS:
                await asyncio.sleep(RECONCILE_PAUSE_S)
        p.audit.event("reconciled", venue=p.venue, client_id=client_id, found=False)
        return None

    async def _status(self, order: Order, client_id: str) -> list[OrderEvent]:
        """The venue's events for ``client_id`` from its status query. Where that query is a listing
        of the product's orders since the order was sent (Coinbase, an order id never seen), a page
        without it leads to the next: newer orders on the product must not hide it."""
        p = self.port
        # An adopted order was created before this session: no bound from its adoption.
        since = p.sent_ms(client_id) if p.tracker.adopted_at(client_id) is None else None
        call = p.grammar.status(order.symbol, client_id, order.order_id, since_ms=since)
        missing: TickwireError | None = None
        async with contextlib.aclosing(pages(p.send, p.grammar, call)) as listing:
            async for body in listing:
                try:
                    # A venue may answer an unknown order with an empty list (Bybit): read_order raises.
                    events = read_events(p.grammar.read_order, body)
                    if events and all(self._another_tracked(ev, client_id) for ev in events):
                        # A listing read for every client id sought at once (Coinbase): it held only
                        # others of them — news of theirs, no trace of this one (else an order the
                        # venue never got was "found" on another's entry and stayed unknown).
                        for ev in events:
                            p.tracker.apply(replace(ev, source="reconcile"))
                        raise OrderNotFound(f"{p.venue}: order {client_id} not among the orders listed")
                    return events
                except TickwireError as e:
                    # Only a listing with more pages reads on (not every answer the grammar pages is one).
                    if getattr(body, "more", None) is None or not p.grammar.not_found(e):
                        raise
                    missing = e
        assert missing is not None  # a listing that ended without the order
        raise missing

    def _another_tracked(self, ev: OrderEvent, client_id: str) -> bool:
        return (
            bool(ev.client_id)
            and ev.client_id != client_id
            and self.port.tracker.get(ev.client_id) is not None
        )

    async def _later(self, client_id: str) -> None:
        """Asks again about an order its call left unknown, until the venue's word settles it: found
        (as the venue has it), or no trace once the venue can no longer take the request (or the
        session's ``lost_order_wait_s`` passed, where the venue bounds nothing), as
        ``resolve`` concludes (``rejected``, provisionally; until then it stays unknown, so a close
        names it); anything else that tells of it first (the private stream, a reconnect's
        reconciliation) ends the tries."""
        tracker, p = self.port.tracker, self.port
        try:
            for n, pause in later_pauses(LATER_S):
                if n == len(LATER_S):  # asked on: the order stays unknown until the venue answers
                    p.audit.event("unknown_outcome_stuck", venue=p.venue, client_id=client_id)
                await asyncio.sleep(pause)
                o = tracker.get(client_id)
                if o is None or o.status != "unknown" or client_id in self.resolving:
                    return
                try:
                    found = await self.reconcile(client_id)
                    lost = self._lost_at.get(client_id)
                    if found is None and lost is not None and await self._window_open(client_id, *lost):
                        found = await self.reconcile(client_id)  # as ``resolve``: a last look
                except TickwireError as e:
                    log.info("%s: order %s still unknown: %s", self.port.venue, client_id, e)
                    continue
                now = tracker.get(client_id)
                if found is None and now is not None and now.status == "unknown":
                    why = "no trace at the venue (asked again after the call gave up)"
                    tracker.mark_absent(client_id, why)
                return
        finally:
            self._lost_at.pop(client_id, None)
