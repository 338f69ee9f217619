"""Placing several prepared orders at once (``TradingSession.place_orders``): in the venue's batch
request where its grammar has one (``new_orders``: OKX ``batch-orders``, USDⓈ-M ``batchOrders``,
Bybit ``create-batch``), else each on ``place_order``'s own path, all at once. Each order fares as
``place_order`` would have it: counted by the risk limits and tracked before anything is sent, the
venue's answer for it applied (an acknowledgement followed by its state), a refused entry recorded
rejected with its own typed error, a lost answer reconciled order by order and never resent, a call
its caller cancelled settled in the background.

Apart from :mod:`tickwire.trading.place` because a batch's answer is a list whose entries succeed or
fail each on its own: the caller gets one result per order, an :class:`~tickwire.trading.orders.Order`
or the error that refused it, in the order given."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, Protocol

from tickwire.errors import (
    DecodeError,
    InvalidOrder,
    RateLimitError,
    RequestTimeoutError,
    RiskLimitExceeded,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.trading.client_ids import ClientIds
from tickwire.trading.intake import checked_again
from tickwire.trading.orders import Order
from tickwire.trading.place import PlacePort, place_order, refused, register, withdraw
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.venue import Call
from tickwire.trading.wire import by_entry, was_unsent

Result = Order | TickwireError


class BatchPort(PlacePort, Protocol):
    """What placing a batch needs of a trading session besides what ``place_order`` needs."""

    rules: dict[str, InstrumentRules]
    client_ids: ClientIds

    def rate_refused(self, call: Call, e: RateLimitError) -> None: ...


async def place_open(port: BatchPort, orders: Sequence[Order]) -> list[Result]:
    """``place_orders`` of orders made by ``prepare``, checked again first (``checked_again``: bad
    input sends nothing). An order on a market the venue's instrument list says takes none (read
    since ``prepare``) is its own result, ``MarketClosed``, nothing of it sent — the others go, as
    when the venue refuses one entry of a batch — and the list is read again, as for ``place_order``."""
    for o in orders:
        if not isinstance(o, Order):  # else an AttributeError half-way through the checks
            raise InvalidOrder(
                f"{port.venue}: place_orders takes orders made by prepare, not {type(o).__name__}"
            )
    closed: dict[int, Result] = {}
    for i, o in enumerate(orders):
        r = port.rules.get(o.symbol)
        if o.venue == port.venue and r is not None and not r.trading:
            closed[i] = r.closed()
    if closed:
        port.rules_recheck.soon()
    going = [o for i, o in enumerate(orders) if i not in closed]
    checked_again(port.venue, port.rules, port.client_ids, going)
    got = iter(await place_orders(port, going) if going else [])
    return [closed[i] if i in closed else next(got) for i in range(len(orders))]


async def place_orders(port: BatchPort, orders: Sequence[Order]) -> list[Result]:
    """``orders`` (prepared, none tracked yet) placed; one result per order, in their order.

    Raised with nothing sent: :class:`InvalidOrder` for an order twice or one already placed, and
    :class:`RiskLimitExceeded` when the orders together would cross a limit (each is counted from its
    check on, so the later ones see the earlier)."""
    cids = [o.client_id for o in orders]
    if len(set(cids)) != len(cids):
        raise InvalidOrder(f"{port.venue}: place_orders: one client id twice")
    for o in orders:
        if port.tracker.used(o.client_id):
            raise InvalidOrder(f"{port.venue}: order {o.client_id} is already placed; prepare a new one")
    batched = getattr(port.grammar, "new_orders", None)
    if batched is None:
        # No batch request: each goes its own way, all at once (its tracking, its answer), counted by
        # the risk limits together from here (none sent when they do not fit), so no other call can
        # take the room between them.
        _reserve_all(port, orders)
        try:
            got = await asyncio.gather(
                *(place_order(port, o, reserved=True) for o in orders), return_exceptions=True
            )
        finally:
            # An order's task cancelled before its first step (the call given up right away) never
            # ran to release its reservation: released here (a no-op for one tracked or released).
            for o in orders:
                port.risk.release(o.client_id)
        return [_result(r) for r in got]
    if port.dead_man is not None:
        for symbol in dict.fromkeys(o.symbol for o in orders):
            await port.dead_man.cover(symbol)
    # Made before anything is counted or tracked: an order the grammar refuses raises with none sent.
    calls: list[tuple[Call, list[Order]]] = batched(orders)
    # Right before they count (no await between); released as the tracker takes each.
    _reserve_all(port, orders)
    for o in orders:
        register(port, o)
    results: dict[str, Result] = {}
    sent = 0
    try:
        for call, chunk in calls:
            sent += 1
            results.update(await _send(port, call, chunk))
    except BaseException as e:
        # The call given up (its caller's cancellation) before the later requests went: their orders
        # were never written, so nothing settles them — forgotten again, not left pending (counted
        # open by the risk limits, skipped by the kill switch) for the session's life.
        _withdraw(port, [o for _, chunk in calls[sent:] for o in chunk], e)
        raise
    return [results[c] for c in cids]


def _withdraw(port: BatchPort, orders: Sequence[Order], why: BaseException) -> None:
    """Orders tracked for a request never written: forgotten again, as ``place_order``'s are."""
    for o in orders:
        withdraw(port, o.client_id, why)


def _reserve_all(port: BatchPort, orders: Sequence[Order]) -> None:
    """Each order counted by the risk limits from its check on, so the later ones see the earlier;
    one refused, every reservation is released and :class:`RiskLimitExceeded` raised."""
    try:
        for o in orders:
            port.risk.reserve(o.client_id, o.symbol, o.side, o.qty, o.price, caps=True)
    except RiskLimitExceeded:
        for o in orders:
            port.risk.release(o.client_id)
        raise


