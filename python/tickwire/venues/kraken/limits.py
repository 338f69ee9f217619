"""Kraken spot's rate limits (docs "Spot REST API rate limits" and "Spot trading rate limits"; not in
venues.md, Starter tier, unverified here):

- The REST call counter per API key: at most 15, decaying by 0.33 per second; most private calls add 1,
  trade and ledger history 2; order placing, amending and cancelling do not count on it. Counted as a
  sliding window of 15 per 45 s (15 / 0.33), which admits no more than the decaying counter does.
- The trading counter per pair: at most 60, decaying by 1 per second; a new order adds 1, an amend 1
  at least, a cancel up to 8 (the younger the order the more; the call does not say its order's age, so
  the worst case is charged; an amend 1 plus its worst penalty, 3). Keyed by pair
  (``"PAIR:XBTUSDT"``); a cancel or amend names only its order, so the grammar tells its pair. New
  orders leave 16 of the 60 to cancels (two of them at the worst penalty).

Over either: ``EAPI:Rate limit exceeded`` / ``EOrder:Rate limit exceeded``."""

from __future__ import annotations

from collections.abc import Mapping

from tickwire.limits import Limit
from tickwire.trading.venue import Call

P = "/0/private/"
LIMITS = (
    # "Each API key's counter is separate": a rotated session's new key starts on its own count.
    Limit("REST", 15, 45.0, "key", frozenset({"EAPI:Rate limit exceeded"})),
    Limit("PAIR", 60, 60.0, "account", frozenset({"EOrder:Rate limit exceeded"}), keyed=True, reserve=16),
)
_TRADING = {P + "AddOrder": 1, P + "AmendOrder": 4, P + "CancelOrder": 8}
_HEAVY = frozenset({P + "TradesHistory", P + "Ledgers", P + "QueryTrades"})


def cost(call: Call, pair_of: Mapping[str, str] | None = None) -> dict[str, int]:
    """``pair_of``: the pair of an order a cancel or amend names (by ``txid`` or ``cl_ord_id``)."""
    if not call.signed:
        return {}
    weight = _TRADING.get(call.path)
    if weight is None:
        return {"REST": 2 if call.path in _HEAVY else 1}
    ref = call.params.get("txid") or call.params.get("cl_ord_id") or ""
    pair = call.params.get("pair") or (pair_of or {}).get(ref, "?")
    return {f"PAIR:{pair}": weight}
