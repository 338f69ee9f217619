"""Kraken's counters as the simulator keeps them (docs "Spot REST API rate limits", "Spot trading rate
limits"; Starter tier by default): the REST call counter per key (profile ``rest_limit``, 15, per
``rest_window``, 45 s — a fixed window standing for the decaying counter), history calls weighing 2,
``EAPI:Rate limit exceeded`` over it; the trading counter per key and pair (``pair_limit``, 60, per
``pair_window``, 60 s; the windows are time-outs): a new order 1, an amend 1, a cancel by the order's
age (8 under 5 s down to 0 after 300 s), ``EOrder:Rate limit exceeded`` over it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tickwire.sim.limits import WeightLimiter
from tickwire.sim.venues.kraken.history import txid

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext

_HEAVY = frozenset({"TradesHistory", "Ledgers", "QueryTrades"})
# Docs: every other call adds 1, the WebSocket token too.
_UNCOUNTED = frozenset({"AddOrder", "AmendOrder", "CancelOrder", "CancelAll"})
# A cancel's penalty by the order's age: (younger than, seconds; weight).
_CANCEL = ((5, 8), (10, 6), (15, 5), (45, 4), (90, 2), (300, 1))


class KrakenLimits:
    def __init__(self, ctx: VenueContext, pairs: Mapping[str, str]) -> None:
        self.ctx = ctx
        self.pairs = pairs  # REST pair name -> symbol
        self.rest: dict[str, WeightLimiter] = {}
        self.trading: dict[tuple[str, str], WeightLimiter] = {}
        # Requests refused over a counter, by (key, "rest" or the pair): what a client that keeps to
        # the documented counters never meets.
        self.limit_refusals: Counter[tuple[str, str]] = Counter()

    def charge(self, account: str, method: str, form: dict[str, str]) -> str | None:
        """The error of a request over its counter, else None (and the request counted)."""
        now = time.monotonic()
        if method not in _UNCOUNTED:
            lim = self.rest.get(account)
            if lim is None:
                n = int(self.ctx.profile.get("rest_limit", 15))
                lim = self.rest[account] = WeightLimiter(n, self.ctx.interval("rest_window"))
            if lim.charge(now, 2 if method in _HEAVY else 1)[0] == "ok":
                return None
            self.limit_refusals[(account, "rest")] += 1
            return "EAPI:Rate limit exceeded"
        if method not in ("AddOrder", "AmendOrder", "CancelOrder"):
            return None
        symbol, weight = self.pairs.get(form.get("pair", ""), ""), 1
        if method != "AddOrder":
            ref = form.get("txid", "") or form.get("cl_ord_id", "")
            found = [o for o in self.ctx.engine.open_orders(account, None) if ref in (txid(o), o.client_id)]
            if not found:
                return None  # the venue's own answer follows (unknown order)
            symbol = found[0].symbol
            if method == "CancelOrder":
                age = time.time() - found[0].time_ms / 1000
                weight = next((w for under, w in _CANCEL if age < under), 0)
        lim = self.trading.get((account, symbol))
        if lim is None:
            n = int(self.ctx.profile.get("pair_limit", 60))
            lim = self.trading[(account, symbol)] = WeightLimiter(n, self.ctx.interval("pair_window"))
        if lim.charge(now, weight)[0] == "ok":
            return None
        self.limit_refusals[(account, symbol)] += 1
        return "EOrder:Rate limit exceeded"
