"""An order's fills fetched from the venue when the ones it is stated to have made were not heard
(an answer listing none, a private stream that stopped delivering unnoticed, an order found by
reconciliation or adopted from an earlier run): its own executions where the venue lists them, else
the trades since it was sent — page after page, each fill once by trade id, asked again later while
some stay unheard. Part of :class:`~tickwire.trading.reconcile.Reconciler`, apart because it reads
trade histories where the rest reads order states."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.account import pages
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar

log = logging.getLogger("tickwire.trading")

# An order left unknown because even its reconciliation's queries failed is asked again after these
# pauses (~30 s in all: a watchdog's default time to call an unknown outcome stuck); so are an order's
# fills while some stay unheard after a catch-up (its query failed, or the venue's history lagged).
LATER_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


def later_pauses(pauses: tuple[float, ...]) -> Iterator[tuple[int, float]]:
    """The pauses before each later try of what the venue has not settled yet (an order, its fills),
    numbered: ``pauses``, then its last again for as long as needed. Never given up: an outage or a
    rate-limit ban (Binance's 418: two minutes at the least) outlasting the schedule left an order
    the venue ended open here for the session's life, its fills never heard."""
    yield from enumerate(pauses)
    n = len(pauses)
    while True:
        yield n, pauses[-1]
        n += 1


class CatchUpPort(Protocol):
    """What fetching fills needs of a trading session."""

    venue: str
    grammar: OrderGrammar
    tracker: OrderTracker
    audit: AuditLog | NullAudit

    async def send(self, call: Call) -> Any: ...

    def sent_ms(self, client_id: str) -> int | None: ...

    async def read_venue_clock(self) -> None:
        """The venue's clock read where nothing else keeps it measured (before ``sent_ms``)."""
        ...


class FillsCatchUp:
    """The fills half of the reconciler (its ``port`` and ``spawn``)."""

    port: CatchUpPort
    # Runs a task for the session (kept, cancelled when it closes). None: nothing runs later.
    spawn: Callable[[Coroutine[Any, Any, None]], object] | None

    def __init__(self) -> None:
        # ``catch_up_fills`` of an order one at a time: its lock, and how many calls hold or await it.
        self._fill_locks: dict[str, asyncio.Lock] = {}
        self._fill_waiting: dict[str, int] = {}
        # Orders whose fills are asked for again later (``settle_fills``): one round of tries each.
        self._fills_due: set[str] = set()
        # Orders whose fills tasks of the session's fetch now (``fetch_fills``), how many each.
        self._fetching: Counter[str] = Counter()

    def _current(self, client_id: str) -> Order:
        o = self.port.tracker.get(client_id)
        if o is None:  # never placed here, or forgotten ``tracker.retain_s`` after it ended
            raise OrderNotFound(f"{self.port.venue}: order {client_id} is not tracked by this session")
        return o

    async def settle_fills(self, client_id: str) -> None:
        """``catch_up_fills`` as a step of something else (an answer applied, an order reconciled, the
        stream's word of fills it did not list): never raises. Should the query fail, or the venue's
        history not hold every fill yet (it may lag its matching engine), the order's fills are asked
        for again after each of ``LATER_S`` while some stay unheard, so ``on_fill`` still hears each."""
        try:
            owed, _ = await self._fills_owed(client_id)
        except asyncio.CancelledError:  # by its caller: the fills it was fetching are asked for later
            self._fills_again(client_id)
            raise
        if owed:
            self._fills_again(client_id)

    def fetch_fills(self, client_id: str) -> None:
        """``settle_fills`` in a task of the session's (the private stream stated fills it did not
        list), counted in ``fetching`` from now — a closing session waits for it."""
        if self.spawn is None:
            return
        # One per word of new fills (a later one asks only if the earlier left some unheard).
        self._fetching[client_id] += 1
        self.spawn(self._fetch(client_id))

    async def _fetch(self, client_id: str) -> None:
        try:
            await self.settle_fills(client_id)
        finally:
            self._fetching[client_id] -= 1
            if self._fetching[client_id] <= 0:
                del self._fetching[client_id]

    def after_cumulative(self, before: Order | None, got: Order | None) -> None:
        """A private-stream word that states fills only as the order's total (Coinbase's ``user``
        channel) was applied, taking the order from ``before`` to ``got`` (None: it changed nothing):
        the executions it leaves unheard are fetched. Not only where it raised the total: a REST
        answer that told the total first (the stream up but late) left the fetch to this word, which
        then changes nothing; without a rise, one fetch at a time is enough."""
        now = got or before
        if now is None or not self.port.tracker.unheard(now.client_id):
            return
        rose = got is not None and got.filled > (before.filled if before is not None else 0)
        # Without a rise, none while one runs or its later asks are due (``_fills_later``: the
        # venue's history lagging): else each repeat of the total (a duplicate, a resubscribe's
        # snapshot, a status change) asked the venue at once.
        cid = now.client_id
        busy = cid in self._fetching or cid in self._fill_waiting or cid in self._fills_due
        if rose or not busy:
            self.fetch_fills(cid)

    def after_listed(self, got: Order | None) -> None:
        """A private-stream word that lists its executions (``stream_fills``) was applied, taking the
        order to ``got`` (None: it changed nothing). Stated filled beyond the fills heard, an earlier
        word was lost on a connection that stayed up (the venue dropped it, a path that loses frames):
        no reconnect follows, so no reconciliation — the executions are fetched, after the first of
        ``LATER_S`` (a venue whose order and execution words come apart, Bybit's ``order`` and
        ``execution`` topics, has told the fill by then, and nothing is asked), else ``on_fill``
        never heard the lost one while the order lived (before, only a reconnect or the close asked)."""
        if got is not None and self.port.tracker.unheard(got.client_id):
            self._fills_again(got.client_id)

    def fetching(self) -> set[str]:
        """Orders whose executions are being fetched now (``fetch_fills``, or a catch-up running)."""
        return set(self._fetching) | set(self._fill_waiting)

    def _fills_again(self, client_id: str) -> None:
        if self.spawn is not None and client_id not in self._fills_due:
            self._fills_due.add(client_id)
            self.spawn(self._fills_later(client_id))

    async def _fills_owed(self, client_id: str) -> tuple[bool, bool]:
        """One catch-up: whether fills stay unheard, and whether the fetch itself failed."""
        p = self.port
        failed = False
        try:
            await self.catch_up_fills(client_id)
        except TickwireError as e:
            failed = True
            log.warning("%s: fills of %s not fetched (asked again later): %s", p.venue, client_id, e)
            p.audit.event("fills_catch_up_failed", venue=p.venue, client_id=client_id, error=str(e))
        return p.tracker.unheard(client_id), failed

    async def _fills_later(self, client_id: str) -> None:
        """Asks again while fills stay unheard: after each of ``LATER_S`` (the venue's history may lag
        its engine), then, audited ``fills_unheard_stuck``, every 15 s for as long as the fetch itself
        fails (an outage or a ban outlasting the schedule left them unheard for good). A venue that
        answers without them past the schedule is not asked on: its listing no longer holds them."""
        failed = True
        try:
            for n, pause in later_pauses(LATER_S):
                if n == len(LATER_S):
                    self.port.audit.event("fills_unheard_stuck", venue=self.port.venue, client_id=client_id)
                if n >= len(LATER_S) and not failed:
                    return
                await asyncio.sleep(pause)
                owed, failed = await self._fills_owed(client_id)
                if not owed:
                    return
        finally:
            self._fills_due.discard(client_id)

    async def catch_up_fills(self, client_id: str) -> None:
        """The order's executions from the venue (each counted once by trade id), when fills it is
        stated to have made were not heard. One catch-up of an order at a time: one asked for while
        another runs waits for it, then asks only if something is still unheard."""
        lock = self._fill_locks.setdefault(client_id, asyncio.Lock())
        self._fill_waiting[client_id] = self._fill_waiting.get(client_id, 0) + 1
        try:
            async with lock:
                await self._catch_up(client_id)
        finally:
            left = self._fill_waiting.pop(client_id) - 1
            if left:
                self._fill_waiting[client_id] = left
            else:
                del self._fill_locks[client_id]

    async def _catch_up(self, client_id: str) -> None:
        """``catch_up_fills``' queries: an adopted order's fills are those after the quantity filled it
        was adopted with (the earlier run's)."""
        p = self.port
        o = self._current(client_id)
        if o.order_id is None or o.filled <= 0 or not p.tracker.unheard(client_id):
            return
        by_order = getattr(p.grammar, "order_fills", None)
        # The order's own executions where the venue lists them (exact, whatever the clocks), else
        # the trades since it was sent; page after page either way (however much else traded since, a
        # first page of the newest fills can be all other orders'), until the fills found make the
        # quantity sought. A listing that runs oldest first (Binance's per-order one) is read until
        # it holds all the order filled: an adopted order's newest fills are at its end.
        if by_order is not None:
            call = by_order(o.symbol, o.order_id)
        else:
            await p.read_venue_clock()
            call = p.grammar.fills(o.symbol, p.sent_ms(client_id))
        base = p.tracker.adopted_base(client_id)
        oldest_first = by_order is not None and getattr(p.grammar, "order_fills_oldest_first", False)
        sought = o.filled - (Decimal(0) if base is None or oldest_first else base)
        found = _Found()
        # A listing that reaches back only so far (OKX's last 3 days) names the one that reaches
        # further (``order_fills_older``): read too when the first ends short of the quantity.
        older = getattr(p.grammar, "order_fills_older", None) if by_order is not None else None
        calls = [call] if older is None else [call, older(o.symbol, o.order_id)]
        try:
            for listed in calls:
                if await self._read_fills(listed, o, found, sought):
                    break
        except TickwireError as e:
            if not found.fills:
                raise
            # A later page failed (a cursor named twice, a time-out): the pages read still count.
            log.warning("%s: fills of %s read in part: %s", p.venue, client_id, e)
        # In the order the venue made them, before anything is picked by time: ties of one
        # millisecond say nothing of their order by their times, the listing's direction does
        # (newest first unless the grammar says otherwise, by order; a time search says so itself).
        if by_order is not None:
            newest_first = not oldest_first
        else:
            newest_first = getattr(p.grammar, "fills_newest_first", False)
        listed = list(found.fills.values())
        fills = sorted(listed[::-1] if newest_first else listed, key=lambda f: f.ts_ns or 0)
        made = {f.trade_id: i for i, f in enumerate(fills)}
        if base is not None:
            now = self._current(client_id).filled  # with the fills the stream told meanwhile
            if oldest_first and found.qty >= now:
                # The order's whole listing, read to its end, holds every fill it made (and any made
                # since the word of ``now``): the earlier run's are its oldest, making ``base``.
                fills = after_oldest(fills, base)
            else:
                # The newest, after the earlier run's: a listing that may not reach back to the
                # order's first fills (a search from the adoption, a page of the newest).
                fills = newest(fills, now - base)
        # Told as they happened (before: ``on_fill`` heard an outage's OKX and Bybit fills, then
        # Kraken's, of one millisecond backwards).
        for f in sorted(fills, key=lambda f: made[f.trade_id]):
            fill = replace(f, client_id=client_id)
            p.tracker.apply(
                OrderEvent(source="reconcile", client_id=client_id, order_id=o.order_id, fill=fill),
            )

    async def _read_fills(self, call: Call, o: Order, found: _Found, sought: Decimal) -> bool:
        """``o``'s executions from ``call``'s listing into ``found``, page after page until they make
        ``sought``; whether they do."""
        p = self.port
        async with contextlib.aclosing(pages(p.send, p.grammar, call)) as listing:
            async for body in listing:
                for f in p.grammar.read_fills(body):
                    if f.order_id == o.order_id:
                        found.add(f)
                if found.qty >= sought:
                    return True
        return False


class _Found:
    """One order's fills read so far, each once by trade id (a listing shifted by new trades repeats
    rows), and the quantity they make."""

    def __init__(self) -> None:
        self.fills: dict[str, Fill] = {}
        self.qty = Decimal(0)

    def add(self, f: Fill) -> None:
        if f.trade_id not in self.fills:
            self.fills[f.trade_id] = f
            self.qty += f.qty


def _oldest_first(fills: list[Fill]) -> list[Fill]:
    """By time; of two at one time, in the order they happened — listings whose times fall run
    newest first (OKX, Bybit, Coinbase), those whose times rise oldest first (Binance)."""
    if len(fills) > 1 and (fills[0].ts_ns or 0) > (fills[-1].ts_ns or 0):
        fills = fills[::-1]
    return sorted(fills, key=lambda f: f.ts_ns or 0)


def after_oldest(fills: list[Fill], qty: Decimal) -> list[Fill]:
    """Every one of one order's ``fills`` (all it made) but the oldest that make ``qty``: the fills
    after those an earlier run made, whatever was made while the answer was on its way (a fill made
    after the word of the order's quantity filled is newer than every one of this run's, and counted
    too — never in place of one of them, as :func:`newest` would on that answer)."""
    out: list[Fill] = []
    skipped = Decimal(0)
    for f in _oldest_first(fills):
        if skipped < qty:  # one that straddles ``qty`` is taken for the earlier run's: never twice
            skipped += f.qty
        else:
            out.append(f)
    return out


def newest(fills: list[Fill], qty: Decimal) -> list[Fill]:
    """The newest of one order's ``fills`` until they make ``qty``: those after the quantity filled
    an earlier run left, where the search lists some of that run's too. By time; of two at one time,
    the later in the venue's order (a listing whose times fall runs newest first, as OKX, Bybit and
    Coinbase list). None is taken once ``qty`` is made: should a fill come between the word of
    ``qty`` and the search, an older one of this run's may be left out rather than one of the
    earlier run's counted again. Every answer read holds the newest fills (time searches list
    newest first, per-order answers are the most recent), so a page cut short does not reach back."""
    out: list[Fill] = []
    got = Decimal(0)
    for f in reversed(_oldest_first(fills)):
        if got >= qty:
            break
        out.append(f)
        got += f.qty
    return out
