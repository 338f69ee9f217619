"""Amending a working order in place, on the venue's own amend: the new terms checked before anything
is sent, the tracker told an amend is in flight (so the terms the venue states are taken, and a late
event from before the amend cannot undo it), a lost answer reconciled — never resent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import (
    DecodeError,
    InvalidOrder,
    OrderNotFound,
    RequestTimeoutError,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.limits import Lane
from tickwire.trading.account import ask_if_ended
from tickwire.trading.codes import not_supported
from tickwire.trading.intake import amended_terms
from tickwire.trading.orders import Order
from tickwire.trading.reconcile import RECONCILE_ATTEMPTS, RECONCILE_PAUSE_S, WINDOW_POLL_S
from tickwire.trading.risk import RiskGate
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.rules_recheck import RulesRecheck
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar
from tickwire.trading.wire import was_unsent

log = logging.getLogger("tickwire.trading")


class OneAtATime:
    """Amends of one order wait for each other: two in flight at once could have their answers
    cross (the older terms applied last), and the second must be built on the terms the first
    left. A lock per order with amends waiting, dropped with the last of them."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, client_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(client_id) or (asyncio.Lock(), 0)
        self._locks[client_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[client_id]
            if users == 1:
                del self._locks[client_id]
            else:
                self._locks[client_id] = (lock, users - 1)


class Rechecks(Protocol):
    def recheck(
        self,
        client_id: str,
        amend_terms: tuple[Decimal, Decimal | None] | None = None,
        *,
        lost: bool = False,
    ) -> None: ...

    async def lost_order_window_s(self, offset_ms: float, since: float) -> tuple[float, bool]: ...


class AmendPort(Protocol):
    venue: str
    grammar: OrderGrammar
    tracker: OrderTracker
    rules: dict[str, InstrumentRules]
    audit: AuditLog | NullAudit
    amends: OneAtATime
    risk: RiskGate
    rules_recheck: RulesRecheck

    @property
    def reconciler(self) -> Rechecks: ...

    async def send(self, call: Call, lane: Lane = "query") -> Any: ...

    async def reconcile(self, client_id: str) -> Order | None: ...

    def signing_offset_ms(self) -> float: ...

    async def answered(self, symbol: str, body: Any) -> Order | None: ...

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order: ...


async def amend_order(port: AmendPort, symbol: str, current: Order, qty: Any, price: Any) -> Order:
    """``current`` (tracked) amended to ``qty``/``price`` (None: unchanged); see
    :meth:`TradingSession.amend_order`. After any amend of the same order still under way, on the
    terms it left."""
    if symbol != current.symbol:
        # The order is found by its id alone: a symbol naming another market would amend an order the
        # caller did not mean (and read its answer as that market's).
        raise InvalidOrder(
            f"{port.venue}: order {current.client_id} is on {current.symbol!r}, not {symbol!r}"
        )
    async with port.amends.hold(current.client_id):
        return await _amend(port, symbol, port.tracker.get(current.client_id) or current, qty, price)


async def _amend(port: AmendPort, symbol: str, current: Order, qty: Any, price: Any) -> Order:
    amend = getattr(port.grammar, "amend", None)
    if amend is None:
        raise not_supported(port.venue, "amend_order")
    rules = port.rules[current.symbol]
    if not rules.trading:
        # Refused here below (MarketClosed): the market may have reopened since the list was read —
        # read it again, as an order's refusal does, else a strategy that only amends is refused for
        # good once the market reopens.
        port.rules_recheck.soon()
    try:
        new_qty, new_price = amended_terms(current, rules, qty, price)
    except InvalidOrder as e:
        port.rules_recheck.after(e)  # off the grid read: the venue may have changed it
        raise
    # Built first: a grammar refuses an amend its venue cannot make (Binance spot: only a lower
    # quantity) before anything is sent or audited as requested.
    call = amend(current, new_qty, new_price)
    # The new terms against the risk limits, right before the tracker counts them (no await between).
    port.risk.check_amend(current, new_qty or current.qty, new_price or current.price)
    cid = current.client_id
    port.audit.event(
        "amend_request",
        venue=port.venue,
        symbol=symbol,
        client_id=cid,
        order_id=current.order_id,
        qty=None if new_qty is None else str(new_qty),
        price=None if new_price is None else str(new_price),
    )
    tracker = port.tracker
    wanted = (new_qty or current.qty, new_price or current.price)
    before = (current.qty, current.price)
    # An earlier amend's window still open (acknowledged, its terms not confirmed): this one replaces
    # it, and puts it back should this one change nothing at the venue (``no_effect``).
    prior = tracker.amend_window(cid)
    tracker.begin_amend(cid, wanted)
    # Closed only where the venue's word settles it (or nothing was written); any other way out — a
    # lost answer, a failed query, the caller cancelling — leaves it open until the venue states the
    # terms asked (the tracker closes it then) or the next amend replaces it.
    settled = False
    no_effect = False  # refused unsent or by the venue: the order there is as the earlier amend left it
    try:
        try:
            body = await port.send(call, lane="order")
        except asyncio.CancelledError as e:  # the caller's; while waiting for the budget, nothing went out
            settled = no_effect = was_unsent(e)
            raise
        except (UnknownOutcome, RequestTimeoutError, TransportError) as e:
            if was_unsent(e):
                settled = no_effect = True
                raise  # nothing went out: the order is as it was
            lost_at = time.monotonic()  # every write of the request signed before this
            offset = port.signing_offset_ms()  # ... on this offset to the venue's clock
            for attempt in range(RECONCILE_ATTEMPTS):
                found = await _look(port, cid, wanted, e)
                if found is None or not found.is_open or (found.qty, found.price) == wanted:
                    break
                if attempt + 1 < RECONCILE_ATTEMPTS:
                    await asyncio.sleep(RECONCILE_PAUSE_S)  # the venue may still be working on it
            else:
                if await _window_open(port, cid, wanted, lost_at, offset):
                    found = await _look(port, cid, wanted, e)  # the venue can no longer apply it: a last look
            if found is not None and (found.qty, found.price) == wanted:
                settled = True
                return found
            if found is None or not found.is_open:
                settled = True  # nothing left to amend
            # The venue states the old terms: not taken, as far as it says now. A venue that applies
            # it later (processed late) states the new terms, and the tracker, the amend open, takes them.
            raise TransportError(f"{port.venue}: amend of {cid} did not take effect: {e}") from e
        except TickwireError as e:
            settled = no_effect = True  # the venue refused it: the order is as it was
            port.rules_recheck.after(e)  # closed, or off the grid: the instrument list read again
            if isinstance(e, OrderNotFound):
                await ask_if_ended(port, symbol, tracker.get(cid) or current)
            else:
                settled = await _as_it_was(port, cid, before)
            raise
        try:
            await port.answered(symbol, body)
        except (UnknownOutcome, RequestTimeoutError, TransportError):
            raise
        except DecodeError as e:
            # Answered in a form not the venue's: the amend went out and may have been applied, so
            # not a refusal — the order is asked about, as after a lost answer; the amend is closed
            # only once the venue states the terms asked (or the order ended), else left open so the
            # terms it states next are taken.
            found = await _look(port, cid, wanted, e)
            if found is not None and (found.qty, found.price) == wanted:
                settled = True
                return found
            if found is None or not found.is_open:
                settled = True
            raise
        except TickwireError as e:
            settled = no_effect = True  # the answer is a refusal
            port.rules_recheck.after(e)
            if isinstance(e, OrderNotFound):
                await ask_if_ended(port, symbol, tracker.get(cid) or current)
            else:
                settled = await _as_it_was(port, cid, before)
            raise
        now = tracker.get(cid)
        if now is None or not now.is_open or (now.qty, now.price) == wanted:
            settled = True
            return now or current
        # Taken by the venue but its terms not confirmed yet (an acknowledgement whose status query
        # failed, or a state that predates the amend): left open, so the terms the stream or a
        # reconciliation states next are taken, not ignored as stale.
        log.warning("%s: amend of %s acknowledged, its terms not confirmed yet", port.venue, cid)
    except asyncio.CancelledError:
        if not settled:
            # The caller gave up with the amend maybe out and no private stream may tell: the order
            # is asked about in the background once the venue can no longer act on the request.
            port.reconciler.recheck(cid, wanted)
        raise
    finally:
        if settled:
            tracker.end_amend(cid)
            now = tracker.get(cid)
            if (
                no_effect
                and prior[0]
                and now is not None
                and now.is_open
                and (now.qty, now.price) != prior[1]
            ):
                # The earlier amend is still the venue's last change unconfirmed: its window open
                # again, so the terms the venue states next are taken (closed, they were ignored as a
                # late word for good — the tracker on the old terms, the venue on the new).
                tracker.restore_amend(cid, prior[1])
    got = tracker.get(cid)
    assert got is not None
    return got


async def _as_it_was(port: AmendPort, cid: str, before: tuple[Decimal, Decimal | None]) -> bool:
    """After a refused amend, whether it may be closed: the order is as it was before it — unless a
    word came meanwhile stating other terms (a late one, from before an earlier amend, taken while
    this one was open), then the venue is asked first, its terms taken with the amend still open.
    False if even that could not be asked: left open, so the terms the venue states next are taken
    (closed on the late word's terms, every later statement of the venue's was ignored as stale)."""
    o = port.tracker.get(cid)
    if o is None or not o.is_open or (o.qty, o.price) == before:
        return True
    try:
        await port.reconcile(cid)
    except TickwireError as e:
        log.warning("%s: order %s's terms after a refused amend not confirmed: %s", port.venue, cid, e)
        return False
    return True


async def _look(
    port: AmendPort, cid: str, wanted: tuple[Decimal, Decimal | None], lost: Exception
) -> Order | None:
    try:
        return await port.reconcile(cid)
    except TickwireError as failed:
        # Not even the order's state came (transport="ws", the socket down, a 5xx or a 429 on the
        # query): the amend may have taken effect, so not "did not take effect" — unknown, as for a
        # lost order. It may also still be queued at the venue: the order is asked about again in
        # the background once the venue can no longer apply it (its request window, else the
        # session's ``lost_order_wait_s``), as for a lost cancel — else, with no private stream to
        # tell, the terms the venue applied were never learnt (the amend left open for good).
        port.reconciler.recheck(cid, wanted, lost=True)
        raise UnknownOutcome(
            f"{port.venue}: amend of {cid} outcome unknown ({lost}); reconciliation failed: {failed}"
        ) from failed


async def _window_open(
    port: AmendPort, cid: str, wanted: tuple[Decimal, Decimal | None], lost_at: float, offset_ms: float
) -> bool:
    """Whether the venue could still apply the lost amend when its state showed the old terms
    (Binance spot: ``recvWindow`` after its timestamp, checked again before the matching engine;
    where the venue bounds nothing, the session's ``lost_order_wait_s``, as for a lost place:
    ``Reconciler.lost_order_window_s``): then this waits until it cannot — ending early once the
    tracker has the terms asked or the order ended — and says True, for a last look. "Did not take
    effect" said while the request may still be queued is acted on: an amend sent again once the
    first applied is refused as changing nothing, and that refusal closes the amend with the old
    terms tracked. The wait decides nothing by itself: an amend the venue did not apply stays open
    after it, so terms it states later are taken."""
    window, bounded = await port.reconciler.lost_order_window_s(offset_ms, lost_at)
    if time.monotonic() >= lost_at + window:
        return False
    port.audit.event(
        "reconcile_wait", venue=port.venue, client_id=cid, window_s=window, amend=True, venue_bound=bounded
    )
    while (left := lost_at + window - time.monotonic()) > 0:
        o = port.tracker.get(cid)
        if o is None or not o.is_open or (o.qty, o.price) == wanted:
            break  # the private stream told
        await asyncio.sleep(min(left, WINDOW_POLL_S))
    return True
