"""What the venue states of the account: an order's status, the open orders, balances, positions and
executions (``TradingSession.order_status``, ``open_orders``, ``balances``, ``positions``, ``fills``).

Apart from :mod:`tickwire.trading.session` because these are questions, not order entry: each sends one
query and reads its answer, and the orders it states go through the tracker's one idempotent ``apply``
first, so an order this session tracks comes back as it tracks it. It sees the session only through
:class:`AccountPort`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from tickwire.errors import TickwireError, VenueError
from tickwire.trading.answers import read_events
from tickwire.trading.codes import not_supported
from tickwire.trading.intake import untracked
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Balance, Call, OrderGrammar, Position


class AccountPort(Protocol):
    """What the account's queries need of a trading session."""

    venue: str
    grammar: OrderGrammar
    tracker: OrderTracker

    async def send(self, call: Call) -> Any: ...

    async def settle_fills(self, client_id: str) -> None: ...

    def stream_up(self) -> bool: ...


class StatusPort(Protocol):
    async def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order: ...


log = logging.getLogger(__name__)

# 50 000 orders at Bybit's 50 a page: more than any account holds, less than a loop forever.
MAX_PAGES = 1000


async def pages(
    send: Callable[[Call], Awaitable[Any]], grammar: Any, call: Call
) -> AsyncGenerator[Any, None]:
    """Each page's answer of a listing, as the caller asks for the next: the grammar's optional
    ``next_page(call, body)`` names it (None: the last). A listing that does not end — a page the
    venue names again (a cursor that does not move), more than ``MAX_PAGES`` — raises
    :class:`VenueError`, never ends quietly short."""
    body = await send(call)
    yield body
    nxt = getattr(grammar, "next_page", None)
    seen = {tuple(call.params.items())}
    for _ in range(MAX_PAGES):
        if nxt is None or (call := nxt(call, body)) is None:
            return
        key = tuple(call.params.items())
        if key in seen:
            raise VenueError(f"{call.path}: the venue named a page of the listing twice")
        seen.add(key)
        body = await send(call)
        yield body
    raise VenueError(f"{call.path}: the listing did not end after {MAX_PAGES} pages")


async def every_page(
    send: Callable[[Call], Awaitable[Any]], grammar: Any, call: Call, out: list[Any] | None = None
) -> list[Any]:
    """Every entry of a listing, page after page (:func:`pages`): Bybit gives 50 open orders a page
    at most, OKX and Coinbase 100 — a kill switch or an adoption that read only the first would
    leave the rest. The entries go into ``out`` as each page arrives, so a caller whose later page
    failed (or whose listing did not end: :class:`VenueError`) still has the earlier ones."""
    out = [] if out is None else out
    async for body in pages(send, grammar, call):
        out.extend(body)
    return out


def apply_events(tracker: OrderTracker, events: Sequence[OrderEvent]) -> Order | None:
    """``events`` into the tracker; the last order they changed (None: none tracked)."""
    out = None
    for ev in events:
        got = tracker.apply(ev)
        out = got or out
    return out


async def order_status(
    port: AccountPort, symbol: str, client_id: str | None = None, order_id: str | None = None
) -> Order:
    """The order as the venue states it. A tracked order stated filled beyond the fills heard, with
    no private stream to tell its executions, has them fetched (``Reconciler.settle_fills``: asked
    again later should that fail), so ``on_fill`` hears each once however the fill came to light."""
    body = await port.send(port.grammar.status(symbol, client_id, order_id))
    events = read_events(port.grammar.read_order, body)
    apply_events(port.tracker, events)
    cid = events[0].client_id
    tracked = port.tracker.get(cid)
    if tracked is None:
        return untracked(port.venue, events[0])
    if port.tracker.unheard(cid) and not port.stream_up():
        await port.settle_fills(cid)
        tracked = port.tracker.get(cid) or tracked
    return tracked


async def open_orders(port: AccountPort, symbol: str | None = None) -> list[Order]:
    body: list[Any] = []
    failed: TickwireError | None = None
    try:
        await every_page(port.send, port.grammar, port.grammar.open_orders(symbol), body)
    except TickwireError as e:
        if not body:
            raise
        failed = e  # the pages read still reach the tracker (adopted, their state applied)
    out: list[Order] = []
    for item in body:
        events = read_events(port.grammar.read_order, item)
        apply_events(port.tracker, events)
        tracked = port.tracker.get(events[0].client_id)
        out.append(tracked if tracked is not None else untracked(port.venue, events[0]))
    if failed is not None:
        raise failed
    return out


async def balances(port: AccountPort) -> Mapping[str, Balance]:
    return port.grammar.read_balances(await port.send(port.grammar.balances()))


async def positions(port: AccountPort) -> Mapping[str, Position]:
    call = getattr(port.grammar, "positions", None)
    if call is None:
        raise not_supported(port.venue, "positions")
    read: Callable[[Any], Mapping[str, Position]] = port.grammar.read_positions  # type: ignore[attr-defined]
    return read(await port.send(call()))


async def fills(port: AccountPort, symbol: str, since_ms: int | None = None) -> list[Fill]:
    """The account's executions on ``symbol``: every one since ``since_ms``, page after page (a first
    page of the newest can miss older ones once more traded since), each once by trade id; without
    ``since_ms``, the venue's one answer of the most recent."""
    call = port.grammar.fills(symbol, since_ms)
    if since_ms is None:
        bodies = [await port.send(call)]
    else:
        bodies = [b async for b in pages(port.send, port.grammar, call)]
    out: dict[str, Fill] = {}
    for body in bodies:
        for f in port.grammar.read_fills(body):
            if f.trade_id in out:
                continue  # a row a page repeats (a listing shifted by trades made meanwhile)
            tracked = port.tracker.by_order_id(f.order_id) if f.order_id else None
            out[f.trade_id] = replace(f, client_id=tracked.client_id) if tracked is not None else f
    return list(out.values())


async def ask_if_ended(port: StatusPort, symbol: str, order: Order | None) -> None:
    """The venue says ``order`` is not open (a cancel's or an amend's ``OrderNotFound``) while it is
    open here: it ended unheard (filled, no private stream up), so its state is asked — its fills
    counted — before the caller raises the refusal; else it stayed open here, its fills never counted.
    A query that fails changes nothing."""
    if order is None or not order.is_open:
        return
    with contextlib.suppress(TickwireError):
        await port.order_status(symbol, client_id=order.client_id or None, order_id=order.order_id)
