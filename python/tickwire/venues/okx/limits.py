"""OKX's rate limits (venues.md §2.4, §2.5; okx.com/docs-v5 each endpoint's "Rate Limit" line): trading
calls are counted per User ID **and instrument**, each operation on its own (place, amend and cancel
60 per 2 s per instrument, shared by REST and WebSocket), batch calls per order (300 per 2 s per
instrument), queries per User ID; a sub-account may place and amend at most 1000 orders per 2 s in all
(50061). A refusal is code 50011 (or 50061) with HTTP 200 or 429: that limit — that instrument's
window, by the refused call's cost — is blocked for its 2 s window.

Per-instrument limits are keyed (``Limit.keyed``): a cost ``{"PLACE:BTC-USDT": 1}`` charges the
``PLACE`` window of BTC-USDT, made on its first use. The query limits below (orders-pending, fills,
fills-history, balance, instruments) are from the endpoint pages and unverified here; ``BOOKS``
(``GET /api/v5/market/books``: 40 requests per 2 s per IP) is what the market-data session's REST
book snapshots count against."""

from __future__ import annotations

from typing import Any

import orjson

from tickwire.limits import Limit
from tickwire.trading.venue import Call

_RATE = frozenset({"50011"})
RATE_CODES = _RATE  # what a refusal for the request rate answers
_SUB = frozenset({"50061"})
_P = "/api/v5/"


def _per_inst(name: str, limit: int) -> Limit:
    return Limit(name, limit, 2.0, "account", _RATE, keyed=True)


LIMITS = (
    _per_inst("PLACE", 60),
    _per_inst("CANCEL", 60),
    _per_inst("AMEND", 60),
    _per_inst("STATUS", 60),
    _per_inst("PLACE_BATCH", 300),
    _per_inst("CANCEL_BATCH", 300),
    Limit("SUB_ORDERS", 1000, 2.0, "account", _SUB),  # new and amended orders, every instrument
    Limit("PENDING", 60, 2.0, "account", _RATE),
    Limit("FILLS", 60, 2.0, "account", _RATE),
    Limit("FILLS_HISTORY", 10, 2.0, "account", _RATE),
    Limit("BALANCE", 10, 2.0, "account", _RATE),
    Limit("INSTRUMENTS", 20, 2.0, "ip", _RATE),
    Limit("BOOKS", 40, 2.0, "ip", _RATE),
)

# (method, path) → (limit, counts new/amended orders for the sub-account total)
_TRADE = {
    ("POST", _P + "trade/order"): ("PLACE", True),
    ("POST", _P + "trade/amend-order"): ("AMEND", True),
    ("POST", _P + "trade/cancel-order"): ("CANCEL", False),
    ("GET", _P + "trade/order"): ("STATUS", False),
    ("POST", _P + "trade/batch-orders"): ("PLACE_BATCH", True),
    ("POST", _P + "trade/cancel-batch-orders"): ("CANCEL_BATCH", False),
}
_QUERY = {
    _P + "trade/orders-pending": "PENDING",
    _P + "trade/fills": "FILLS",
    _P + "trade/fills-history": "FILLS_HISTORY",
    _P + "account/balance": "BALANCE",
    _P + "public/instruments": "INSTRUMENTS",
    _P + "market/books": "BOOKS",
}


def _args(call: Call) -> list[dict[str, Any]]:
    if call.method == "GET":
        return [dict(call.params)]
    try:
        body = orjson.loads(call.body or b"{}")
    except orjson.JSONDecodeError:
        return []
    items = body if isinstance(body, list) else [body]
    return [a for a in items if isinstance(a, dict)]


def cost(call: Call) -> dict[str, int]:
    """One unit per order of the call's instrument window (``"PLACE:BTC-USDT"``), plus the
    sub-account's order total for new and amended orders; one unit of a query's own limit."""
    trade = _TRADE.get((call.method, call.path))
    if trade is None:
        name = _QUERY.get(call.path)
        return {name: 1} if name else {}
    name, counts_order = trade
    out: dict[str, int] = {}
    args = _args(call)
    for a in args:
        key = f"{name}:{a.get('instId', '')}"
        out[key] = out.get(key, 0) + 1
    if counts_order:
        out["SUB_ORDERS"] = len(args)
    return out
