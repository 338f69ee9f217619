"""Bybit v5's rate limits (venues.md §3.5; docs/v5/rate-limit/rate-limit.mdx): per UID, per endpoint,
per second (``retCode`` 10006 "Too many visits!"), and per IP 600 requests per 5 s over everything
(HTTP 403 "access too frequent": stop for at least 10 minutes).

Every answer states the endpoint's limit (``X-Bapi-Limit``) and what is left of it
(``X-Bapi-Limit-Status``) for the UID: read as used = our limit - the venue's remaining, so the room the
budget leaves equals what the venue says is left, whatever limit it grants this account (it varies by
VIP level). A 10006 blocks the endpoint until ``X-Bapi-Limit-Reset-Timestamp``, at least its second —
over REST (a header of the answer) and over the trade socket (its answer's ``header``) alike.
The per-endpoint numbers are the spot column of the docs' table (create, cancel and
cancel-all 20/s, amend 10/s, create-batch 20 orders/s, queries 50/s) — unverified beyond that page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tickwire.audit import excerpt
from tickwire.errors import RateLimitError
from tickwire.limits import Limit
from tickwire.limits.budget import JITTER_S
from tickwire.limits.usage import used_from_remaining, wait_until_reset
from tickwire.trading.venue import Call

VENUE = "bybit"
IP_BAN_S = 600.0  # "wait for at least 10 minutes"
_UID = frozenset({"10006"})

LIMITS = (
    Limit("IP", 600, 5.0, "ip", frozenset({"403", "10018"})),  # 10018: "Exceeded the IP Rate Limit."
    Limit("CREATE", 20, 1.0, "account", _UID),
    # Its own limit, counted per order ("Number of consumption = number of requests * number of orders
    # included in a single request"; docs/v5/rate-limit, batch endpoints).
    Limit("CREATE_BATCH", 20, 1.0, "account", _UID),
    Limit("AMEND", 10, 1.0, "account", _UID),
    Limit("CANCEL", 20, 1.0, "account", _UID),
    Limit("CANCEL_ALL", 20, 1.0, "account", _UID),
    Limit("REALTIME", 50, 1.0, "account", _UID),
    Limit("EXECUTIONS", 50, 1.0, "account", _UID),
    Limit("BALANCE", 50, 1.0, "account", _UID),
)
_BY_PATH = {
    "/v5/order/create": "CREATE",
    "/v5/order/create-batch": "CREATE_BATCH",
    "/v5/order/amend": "AMEND",
    "/v5/order/cancel": "CANCEL",
    "/v5/order/cancel-all": "CANCEL_ALL",
    "/v5/order/realtime": "REALTIME",
    "/v5/execution/list": "EXECUTIONS",
    "/v5/account/wallet-balance": "BALANCE",
}


def cost(call: Call) -> dict[str, int]:
    name = _BY_PATH.get(call.path)
    if name == "CREATE_BATCH":
        request = orjson.loads(call.body or b"{}").get("request") or ()
        return {"IP": 1, name: max(1, len(request))}
    return {"IP": 1, name: 1} if name else {"IP": 1}


def read_usage(headers: Mapping[str, str], call: Call | None = None) -> dict[str, int]:
    """The call's endpoint limit as used = our limit - ``X-Bapi-Limit-Status`` (the venue's remaining)."""
    name = _BY_PATH.get(call.path) if call is not None else None
    return used_from_remaining(headers, "x-bapi-limit-status", name, LIMITS)


_BY_OP = {"order.create": "CREATE", "order.amend": "AMEND", "order.cancel": "CANCEL"}


def read_ws_usage(answer: Any) -> dict[str, int]:
    """A trade-socket answer's usage: its ``header`` carries the same ``X-Bapi-Limit-Status`` as a REST
    answer (venues.md §3.4), for the endpoint its ``op`` names."""
    header = answer.get("header") if isinstance(answer, dict) else None
    if not isinstance(header, dict):
        return {}
    lower = {str(k).lower(): str(v) for k, v in header.items()}
    return used_from_remaining(lower, "x-bapi-limit-status", _BY_OP.get(answer.get("op")), LIMITS)


def read_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """A 10006's wait: until ``X-Bapi-Limit-Reset-Timestamp`` (ms, on the venue's clock: ``now``, in
    s), at least the second's window."""
    return wait_until_reset(headers, "x-bapi-limit-reset-timestamp", 0.001, 1.0 + JITTER_S, now)


def read_ws_reset(answer: Any, now: float | None = None) -> float | None:
    """A trade-socket 10006's wait: until the ``X-Bapi-Limit-Reset-Timestamp`` its ``header`` carries
    (venues.md §3.4), read as ``read_reset`` reads a REST answer's (on the venue's clock: ``now``)."""
    header = answer.get("header") if isinstance(answer, dict) else None
    if not isinstance(header, dict):
        return None
    return read_reset({str(k).lower(): str(v) for k, v in header.items()}, now)


def ip_refusal(status: int, body: bytes) -> RateLimitError | None:
    """HTTP 403 "access too frequent" (a plain-text answer): the IP limit, blocked 10 minutes."""
    if status != 403 or b"too frequent" not in body.lower():
        return None
    text = excerpt(body)
    e = RateLimitError(f"{VENUE}: {text} (HTTP 403)")
    e.__dict__.update(venue=VENUE, code="403", message=text, status=403, client_id=None, retry_after=IP_BAN_S)
    return e
