"""Kraken spot's rate limits (docs "Spot REST API rate limits" and "Spot trading rate limits"; not in
venues.md, Starter tier, unverified here):

- The REST call counter per API key: at most 15, decaying by 0.33 per second; most private calls add 1,
  trade and ledger history 2; order placing, amending and cancelling do not count on it. Counted as a
  sliding window of 15 per 45 s (15 / 0.33), which admits no more than the decaying counter does.
- The trading counter per pair: at most 60, decaying by 1 per second; a new order adds 1, an amend 1
  at least, a cancel up to 8 (the younger the order the more; the call does not say its order's age, so
  the worst case is charged). Keyed by pair (``"PAIR:BTC/USDT"``); a cancel names only its order, so
  cancels are counted together under ``"PAIR:?"`` (a simplification: Kraken counts them per pair).

Over either: ``EAPI:Rate limit exceeded`` / ``EOrder:Rate limit exceeded``."""

from __future__ import annotations

from urllib.parse import parse_qs

from tickwire.limits import Limit
from tickwire.trading.venue import Call

P = "/0/private/"
LIMITS = (
    Limit("REST", 15, 45.0, "account", frozenset({"EAPI:Rate limit exceeded"})),
    Limit("PAIR", 60, 60.0, "account", frozenset({"EOrder:Rate limit exceeded"}), keyed=True),
)
_TRADING = {P + "AddOrder": 1, P + "AmendOrder": 1, P + "CancelOrder": 8}
_HEAVY = frozenset({P + "TradesHistory", P + "Ledgers", P + "QueryTrades"})


def cost(call: Call) -> dict[str, int]:
    if not call.signed:
        return {}
    weight = _TRADING.get(call.path)
    if weight is None:
        return {"REST": 2 if call.path in _HEAVY else 1}
    pair = call.params.get("pair") or parse_qs(call.body or "").get("pair", [""])[0]
    return {f"PAIR:{pair or '?'}": weight}
