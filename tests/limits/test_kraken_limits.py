"""Kraken's counters against the simulator (Starter tier): the trading counter per pair (60, a new
order 1, a young order's cancel 8) and the REST call counter (15 per 45 s). A burst stops where the
budget says — new orders at 44, the rest refused before the wire — and two cancels still fit in the 16
kept for them: the simulator's counter ends at exactly 60, with no refusal. A refusal caused by traffic
the session never saw blocks that pair's counter for its window and nothing is sent to it."""

from __future__ import annotations

import asyncio

import pytest
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.venues import kraken
from tickwire.venues.kraken import limits
from venue_limits import Account, exchanges, refusals, spend

V = "kraken"
KEY = "kraken-limits-key"
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
A = Account(V, "BTC/USDT", KEY, kraken.Signer(KEY, SECRET), lambda v: v.add_key(KEY, SECRET))
ADD = "POST /0/private/AddOrder"


def test_costs_per_pair_and_on_the_rest_counter() -> None:
    g = kraken.Orders()
    add = Call("POST", "/0/private/AddOrder", {"pair": "XBTUSDT", "volume": "1"})
    assert g.cost(add) == {"PAIR:XBTUSDT": 1}
    cancel = g.cancel("BTC/USDT", "cid-1", None)
    assert g.cost(cancel) == {f"PAIR:{g.pair('BTC/USDT')}": 8}
    assert g.cost(Call("POST", "/0/private/TradesHistory")) == {"REST": 2}
    assert g.cost(Call("POST", "/0/private/BalanceEx")) == {"REST": 1}
    assert limits.cost(Call("GET", "/0/public/AssetPairs", signed=False)) == {}


def test_a_burst_stops_at_the_budget_and_two_cancels_still_fit() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        got = await asyncio.gather(*(A.resting_buy(sim, tr) for _ in range(50)), return_exceptions=True)
        refused = [g for g in got if isinstance(g, RateLimitError)]
        assert len(refused) == 6 and len(A.open(sim)) == 44  # 60 minus the 16 kept for cancels
        assert len([x for x in exchanges(sim, V) if x[1] == ADD]) == 44  # the 6 never left
        theirs = A.open(sim)
        for o in theirs[:2]:  # young orders: 8 each
            await tr.cancel_order(A.symbol, client_id=o.client_id)
        with pytest.raises(RateLimitError):
            await tr.cancel_order(A.symbol, client_id=theirs[2].client_id)
        assert len(A.open(sim)) == 42
        [counter] = sim.venue(V).limits.trading.values()
        assert counter.used == 60 and refusals(sim, V) == 0  # at the venue's limit, never over it

    A.run(body, {}, rate_wait=0, private_stream=False)


def test_a_refusal_blocks_that_pairs_counter_and_nothing_is_sent() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.venue(V).limits.trading[(KEY, A.symbol)] = spend(WeightLimiter(60, 60.0))
        with pytest.raises(RateLimitError) as e:
            await A.resting_buy(sim, tr)
        assert e.value.retry_after == pytest.approx(60.1)  # type: ignore[attr-defined]
        sent = len([x for x in exchanges(sim, V) if x[1] == ADD])
        with pytest.raises(RateLimitError):
            await A.resting_buy(sim, tr)
        assert len([x for x in exchanges(sim, V) if x[1] == ADD]) == sent and refusals(sim, V) == 1
        pair = tr.grammar.pair(A.symbol)  # type: ignore[attr-defined]
        assert tr.budget.check({f"PAIR:{pair}": 1}, "cancel") > 59  # cancels too: the venue's counter

    A.run(body, {}, rate_wait=0, private_stream=False)


@pytest.mark.parametrize(("name", "most", "decay"), [("REST", 15, 0.33), ("PAIR", 60, 1.0)])
def test_what_the_budget_admits_never_fills_the_venues_decaying_counter(
    name: str, most: int, decay: float
) -> None:
    """The documented counter: at most ``most``, decaying by ``decay`` a second. A client taking
    every slot the budget's window admits, for three simulated hours, never finds the counter full —
    the module's claim that its sliding windows admit no more than the counters do (a REST window of
    40 s instead of 45 fails it within minutes)."""
    from tickwire.limits import RateBudget

    now = [0.0]
    [lim] = [x for x in limits.LIMITS if x.name == name]
    b = RateBudget("v-kraken-decay", [lim], ip="ip-kd", account=f"acct-kd-{name}", reserve=0,
                   clock=lambda: now[0])  # fmt: skip
    cost = {f"{name}:XBTUSDT" if lim.keyed else name: 1}
    counter, at = 0.0, 0.0
    while now[0] < 3 * 3600:
        wait = b.try_take(cost, "query")
        if wait > 0:
            now[0] += wait
            continue
        counter = max(0.0, counter - (now[0] - at) * decay) + 1
        at = now[0]
        assert counter <= most + 1e-9, (now[0], counter)
