"""Binance USDⓈ-M futures' rate limits (derivatives docs "General Info: LIMITS" and each endpoint's
"Weight"; not in venues.md, so the numbers below are unverified against a live venue): request weight
2400 per minute per IP, orders 300 per 10 s and 1200 per minute per account. The usage headers
(``X-MBX-USED-WEIGHT-1M``, ``X-MBX-ORDER-COUNT-10S``/``-1M``) and ``exchangeInfo`` ``rateLimits`` read as
spot's do (``binance.limits``); the announcement replaces these defaults."""

from __future__ import annotations

import orjson

from tickwire.trading.venue import Call
from tickwire.venues.binance.limits import Weights, order_limit, weight_limit

LIMITS = (
    weight_limit(2400),
    order_limit("10S", 300, 10.0),
    order_limit("1M", 1200, 60.0),
)

# A new order and a modify count 1 on each order limit. The docs weigh them 0 on the IP limit; they
# are counted 1 here so that a 429/418 on the IP's weight holds them back too (whether the venue takes
# orders from a banned IP is not documented; the simulator does not, and charges them 1).
_NEW = {("POST", "/fapi/v1/order"), ("PUT", "/fapi/v1/order")}
USDM = Weights(
    {
        **dict.fromkeys(_NEW, 1),
        ("DELETE", "/fapi/v1/order"): 1,
        ("GET", "/fapi/v1/order"): 1,
        ("DELETE", "/fapi/v1/batchOrders"): 1,
        ("DELETE", "/fapi/v1/allOpenOrders"): 1,
        ("GET", "/fapi/v1/userTrades"): 5,
        ("GET", "/fapi/v2/balance"): 5,
        ("GET", "/fapi/v2/positionRisk"): 5,
        ("GET", "/fapi/v1/exchangeInfo"): 1,
        ("POST", "/fapi/v1/countdownCancelAll"): 10,
    },
    frozenset(_NEW),
    ("/fapi/v1/openOrders", 1, 40),
)
_BATCH = ("POST", "/fapi/v1/batchOrders")
_BATCH_ORDERS_10S = 5  # what a batch counts on the 10-second order window, however many it holds


def cost(call: Call) -> dict[str, int]:
    """``USDM.cost``; a batch of new orders weighs 5 and counts 5 orders whatever it holds (the docs
    count 5 on the 10-second order window and 1 on the minute's: ``ORDERS`` charges both, so the
    minute's is over-counted, never crossed). Counted by its orders, a batch of fewer than 5 was
    under-counted on the 10-second window, and a budget full of them crossed the venue's count."""
    if (call.method, call.path) != _BATCH:
        return USDM.cost(call)
    try:
        n = len(orjson.loads(call.params.get("batchOrders", "[]")))
    except orjson.JSONDecodeError:
        n = 1
    return {"WEIGHT": 5, "ORDERS": max(_BATCH_ORDERS_10S, n)}
