"""Tradefence's rate limit (seed-venues.md: error ``2001`` "rate limit exceeded → back off", with HTTP 429
and ``Retry-After``). The document gives no number: 100 requests per second per client is the
simulator's default and is **unverified**; a refusal blocks every call of the key for the Retry-After."""

from __future__ import annotations

from tickwire.limits import Limit
from tickwire.trading.venue import Call

LIMITS = (Limit("REQUESTS", 100, 1.0, "account", frozenset({"2001"})),)


def cost(call: Call) -> dict[str, int]:
    return {"REQUESTS": 1}
