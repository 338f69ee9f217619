"""HTX's rate limits (venues.md §6.1: the new limits are per UID per endpoint, reported in
``X-HB-RateLimit-Requests-Remain``/``-Expire``). The numbers are the spot docs' per-endpoint lines
(place via batch-orders 50 per 2 s, cancel by id 100 per 2 s, batch cancel 50 per 2 s, order queries 50
per 2 s) and are **unverified**: the remaining header corrects the count (used = our limit -
remaining) whatever the venue grants. Over a limit: ``err-code`` ``429``/``too-many-requests``."""

from __future__ import annotations

from collections.abc import Mapping

from tickwire.limits import Limit
from tickwire.limits.usage import used_from_remaining
from tickwire.trading.venue import Call

_RATE = frozenset({"429", "too-many-requests"})
LIMITS = (
    Limit("PLACE", 50, 2.0, "account", _RATE),
    Limit("CANCEL", 100, 2.0, "account", _RATE),
    Limit("CANCEL_BATCH", 50, 2.0, "account", _RATE),
    Limit("QUERY", 50, 2.0, "account", _RATE),
    Limit("ACCOUNT", 100, 2.0, "account", _RATE),
    Limit("PUBLIC", 100, 10.0, "ip", _RATE),  # per IP, every public call (unverified)
)


def _name(call: Call) -> str:
    p = call.path
    if not call.signed:
        return "PUBLIC"
    if p == "/v1/order/batch-orders":
        return "PLACE"
    if p.endswith("/submitcancel"):
        return "CANCEL"
    if p == "/v1/order/orders/batchcancel":
        return "CANCEL_BATCH"
    if p.startswith("/v1/order/"):
        return "QUERY"
    return "ACCOUNT"


def cost(call: Call) -> dict[str, int]:
    return {_name(call): 1}


def read_usage(headers: Mapping[str, str], call: Call | None = None) -> dict[str, int]:
    name = _name(call) if call is not None else None
    return used_from_remaining(headers, "x-hb-ratelimit-requests-remain", name, LIMITS)
