"""Clarofinlore's rate limits (seed-venues.md: limits "scale with account tier; bursts up to 10,000
requests per second"; HTTP 429 with ``Retry-After`` must pause and retry after that value). Declared
per key at the documented ceiling; a lower tier is given with :func:`tier` (``tr.budget.set_limits(
[tier(50)], replace=True)``) or learned from the venue's 429, which blocks every call of the key for its
Retry-After."""

from __future__ import annotations

from tickwire.limits import Limit
from tickwire.trading.venue import Call

BURST = 10_000  # requests per second, the document's ceiling


def tier(per_s: int) -> Limit:
    """The key's limit at a tier granting ``per_s`` requests per second."""
    return Limit("REQUESTS", per_s, 1.0, "account", frozenset({"429"}))


LIMITS = (tier(BURST),)


def cost(call: Call) -> dict[str, int]:
    return {"REQUESTS": 1}
