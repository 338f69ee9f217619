"""Reading Coinbase Advanced Trade order answers: statuses, order configurations, RFC 3339 times, and
the memory of which venue order id belongs to which client order id.

Coinbase addresses an order by its ``order_id`` only (``GET orders/historical/{order_id}``, ``order_ids``
of ``batch_cancel``, ``order_id`` of ``edit``); the client order id is not a key of any of them. So the
grammar remembers every (client id, order id) pair an answer or the ``user`` channel showed it, and
turns a request by client id into one by order id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tickwire.trading.orders import OrderEvent, OrderType, Status, Tif

# Get Order / List Orders ``status`` and the ``user`` channel's ``status``. PENDING and the QUEUED
# states are accepted and not yet (or still) working: "new" (the tracker raises it to
# partially_filled from the filled size). FAILED is a refusal after acceptance.
# UNKNOWN_ORDER_STATUS states nothing.
STATUS: dict[str, Status] = {
    "PENDING": "new",
    "QUEUED": "new",
    "OPEN": "new",
    "CANCEL_QUEUED": "new",
    "EDIT_QUEUED": "new",
    "FILLED": "filled",
    "CANCELLED": "canceled",
    "EXPIRED": "expired",
    "FAILED": "rejected",
}

# ``order_configuration``'s one key: the order's type and time in force.
CONFIG: dict[str, tuple[OrderType, Tif]] = {
    "market_market_ioc": ("market", "IOC"),
    "market_market_fok": ("market", "FOK"),
    "limit_limit_gtc": ("limit", "GTC"),
    "limit_limit_gtd": ("limit", "GTC"),
    "limit_limit_fok": ("limit", "FOK"),
    "sor_limit_ioc": ("limit", "IOC"),
}

# ``time_in_force`` of orders and ``user`` channel updates (GOOD_UNTIL_DATE_TIME works like GTC until
# its end time).
TIF: dict[str, Tif] = {
    "GOOD_UNTIL_CANCELLED": "GTC",
    "GOOD_UNTIL_DATE_TIME": "GTC",
    "IMMEDIATE_OR_CANCEL": "IOC",
    "FILL_OR_KILL": "FOK",
}

VENUE = "coinbase"
# How many (client id, order id) pairs are remembered; the oldest are forgotten first.
MAX_IDS = 100_000


def dec(x: Any) -> Decimal | None:
    return Decimal(str(x)) if x not in (None, "") else None


def quote_of(product_id: str) -> str | None:
    """The quote currency of a spot product (``BTC-USD`` -> ``USD``): Coinbase charges fees in it."""
    _, _, quote = product_id.partition("-")
    return quote or None


def rfc3339_ns(ts: Any) -> int | None:
    """``2023-02-09T20:32:50.714964855Z`` as Unix ns (nanosecond digits kept; datetime has only µs)."""
    if not isinstance(ts, str) or len(ts) < 20:
        return None
    body = ts[:-1] if ts.endswith("Z") else ts
    whole, _, frac = body.partition(".")
    try:
        secs = int(datetime.fromisoformat(whole + "+00:00").timestamp())
    except ValueError:
        return None
    digits = "".join(c for c in frac if c.isdigit())[:9]
    return secs * 1_000_000_000 + int(digits.ljust(9, "0") or 0)


def rfc3339_ms(ms: int) -> str:
    """Unix ms as the RFC 3339 time Coinbase's ``start_sequence_timestamp`` takes."""
    secs, rest = divmod(ms, 1000)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:03d}Z"


class OrderIds:
    """Client order id <-> venue order id, learned from answers and stream events."""

    def __init__(self) -> None:
        self.by_client: dict[str, str] = {}
        self.by_order: dict[str, str] = {}

    def learn(self, client_id: str, order_id: str | None) -> None:
        if not client_id or not order_id or self.by_client.get(client_id) == order_id:
            return
        self.by_client[client_id] = order_id
        self.by_order[order_id] = client_id
        while len(self.by_client) > MAX_IDS:
            old = next(iter(self.by_client))
            self.by_order.pop(self.by_client.pop(old), None)

    def order_id(self, client_id: str | None, order_id: str | None) -> str | None:
        return order_id or (self.by_client.get(client_id) if client_id else None)

    def client_id(self, order_id: str | None) -> str:
        return self.by_order.get(order_id, "") if order_id else ""


def order_event(o: dict[str, Any], source: Any = "rest") -> OrderEvent:
    """One order of Get Order / List Orders as its state: status, ``filled_size``,
    ``average_filled_price``, ``total_fees`` (charged, positive, in the quote currency), and the order
    as placed (``order_configuration``) for an order this session did not place."""
    product = str(o.get("product_id", ""))
    filled = dec(o.get("filled_size")) or Decimal(0)
    conf: dict[str, Any] = o.get("order_configuration") or {}
    key = next(iter(conf), "")
    kind, tif = CONFIG.get(key, ("limit", "GTC"))
    params = conf.get(key) or {}
    return OrderEvent(
        source=source,
        client_id=str(o.get("client_order_id") or ""),
        order_id=str(o.get("order_id") or "") or None,
        status=STATUS.get(str(o.get("status"))),
        filled_cum=filled,
        avg_price=dec(o.get("average_filled_price")) if filled > 0 else None,
        fee_cum=dec(o.get("total_fees")),
        fee_asset=quote_of(product),
        reason=str(o.get("reject_message") or o.get("cancel_message") or ""),
        ts_ns=rfc3339_ns(o.get("last_fill_time")) or rfc3339_ns(o.get("created_time")),
        venue=VENUE,
        symbol=product or None,
        side="buy" if o.get("side") == "BUY" else "sell",
        type=kind,
        tif=tif,
        price=dec(params.get("limit_price")) if kind == "limit" else None,
        qty=dec(params.get("base_size")),
    )
