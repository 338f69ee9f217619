"""Coinbase Advanced Trade's rate limits (docs "Advanced Trade API rate limits"; venues.md §5.1 names the
headers): private REST 30 requests per second per API key, public 10 per second per IP — numbers from
the docs page, unverified here. Over it: HTTP 429 ``RATE_LIMIT_EXCEEDED``. Every private answer carries
``x-ratelimit-limit``/``-remaining``/``-reset``: read as used = our limit - remaining."""

from __future__ import annotations

from collections.abc import Mapping

from tickwire.limits import Limit
from tickwire.limits.budget import JITTER_S
from tickwire.limits.usage import used_from_remaining, wait_until_reset
from tickwire.trading.venue import Call

_RATE = frozenset({"RATE_LIMIT_EXCEEDED"})
LIMITS = (
    Limit("PRIVATE", 30, 1.0, "account", _RATE),
    Limit("PUBLIC", 10, 1.0, "ip", _RATE),
)


def cost(call: Call) -> dict[str, int]:
    return {"PRIVATE" if call.signed else "PUBLIC": 1}


def read_usage(headers: Mapping[str, str], call: Call | None = None) -> dict[str, int]:
    name = "PRIVATE" if call is None or call.signed else None  # the headers come on private answers
    return used_from_remaining(headers, "x-ratelimit-remaining", name, LIMITS)


def read_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """A 429's wait (no Retry-After): until ``x-ratelimit-reset`` (epoch s, on the venue's clock:
    ``now``), at least the window."""
    return wait_until_reset(headers, "x-ratelimit-reset", 1.0, 1.0 + JITTER_S, now)
