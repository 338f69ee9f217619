"""Dead-man switches: countdowns a client keeps pushing back, which cancel the account's open orders (all
of them, or one symbol's) on the matching engine when they run out — Binance USDⓈ-M
``countdownCancelAll`` (per symbol), OKX ``cancel-all-after`` and Kraken ``CancelAllOrdersAfter``
(account-wide). A switch fires once and is then disarmed until armed again (Kraken documents this;
the simulator does the same for the others).

The venues' minimum countdowns (OKX: 10 s) may be lowered by profile (``dead_man_min_s``) so that a test
of a dead client runs in about a second; the default is each venue's documented minimum."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext


@dataclass(frozen=True)
class Fired:
    """One switch that ran out: whose, over which symbol (None: every symbol), what it cancelled."""

    account: str
    symbol: str | None
    cancelled: int


class DeadMan:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        # (account, symbol or None for the whole account) -> monotonic deadline
        self.deadlines: dict[tuple[str, str | None], float] = {}
        self.fired: list[Fired] = []  # what ran out, oldest first (tests read it)
        self.arms = 0  # requests that armed or refreshed a switch

    def min_s(self, documented: float) -> float:
        return float(self.ctx.profile.get("dead_man_min_s", documented))

    def arm(self, account: str, symbol: str | None, seconds: float) -> float:
        """Sets (or pushes back) the countdown; ``seconds`` 0 disarms. Returns the deadline as Unix
        seconds (0.0 when disarmed)."""
        key = (account, symbol)
        if seconds <= 0:
            self.deadlines.pop(key, None)
            return 0.0
        self.deadlines[key] = time.monotonic() + seconds
        self.arms += 1
        return time.time() + seconds

    def armed(self, account: str) -> dict[str | None, float]:
        """The account's armed switches: symbol (None: account-wide) -> seconds left."""
        now = time.monotonic()
        return {s: d - now for (a, s), d in self.deadlines.items() if a == account}

    def expire(self) -> None:
        """Fires every switch whose countdown has run out (called from the venue's timer)."""
        now = time.monotonic()
        for key, deadline in list(self.deadlines.items()):
            if deadline <= now:
                del self.deadlines[key]
                self.fired.append(Fired(key[0], key[1], self.cancel_open(*key)))

    def cancel_open(self, account: str, symbol: str | None) -> int:
        """Cancels the account's open orders (of ``symbol``) on the engine, as the venue's own cancels
        do: the book changes are published, the private streams report each cancel."""
        v = self.ctx
        orders = v.engine.open_orders(account, symbol)
        for o in orders:
            _, step = v.engine.cancel(account, o.symbol, o.id, None)
            if step is not None:
                v.publish(o.symbol, step)
        return len(orders)
