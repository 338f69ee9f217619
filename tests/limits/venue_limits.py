"""Shared harness of the per-venue limit tests: one funded account on one simulated venue whose limits
are set by profile and time-outs (small, so a test takes seconds), and what the simulator itself
counted — its request log (``VenueServer.exchanges``) and its limiters' refusals, whichever form the
venue's refusal takes (HTTP 429, or a code in an HTTP 200 answer as OKX and Bybit give)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest
import tickwire
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.trading.session import TradingSession

Body = Callable[[Simulator, TradingSession], Awaitable[None]]


@dataclass(frozen=True)
class Account:
    venue: str
    symbol: str
    key: str
    signer: Any
    register: Callable[[Any], None]
    funds: dict[str, str] = field(default_factory=lambda: {"USDT": "100000000", "BTC": "100"})

    def run(
        self, body: Body, profile: dict[str, Any], timeouts: dict[str, float] | None = None, **kw: Any
    ) -> None:
        async def go() -> None:
            opts = {"profiles": {self.venue: profile}, "timeouts": timeouts or {}}
            async with Simulator([self.venue], seed=7, rate=0, depth=20, **opts) as sim:
                self.register(sim.venue(self.venue))
                sim.fund(self.venue, self.key, self.funds)
                async with tickwire.trade(
                    self.venue, credentials=self.signer, endpoints=sim.urls()[self.venue], **kw
                ) as tr:
                    await body(sim, tr)

        asyncio.run(go())

    async def resting_buy(self, sim: Simulator, tr: TradingSession, ticks: int = 200) -> Any:
        """One minimal buy ``ticks`` below the best bid (it rests; nothing fills)."""
        rules = tr.rules[self.symbol]
        price = sim.book(self.venue, self.symbol).bids[0][0] - ticks * rules.tick_size
        lots = ((rules.min_notional or Decimal(0)) / price / rules.lot_size).to_integral_value(ROUND_CEILING)
        qty = max(rules.min_qty, (lots + 1) * rules.lot_size)
        return await tr.place_order(self.symbol, "buy", "limit", qty, price)

    async def burst(self, sim: Simulator, tr: TradingSession, n: int, workers: int = 8) -> list[Any]:
        gate = asyncio.Semaphore(workers)

        async def one() -> Any:
            async with gate:
                return await self.resting_buy(sim, tr)

        return await asyncio.gather(*(one() for _ in range(n)))

    def open(self, sim: Simulator) -> list[Any]:
        return [o for o in sim.venue(self.venue).engine.orders.values() if o.open]


def exchanges(sim: Simulator, venue: str) -> list[tuple[float, str, int, float | None]]:
    return list(sim.endpoint(venue, 0).exchanges)


def limiters(obj: Any, depth: int = 2) -> list[WeightLimiter]:
    """Every limiter the simulated venue keeps (in dicts of its attributes, and its parts')."""
    out: list[WeightLimiter] = []
    for value in vars(obj).values() if hasattr(obj, "__dict__") else ():
        items = value.values() if isinstance(value, dict) else [value]
        for item in items:
            for x in item if isinstance(item, tuple) else (item,):
                if isinstance(x, WeightLimiter):
                    out.append(x)
                elif depth > 1 and hasattr(x, "__dict__") and type(x).__module__.startswith("tickwire.sim"):
                    out.extend(limiters(x, depth - 1))
    return out


def refusals(sim: Simulator, venue: str) -> int:
    """Requests the simulated venue refused for rate, by its own limiters."""
    return sum(lim.refused for lim in {id(x): x for x in limiters(sim.venue(venue))}.values())


def spend(limiter: WeightLimiter) -> WeightLimiter:
    """``limiter`` with its whole window spent now (traffic of another process the session never saw)."""
    limiter.charge(time.monotonic(), limiter.limit)
    return limiter


async def refusal_blocks(
    sim: Simulator, tr: TradingSession, place: Callable[[], Awaitable[Any]], path: str, window: float
) -> None:
    """The session (``rate_wait=0``) meets the venue's refusal on its next order (``place``); nothing
    more goes to ``path`` until ``window`` (the venue's Retry-After, or the limit's window) has passed,
    then the order goes through after waiting it out."""
    venue = tr.venue
    with pytest.raises(RateLimitError) as e:
        await place()
    assert e.value.retry_after == pytest.approx(window, abs=0.01)  # type: ignore[attr-defined]
    # Timed from the refused request's arrival at the venue (its log's clock): the session's block
    # began later, when the answer reached it. (Not from the test's clock read after the raise: a
    # process waiting for a CPU there reads it late, and an on-time send looked early.)
    t_refused = [x for x in exchanges(sim, venue) if x[1] == path][-1][0]
    sent = len([x for x in exchanges(sim, venue) if x[1] == path])
    with pytest.raises(RateLimitError):
        await place()
    assert len([x for x in exchanges(sim, venue) if x[1] == path]) == sent  # nothing sent inside
    tr.budget.max_wait_s = window + 5.0
    assert (await place()).status == "new"
    last = [x for x in exchanges(sim, venue) if x[1] == path][-1]
    assert last[0] >= t_refused + window - 0.01 and last[2] < 400, (last[0] - t_refused, window)
    assert refusals(sim, venue) == 1


async def cancel_at_the_limit(
    sim: Simulator, tr: TradingSession, place: Callable[[], Awaitable[Any]]
) -> None:
    """New orders (``rate_wait=0``) until the budget refuses one before the wire, then a cancel of the
    first: it goes through on the reserve — the simulator's order is cancelled, nothing was refused.
    (A status query after the cancel's ack is a query: it may not use the reserve.)"""
    first = await place()
    with pytest.raises(RateLimitError):
        while True:
            await place()
    await tr.cancel_order(first.symbol, client_id=first.client_id)
    theirs = [o for o in sim.venue(tr.venue).engine.orders.values() if o.client_id == first.client_id]
    assert [o.open for o in theirs] == [False] and refusals(sim, tr.venue) == 0


async def another_client_uses(ep: Any, path: str, used: int, window_s: float = 3.0) -> None:
    """Another client on the same address spends ``used`` of the venue's weight (reported in
    ``X-MBX-USED-WEIGHT-3S``) right after a venue window of ``window_s`` opened: what a session's
    budget can only learn from the venue's answers."""
    from tickwire.transport.http import HttpClient

    other = HttpClient(ep.rest_base, timeout=5.0)
    await other.connect()
    await asyncio.sleep(window_s + 0.05 - ep.now_ms() / 1000 % window_s)  # a venue window just opened
    got = 0
    while got < used:
        r = await other.request("GET", path)
        got = int(r.headers["x-mbx-used-weight-3s"])
    await other.close()