def _result(r: Order | BaseException) -> Result:
    if isinstance(r, Order | TickwireError):
        return r
    raise r  # a cancellation, or a bug: not an order's fate


async def _send(port: BatchPort, call: Call, chunk: list[Order]) -> dict[str, Result]:
    """One batch request: each order's result by client id."""
    with contextlib.ExitStack() as calls:
        for o in chunk:  # each settled by this call, or by the reconciler if its caller cancels it
            calls.enter_context(port.reconciler.call(o.client_id))
        try:
            body = await port.send(call, lane="order")
        except asyncio.CancelledError as e:
            if was_unsent(e):
                _withdraw(port, chunk, e)
            raise
        except TickwireError as e:
            if was_unsent(e):
                _withdraw(port, chunk, e)
                return {o.client_id: e for o in chunk}
            if isinstance(e, UnknownOutcome | RequestTimeoutError | TransportError):
                return await _resolve(port, chunk, str(e))
            entries = _by_client_id(port, e.__dict__.get("_entries"), chunk)
            if entries is not None:
                # Refused whole entry by entry (OKX code "1"): each its own error, as in a partial
                # answer — a refusal for rate learnt by the budget where its entry goes.
                return await _entries(port, chunk, entries)
            if isinstance(e, RateLimitError) and by_entry(e):  # entries unreadable: the whole request
                port.rate_refused(call, e)
            for o in chunk:  # the request refused whole
                refused(port, o.client_id, e)
            return {o.client_id: e for o in chunk}
        entries = _by_client_id(port, body, chunk)
        if entries is None:
            return await _resolve(port, chunk, "the batch's answer does not list one entry per order")
        return await _entries(port, chunk, entries)


async def _entries(
    port: BatchPort, chunk: list[Order], entries: dict[str, Any], learn: bool = True
) -> dict[str, Result]:
    """Each entry of the batch's answer applied to its order."""
    got = await asyncio.gather(
        *(_entry(port, o, entries[o.client_id], learn) for o in chunk), return_exceptions=True
    )
    return {o.client_id: _result(r) for o, r in zip(chunk, got, strict=True)}


def _by_client_id(port: BatchPort, body: Any, chunk: list[Order]) -> dict[str, Any] | None:
    """The batch answer's entries by the client id each names: unless the venue promises its
    request's order (``batch_answers_in_order``: USDⓈ-M, whose refused entries name none), nothing
    says they come in it, and an entry applied to another order would record a placed order rejected
    (or a refused one pending). None unless the entries are the chunk's orders, one each: an entry
    naming none (or another order's than its place promises), one twice, one missing."""
    if not isinstance(body, list):
        return None
    in_order = getattr(port.grammar, "batch_answers_in_order", False) and len(body) == len(chunk)
    out: dict[str, Any] = {}
    for i, item in enumerate(body):
        cid: str | None
        try:
            cid = port.grammar.read_order(item)[0].client_id
        except TickwireError as e:  # a refused entry: its error may name its client id
            cid = getattr(e, "client_id", None)
        except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError):
            # Not of the venue's form (a number that is none is ``decimal.InvalidOperation``, an
            # ``ArithmeticError``): it names no order, and raised out of here it left every order
            # of the request pending, never reconciled.
            cid = None
        if in_order:
            if cid and cid != chunk[i].client_id:
                return None  # not the promised order: reconciled rather than guessed
            cid = chunk[i].client_id
        if not cid or cid in out:
            return None
        out[cid] = item
    return out if out.keys() == {o.client_id for o in chunk} else None


async def _entry(port: BatchPort, o: Order, item: Any, learn: bool = True) -> Result:
    """One entry of the batch's answer applied to its order."""
    try:
        await port.answered(o.symbol, item)
    except (UnknownOutcome, DecodeError) as e:
        # This entry's fate not told (the venue's engine may have it), or told in a form not the
        # venue's (its request went out: ``place_order`` asks as for a lost answer) — reconciled,
        # never recorded rejected while it may rest at the venue.
        why = str(e) if isinstance(e, UnknownOutcome) else f"answer unreadable: {e}"
        try:
            return await port.reconciler.resolve(o, why)
        except TickwireError as err:
            return err
    except TickwireError as e:  # this entry refused (its own code), the others stand
        if isinstance(e, RateLimitError) and learn:
            # The next request waits the venue's block out — where it refused: this entry's own part
            # of the batch (OKX counts per instrument; the batch's other instruments are not blocked).
            [(alone, _)] = port.grammar.new_orders([o])  # type: ignore[attr-defined]  # a batch venue's
            port.rate_refused(alone, e)
        refused(port, o.client_id, e)
        return e
    got = port.tracker.get(o.client_id)
    assert got is not None
    return got


async def _resolve(port: BatchPort, chunk: list[Order], why: str) -> dict[str, Result]:
    """The batch's answer lost: each of its orders reconciled (found, or proven absent), one by one,
    each waiting (where it must) from the one loss, not from its own turn: else N orders took N waits."""
    out: dict[str, Result] = {}
    lost = port.reconciler.lost_now()
    # Stamped for a close's bound (``settle_bound``): the last one's verdict comes a round of queries
    # per order ahead of it after the wait.
    with port.reconciler.queued([o.client_id for o in chunk], lost):
        for o in chunk:
            try:
                out[o.client_id] = await port.reconciler.resolve(o, why, lost)
            except TickwireError as e:
                out[o.client_id] = e
    return out
