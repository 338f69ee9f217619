"""Reading a venue's "remaining" usage header into what the budget observes: used = our limit - what
the venue says is left, so the room the budget leaves equals the venue's own remaining whatever limit
the venue grants this account (Bybit's ``X-Bapi-Limit-Status``, Coinbase's ``x-ratelimit-remaining``,
HTX's ``X-HB-RateLimit-Requests-Remain``)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from tickwire.limits.window import Limit


def used_from_remaining(
    headers: Mapping[str, str], header: str, name: str | None, limits: Iterable[Limit]
) -> dict[str, int]:
    """``{name: limit - remaining}`` from ``header`` (lower-case), or nothing when either is unknown."""
    left = headers.get(header, "").strip()
    limit = next((lim.limit for lim in limits if lim.name == name), None)
    if limit is None or not left.isdigit():
        return {}
    return {str(name): max(0, limit - int(left))}


def wait_until_reset(
    headers: Mapping[str, str], header: str, unit_s: float, at_least_s: float, now: float | None = None
) -> float | None:
    """Seconds until the venue's reset time in ``header`` (an epoch count of ``unit_s``), at least
    ``at_least_s`` (the limit's window: the venue's clock may run behind ours); None when absent."""
    value = headers.get(header, "").strip()
    if not value.isdigit():
        return None
    wall = time.time() if now is None else now
    return max(at_least_s, int(value) * unit_s - wall)
