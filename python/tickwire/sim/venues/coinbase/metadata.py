"""Coinbase products, fills and order listings for order entry, in the shapes of the Advanced Trade
reference ("List Public Products", "List Fills", "List Orders"), every value from the simulator's
instruments and the matching engine's own records.

``GET /api/v3/brokerage/market/products`` (public) and ``GET /api/v3/brokerage/products`` (signed):
``{"products": [...], "num_products"}`` with ``base_increment``, ``quote_increment`` and
``price_increment`` (the tick), ``base_min_size``/``base_max_size`` and ``quote_min_size`` — the limits
the engine enforces. ``product_type`` filters (only SPOT is simulated). A product
``Simulator.set_status`` closed is flagged ``trading_disabled``, a cancel-only one ``cancel_only``; a
new order on either is refused ``UNTRADABLE_PRODUCT`` (trade.py), a cancel still goes. A grid
changed by ``Simulator.set_grid`` is listed (``price_increment``, ``base_increment``,
``base_min_size``) and enforced from then on.

``GET /api/v3/brokerage/orders/historical/fills``: each engine fill once, newest first, ``trade_id``
the id it had on ``market_trades``; ``order_ids``/``product_ids`` filter (repeated parameters, as the
reference's arrays are sent), ``start_sequence_timestamp`` (RFC 3339) bounds; ``limit`` (100) a page,
``cursor`` to the next (the sim's names the page's last fill; empty on the last page). Fees are not
simulated (``commission`` "0").

``GET /api/v3/brokerage/orders/historical/batch``: the key's orders, newest first, filtered by
``order_status`` and ``product_ids`` (repeated), ``order_ids``, ``start_date``/``end_date`` (RFC 3339,
inclusive, on the order's creation time); ``limit`` (default 100) a page, ``has_next`` and ``cursor``
for the next.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from tickwire.sim.accounts import split_symbol
from tickwire.sim.engine import Engine, Order
from tickwire.sim.market import BID, Fmt, Instrument
from tickwire.sim.venues.pages import after_cursor

# The order as Get Order shows it (trade.py builds it).
OrderJson = Callable[[Order], dict[str, Any]]


def order_id(o: Order) -> str:
    """Coinbase order ids are UUIDs: the engine's integer id as one."""
    return str(uuid.UUID(int=o.id))


def ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _ms(rfc3339: str) -> int | None:
    try:
        return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _s(x: Decimal) -> str:
    return f"{x.normalize():f}"


# ``Simulator.set_status`` as a product's flags (SDK ``product_types.py``): its ``status`` stays
# "online"; ``cancel_only`` or ``trading_disabled`` says it takes no new order.
FLAGS = {"cancel_only": "cancel_only", "closed": "trading_disabled"}


def product(inst: Instrument, price: str, status: str = "") -> dict[str, Any]:
    base, quote = split_symbol(inst.symbol)
    return {
        "product_id": inst.symbol,
        "price": price,
        "base_increment": _s(inst.lot),
        "quote_increment": _s(inst.tick),
        "price_increment": _s(inst.tick),
        "base_min_size": _s(inst.qty(inst.min_lots)),
        "base_max_size": _s(inst.max_qty) if inst.max_qty else "1000000000",
        "quote_min_size": _s(inst.min_notional) if inst.min_notional else "0",
        "quote_max_size": "1000000000",
        "base_name": base,
        "quote_name": quote,
        "base_currency_id": base,
        "quote_currency_id": quote,
        "display_name": f"{base}/{quote}",
        "status": "online",
        "product_type": "SPOT",
        "trading_disabled": False,
        "is_disabled": False,
        "cancel_only": False,
        "limit_only": False,
        "post_only": False,
        "auction_mode": False,
        "new": False,
        "view_only": False,
    } | ({FLAGS[status]: True} if status in FLAGS else {})


def products(
    insts: Mapping[str, Instrument],
    prices: Mapping[str, str],
    raw_query: str,
    status: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The products; ``status``: the ones not open (``Simulator.set_status``), flagged (``FLAGS``)."""
    q = parse_qs(raw_query)
    closed = status or {}
    kinds = q.get("product_type")
    wanted = q.get("product_ids")
    out = [
        product(i, prices.get(s, ""), closed.get(s, ""))
        for s, i in insts.items()
        if (not kinds or "SPOT" in kinds) and (not wanted or s in wanted)
    ]
    return {"products": out, "num_products": len(out)}


def fills(engine: Engine, account: str, fmt: Mapping[str, tuple[Fmt, Fmt]], raw_query: str) -> dict[str, Any]:
    q = parse_qs(raw_query)
    oids, pids = q.get("order_ids"), q.get("product_ids")
    since = _ms(q["start_sequence_timestamp"][0]) if "start_sequence_timestamp" in q else None
    limit = q.get("limit", ["100"])[0]
    limit_n = max(1, int(limit)) if limit.isdigit() else 100
    rows = []
    for o in engine.orders.values():
        if o.account != account or (oids and order_id(o) not in oids) or (pids and o.symbol not in pids):
            continue
        fp, fq = fmt[o.symbol]
        for f in o.fills:
            if since is not None and f.time_ms < since:
                continue
            t = ts(f.time_ms)
            rows.append(
                (
                    f.time_ms,
                    f.trade_id,
                    {
                        "entry_id": f"{o.id}-{f.trade_id}",
                        "trade_id": str(f.trade_id),
                        "order_id": order_id(o),
                        "trade_time": t,
                        "trade_type": "FILL",
                        "price": fp(f.price),
                        "size": fq(f.qty),
                        "commission": "0",
                        "product_id": o.symbol,
                        "sequence_timestamp": t,
                        "liquidity_indicator": "MAKER" if f.maker else "TAKER",
                        "size_in_quote": False,
                        "user_id": account,
                        "side": "BUY" if o.side == BID else "SELL",
                    },
                )
            )
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    page, more = after_cursor(rows, q.get("cursor", [""])[0], limit_n)
    return {"fills": page, "cursor": more}


def listing(engine: Engine, account: str, show: OrderJson, raw_query: str) -> dict[str, Any]:
    """Newest first, ``limit`` (100) a page; ``cursor`` (what the page before answered, with
    ``has_next``) continues after that page's last order. The cursor names an order, not an offset,
    so orders that close between pages do not shift the rest."""
    q = parse_qs(raw_query)
    statuses, pids, oids = q.get("order_status"), q.get("product_ids"), q.get("order_ids")
    limit = int(q.get("limit", ["100"])[0])
    before = int(q["cursor"][0]) if q.get("cursor") and q["cursor"][0].isdigit() else None
    start = _ms(q["start_date"][0]) if "start_date" in q else None
    end = _ms(q["end_date"][0]) if "end_date" in q else None
    rows: list[tuple[int, dict[str, Any]]] = []
    for o in sorted(engine.orders.values(), key=lambda o: o.id, reverse=True):
        if o.account != account or (pids and o.symbol not in pids) or (oids and order_id(o) not in oids):
            continue
        if (before is not None and o.id >= before) or (start is not None and o.time_ms < start):
            continue
        if end is not None and o.time_ms > end:
            continue
        shown = show(o)
        if statuses and shown["status"] not in statuses:
            continue
        rows.append((o.id, shown))
    more = len(rows) > limit
    cursor = str(rows[limit - 1][0]) if more else ""
    return {"orders": [r for _, r in rows[:limit]], "sequence": "0", "has_next": more, "cursor": cursor}
