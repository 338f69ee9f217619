"""A USDⓈ-M listenKey call's answer reports the address's weight (``X-MBX-USED-WEIGHT-*``) as of its
own request, like any REST answer: what the process took after that request went out — still on its
way, not in the venue's count yet — must be added to it, and an answer to an older request never
lowers what a newer one reported (``RateBudget.observe(used, age)``), as the trading requests'
answers have it (``test_shared_weight.py``, ``test_usage_reports_out_of_order.py``). Checked against
the simulator's own weight limiter."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.venue import Call
from tickwire.venues import binance
from venue_limits import another_client_uses

V = "binance-usdm"
ANSWER_DELAY_S = 0.5


def test_a_listen_key_answers_usage_counts_the_requests_sent_after_it() -> None:
    """Another client on the address used 60 of the announced 100 weight per 3 s. The private
    stream's listenKey keep-alive (``PUT``) goes out, its answer half a second on its way back;
    meanwhile 16 tasks send requests until the budget is full (90: 10 kept for cancels), the
    answers' counts telling it of the other client's 60. The keep-alive's answer then says ~61 — the
    count when it reached the venue, before the burst. Taken as the address's count now, it let 30
    more requests go: at the venue 120 of 100, a 429 and 418 bans. As of its request, it adds the
    weight taken since and lowers nothing a newer answer reported: the venue refuses nothing."""
    key = "rev-lk-age"

    async def go() -> None:
        async with Simulator([V], seed=7, rate=0, depth=20, profiles={V: {"weight_limit": 100}},
                             timeouts={"weight_window": 3.0, "ban": 30.0}) as sim:  # fmt: skip
            sim.venue(V).add_key(ApiKey(key, secret=b"s3cret"))
            sim.fund(V, key, {"USDT": "100000000", "BTC": "100"})
            async with tickwire.trade(
                V, credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()[V],
                adopt=False, rate_wait=10,
            ) as tr:  # fmt: skip
                stream: Any = tr.stream
                assert stream is not None and tr.budget.limits["WEIGHT_3S"].limit == 100
                ep = sim.endpoint(V, 0)
                lim = sim.venue(V).limiter(ep)  # type: ignore[attr-defined]
                await another_client_uses(ep, "/fapi/v1/time", 60)
                charged = lim.refused
                request = stream._http.request

                async def slow_answer(*a: Any, **kw: Any) -> Any:
                    r = await request(*a, **kw)
                    await asyncio.sleep(ANSWER_DELAY_S)  # the answer on its way back
                    return r

                stream._http.request = slow_answer
                keep_alive = asyncio.create_task(stream._keep_alive())
                await asyncio.sleep(0.05)  # the PUT at the venue

                async def worker() -> None:
                    for _ in range(3):
                        await tr.send(Call("GET", "/fapi/v1/time", signed=False))

                got = await asyncio.gather(keep_alive, *(worker() for _ in range(16)), return_exceptions=True)
                refused = [(op, st) for _, op, st, _ in ep.exchanges if st in (418, 429)]
                assert lim.refused == charged, f"the venue refused {lim.refused - charged}: {refused[:3]}"
                assert not [g for g in got if isinstance(g, BaseException)], got

    asyncio.run(asyncio.wait_for(go(), 60))
