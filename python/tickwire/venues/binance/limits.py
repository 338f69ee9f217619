"""Binance's rate limits: spot's declared here, USDⓈ-M's in ``usdm_limits`` (the same headers and
``rateLimits`` announcement, other numbers). Spot (rest-api.md "LIMITS", venues.md §1.2): request weight
per IP per minute, new orders per account per 10 s and per day; what each call weighs; the usage
headers and the ``exchangeInfo`` ``rateLimits`` announcement (which replaces the documented defaults).

Names follow the usage headers' suffixes: ``X-MBX-USED-WEIGHT-1M`` counts ``WEIGHT_1M``,
``X-MBX-ORDER-COUNT-10S`` counts ``ORDERS_10S``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tickwire.limits import Limit
from tickwire.trading.venue import Call

_WEIGHT_CODES = frozenset({"-1003"})  # TOO_MANY_REQUESTS (429, and 418 once banned)
_ORDER_CODES = frozenset({"-1015"})  # TOO_MANY_ORDERS


def weight_limit(limit: int) -> Limit:
    return _weight("1M", limit, 60.0)


def _weight(suffix: str, limit: int, window_s: float) -> Limit:
    return Limit(f"WEIGHT_{suffix}", limit, window_s, "ip", _WEIGHT_CODES, aligned=True, counts="WEIGHT")


def order_limit(suffix: str, limit: int, window_s: float) -> Limit:
    # Not ``aligned``: nothing documents that the order counts restart on the venue's clock (a window
    # may open with the account's first order, as the simulator's do), so a count the venue reports
    # is held a whole window after the answer; dropped at the clock's next boundary, the room it
    # seemed to leave was inside the venue's window still full of another process's orders.
    return Limit(f"ORDERS_{suffix}", limit, window_s, "account", _ORDER_CODES, counts="ORDERS")


@dataclass(frozen=True)
class Weights:
    """One Binance API's documented weights: per call, the calls that count an order, and the
    open-orders call (weighed by whether it names a symbol)."""

    table: Mapping[tuple[str, str], int]
    new_orders: frozenset[tuple[str, str]]
    open_orders: tuple[str, int, int]  # path, weight with a symbol, without

    def cost(self, call: Call) -> dict[str, int]:
        """What ``call`` counts against: its weight (every ``WEIGHT_*`` window) and, for a new order,
        one order (every ``ORDERS_*`` window)."""
        key = (call.method, call.path)
        path, one, every = self.open_orders
        if key == ("GET", path):
            weight = one if call.params.get("symbol") else every
        elif key == ("GET", "/api/v3/myTrades") and call.params.get("orderId"):
            weight = MY_TRADES_OF_ORDER  # one order's trades: how reconciliation asks for fills
        else:
            weight = self.table.get(key, 1)
        return {"WEIGHT": weight, "ORDERS": 1 if key in self.new_orders else 0}


LIMITS = (
    weight_limit(6000),
    order_limit("10S", 100, 10.0),
    order_limit("1D", 200_000, 86_400.0),
)

# ``myTrades`` with ``orderId``: 5, not 20 (binance-spot-api-docs CHANGELOG 2025-04-07).
MY_TRADES_OF_ORDER = 5

# Request weights as documented per endpoint (the WS API's methods weigh the same).
SPOT = Weights(
    {
        ("POST", "/api/v3/order"): 1,
        ("DELETE", "/api/v3/order"): 1,
        ("GET", "/api/v3/order"): 4,
        ("PUT", "/api/v3/order/amend/keepPriority"): 4,
        ("DELETE", "/api/v3/openOrders"): 1,
        ("GET", "/api/v3/allOrders"): 20,
        ("GET", "/api/v3/myTrades"): 20,
        ("GET", "/api/v3/account"): 20,
        ("GET", "/api/v3/exchangeInfo"): 20,
    },
    frozenset({("POST", "/api/v3/order")}),
    ("/api/v3/openOrders", 6, 80),
)
cost = SPOT.cost
WS_CONNECT = {"WEIGHT": 2}  # a WS API connection (venues.md §1.3)
_INTERVAL = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}
_SECONDS = {"SECOND": 1.0, "MINUTE": 60.0, "HOUR": 3600.0, "DAY": 86_400.0}


_USAGE_PREFIXES = (("x-mbx-used-weight-", "WEIGHT_"), ("x-mbx-order-count-", "ORDERS_"))
# A header's name → the limit it reports ("" for none), as each name is first seen: an answer's few
# names are the same every time, so this runs once per name, not per answer. Bounded: a venue
# inventing names forever would only stop the memo growing.
_USAGE_NAMES: dict[str, str] = {}
_MEMO_MAX = 1024


def _limit_of(name: str) -> str:
    for prefix, kind in _USAGE_PREFIXES:
        if name.startswith(prefix):
            return kind + name[len(prefix) :].upper()
    return ""


def read_usage(headers: Mapping[str, str], call: Call | None = None) -> dict[str, int]:
    """``X-MBX-USED-WEIGHT-<n><unit>`` and ``X-MBX-ORDER-COUNT-<n><unit>`` (lower-case names); the
    headers name their limit, whatever the call."""
    out: dict[str, int] = {}
    names = _USAGE_NAMES
    for name, value in headers.items():
        limit = names.get(name)
        if limit is None:
            limit = _limit_of(name)
            if len(names) < _MEMO_MAX:
                names[name] = limit
        if limit and value.strip().isdigit():
            out[limit] = int(value)
    return out


def read_ws_usage(answer: Any) -> dict[str, int]:
    """A WS API answer's ``rateLimits`` array: each limit's ``count`` (the same counters as the REST
    headers), named as ``read_usage`` names them."""
    out: dict[str, int] = {}
    for r in answer.get("rateLimits", ()) if isinstance(answer, dict) else ():
        unit, n, count = r.get("interval"), r.get("intervalNum"), r.get("count")
        kind = {"REQUEST_WEIGHT": "WEIGHT", "ORDERS": "ORDERS"}.get(r.get("rateLimitType"))
        if kind and unit in _INTERVAL and isinstance(n, int) and isinstance(count, int):
            out[f"{kind}_{n}{_INTERVAL[unit]}"] = count
    return out


def read_limits(exchange_info: Any) -> list[Limit]:
    """The limits ``exchangeInfo`` announces (``rateLimits``): the venue's word over the defaults."""
    out = []
    for r in exchange_info.get("rateLimits", ()) if isinstance(exchange_info, dict) else ():
        unit, n = r.get("interval"), r.get("intervalNum")
        if unit not in _INTERVAL or not isinstance(n, int) or not isinstance(r.get("limit"), int):
            continue
        suffix = f"{n}{_INTERVAL[unit]}"
        window = n * _SECONDS[unit]
        if r.get("rateLimitType") == "REQUEST_WEIGHT":
            out.append(_weight(suffix, r["limit"], window))
        elif r.get("rateLimitType") == "ORDERS":
            out.append(order_limit(suffix, r["limit"], window))
    return out
