"""What happened while no gateway served an account, told to its clients by the gateway that starts
after the gap (from the ledger the last one kept, :class:`tickwire.gateway.state.Ledger`): each order
they last heard open that no longer is — the session adopted only those still open — as the venue has
it now, and those orders' fills since the newest one published. A query that fails is logged and
skipped: the rest still goes out."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Protocol

from tickwire.errors import TickwireError
from tickwire.trading.orders import Fill, Order
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.gateway")


class Session(Protocol):
    venue: str
    tracker: OrderTracker

    async def order_status(self, symbol: str, *, client_id: str | None = None) -> Order: ...

    async def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]: ...


class Events(Protocol):
    """The account's event publisher, with its ledger."""

    ledger: Any

    def on_order(self, o: Order) -> None: ...

    def on_fill(self, f: Fill) -> None: ...


async def catch_up(s: Session, events: Events, heard: dict[str, str]) -> None:
    """``heard``: client id → symbol of every order the clients last heard open. Fills are taken from
    the symbol's mark on (the venue's time; the trade ids at that time skipped)."""
    by_oid: dict[str, str] = {}
    for cid, symbol in heard.items():
        o = s.tracker.get(cid)
        if o is None:
            try:
                o = await s.order_status(symbol, client_id=cid)
            except TickwireError as e:
                log.warning("%s: %s not caught up: %s", s.venue, cid, e)
                continue
            events.on_order(o)
        if o.order_id:
            by_oid[o.order_id] = cid
    for symbol in sorted(set(heard.values())):
        mark_ms, mark_ids = await events.ledger.mark(symbol)
        try:
            fills = await s.fills(symbol, since_ms=mark_ms)
        except TickwireError as e:
            log.warning("%s: fills on %s not caught up: %s", s.venue, symbol, e)
            continue
        for f in sorted(fills, key=lambda f: f.ts_ns or 0):
            cid = f.client_id or by_oid.get(f.order_id or "", "")
            old = mark_ms is not None and f.ts_ns is not None and f.ts_ns // 1_000_000 < mark_ms
            if cid in heard and f.trade_id not in mark_ids and not old:
                events.on_fill(replace(f, client_id=cid))
