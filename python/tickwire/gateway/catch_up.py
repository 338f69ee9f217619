"""What happened while no gateway served an account, told to its clients by the gateway that starts
after the gap (from the ledger the last one kept, :class:`tickwire.gateway.state.Ledger`): each order
they last heard open that no longer is — the session adopted only those still open — as the venue has
it now, and those orders' fills since the newest one published. A query the venue does not answer
is asked again (about two minutes); one it refuses, or still unanswered then, is logged and
skipped: the rest still goes out."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from tickwire.errors import RateLimitError, TickwireError, TransportError
from tickwire.trading.orders import Fill, Order
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.gateway")
T = TypeVar("T")

# Pauses between the tries of a catch-up query the venue did not answer: about two minutes in all.
RETRY_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


class Session(Protocol):
    venue: str
    tracker: OrderTracker
    grammar: Any  # ``not_found(error)``: the venue has no such order

    async def order_status(self, symbol: str, *, client_id: str | None = None) -> Order: ...

    async def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]: ...


class Events(Protocol):
    """The account's event publisher, with its ledger."""

    ledger: Any
    heard_open: set[str]

    def on_order(self, o: Order) -> None: ...

    def on_fill(self, f: Fill) -> None: ...


Marks = dict[str, tuple[int | None, frozenset[str]]]


async def marks(ledger: Any, heard: dict[str, str]) -> Marks:
    """Each symbol of ``heard``'s newest published fill (``Ledger.mark``), read before the session
    starts: a fill it tells live moves the mark past the gap's fills, which a search from the moved
    mark would never find."""
    return {symbol: await ledger.mark(symbol) for symbol in sorted(set(heard.values()))}


async def catch_up(s: Session, events: Events, heard: dict[str, str], before: Marks) -> None:
    """``heard``: client id → symbol of every order the clients last heard open. Fills are taken from
    the symbol's mark on (the venue's time; the trade ids at that time skipped): ``before``, read by
    ``marks`` ahead of the session. An order's end goes out after its fills: the
    ledger forgets an order once its end is published, and a gateway that stopped in between would
    leave those fills untold — nor at all while its symbol's fills could not be learnt (the next
    gateway then tells both)."""
    by_oid: dict[str, str] = {}
    ended: list[Order] = []
    for cid, symbol in heard.items():
        o = s.tracker.get(cid)
        if o is None:
            found = await _asked(s.venue, cid, functools.partial(_status, s, symbol, cid))
            if found is None:
                continue
            if found[0] is None:
                # Written ahead of a place its gateway died before sending: nothing to tell, and
                # left in the ledger every later gateway would ask again.
                await _forget(events, cid)
                continue
            o = found[0]
            ended.append(o)
        if o.order_id:
            by_oid[o.order_id] = cid
    untold: set[str] = set()  # symbols whose fills were not learnt
    for symbol in sorted(set(heard.values())):
        mark_ms, mark_ids = before[symbol]
        query = functools.partial(s.fills, symbol, since_ms=mark_ms)
        fills = await _asked(s.venue, f"fills on {symbol}", query)
        if fills is None:
            untold.add(symbol)
        for f in sorted(fills or (), key=lambda f: f.ts_ns or 0):
            cid = f.client_id or by_oid.get(f.order_id or "", "")
            old = mark_ms is not None and f.ts_ns is not None and f.ts_ns // 1_000_000 < mark_ms
            if cid in heard and f.trade_id not in mark_ids and not old:
                events.on_fill(replace(f, client_id=cid))
    for o in ended:
        if o.symbol in untold:
            # Its end would make the ledger forget it, and its fills with it: left for the next gateway.
            log.warning("%s: %s's end not told: its fills are not known yet", s.venue, o.client_id)
            continue
        events.on_order(o)


async def _status(s: Session, symbol: str, cid: str) -> tuple[Order | None]:
    """The venue's ``cid``, or ``(None,)`` when it has no trace of it (a tuple: ``_asked``'s None is
    "not learnt")."""
    try:
        return (await s.order_status(symbol, client_id=cid),)
    except TickwireError as e:
        if s.grammar.not_found(e):
            return (None,)
        raise


async def _forget(events: Events, cid: str) -> None:
    try:
        await events.ledger.ended(cid)
        events.heard_open.discard(cid)
    except Exception as e:
        log.warning("%s left in the ledger (%s)", cid, e)


async def _asked(venue: str, what: str, query: Callable[[], Awaitable[T]]) -> T | None:
    """``query``'s answer, asked again while the venue does not give one (a lost connection, a
    time-out, a rate limit): what it would tell reaches the clients by no other way. None, logged,
    for any other refusal or once ``RETRY_S`` ran out."""
    for pause in (*RETRY_S, None):
        try:
            return await query()
        except (TransportError, RateLimitError) as e:
            if pause is None:
                log.error("%s: %s not caught up, the venue did not answer: %s", venue, what, e)
                return None
            log.warning("%s: %s not caught up yet (%s); asked again in %.2g s", venue, what, e, pause)
            await asyncio.sleep(pause)
        except TickwireError as e:
            log.warning("%s: %s not caught up: %s", venue, what, e)
            return None
    return None


def log_failure(task: asyncio.Task[None]) -> None:
    """A background catch-up's done-callback: an error it met is logged, not lost with its task (the
    ledger keeps what it did not tell, for the next gateway)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("what happened while no gateway ran not all told", exc_info=task.exception())
