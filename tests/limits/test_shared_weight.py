"""Review of "a limit the venue announced is never crossed": each test drives tickwire through its
public API against the simulator and checks the simulator refused nothing for rate (its own log of
every request, and its limiters' counters)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import tickwire
from simbook import eventually
from test_binance_limits import resting_buy
from tickwire.errors import OrderNotFound, RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.venue import Call
from tickwire.transport.http import HttpClient
from tickwire.venues import binance

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBBTC", "LTCBTC"]


def _statuses(sim: Simulator, venue: str = "binance") -> list[int]:
    return [status for _, _, status, _ in sim.endpoint(venue, 0).exchanges]


@contextlib.asynccontextmanager
async def weighed(
    limit: int, key: str, rate: int, orders: int = 100, skew_ms: int = 0, **kw: Any
) -> AsyncIterator[tuple[Simulator, Any]]:
    """A Binance simulator whose per-IP weight is ``limit`` per 3 s (a 30 s ban after a 429) and new
    orders ``orders`` per 10 s, its clock ``skew_ms`` ahead of ours, and a trading session of ``key``
    on it (no adoption, no private stream)."""
    profile: dict[str, Any] = {"weight_limit": limit, "order_limit_10s": orders}
    async with Simulator(["binance"], seed=5, rate=rate, depth=20, profiles={"binance": profile},
                         timeouts={"weight_window": 3.0, "ban": 30.0}) as sim:  # fmt: skip
        sim.endpoint("binance", 0).skew(skew_ms)
        sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
        sim.fund("binance", key, {"USDT": "100000000", "BTC": "100"})
        async with tickwire.trade(
            "binance", credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()["binance"],
            adopt=False, private_stream=False, **kw,
        ) as tr:  # fmt: skip
            yield sim, tr


def test_market_data_snapshots_and_trading_share_the_addresss_announced_weight() -> None:
    """One process, one address: a trading session (it learned the venue's weight limit from
    ``exchangeInfo``: 120 per 3 s) and a market-data session on the same REST host syncing four books
    from REST depth snapshots (``limit=1000``: 50 weight each). The venue counts both against the one
    per-IP weight; the snapshots must wait for room as every other request does, so the venue never
    answers 429."""

    async def go() -> None:
        async with weighed(120, "rev-md-snap", rate=50) as (sim, tr):
            urls = sim.urls()["binance"]
            assert tr.budget.limits["WEIGHT_3S"].limit == 120
            md = tickwire.connect("binance", SYMBOLS, endpoints=urls, probe_interval=None)
            await md.start(wait=False)
            try:
                with contextlib.suppress(AssertionError):
                    await eventually(lambda: md.is_synced(), timeout=20.0, what="books in sync")
                synced = md.is_synced()
            finally:
                await md.close()
            lim = sim.venue("binance").limiter(sim.endpoint("binance", 0))  # type: ignore[attr-defined]
            refused = [(op, st) for _, op, st, _ in sim.endpoint("binance", 0).exchanges if st in (418, 429)]
            assert not refused and lim.refused == 0, f"the venue refused for rate: {refused}"
            assert synced

    asyncio.run(go())


def test_usdm_listen_key_calls_are_counted_in_the_addresss_weight() -> None:
    """USDⓈ-M's user data stream is kept by REST calls (``POST``/``PUT /fapi/v1/listenKey``, weight 1
    each): a reconnect of the stream first checks its key with a ``PUT``. The session spends what its
    budget lets queries spend (the reserve left for cancels), then the venue drops the stream five
    times; the keep-alives must wait for room as every other request does (the stream stays down while
    there is none) — the venue never answers 429 (a window of 600 s: nothing leaves it during the
    test)."""
    venue, key = "binance-usdm", "rev-usdm-lk"

    async def go() -> None:
        async with Simulator([venue], seed=7, rate=0, depth=20, profiles={venue: {"weight_limit": 30}},
                             timeouts={"weight_window": 600.0, "ban": 600.0}) as sim:  # fmt: skip
            sim.venue(venue).add_key(ApiKey(key, secret=b"s3cret"))
            sim.fund(venue, key, {"USDT": "100000000", "BTC": "100"})
            async with tickwire.trade(
                venue, credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()[venue],
                adopt=False, rate_wait=0,
            ) as tr:  # fmt: skip
                stream = tr.stream
                assert stream is not None and tr.budget.limits["WEIGHT_10M"].limit == 30
                ep = sim.endpoint(venue, 0)
                lim = sim.venue(venue).limiter(ep)  # type: ignore[attr-defined]
                with contextlib.suppress(RateLimitError):
                    for i in range(100):  # queries until the budget (not the venue) says no
                        with contextlib.suppress(OrderNotFound):
                            await tr.order_status("BTCUSDT", client_id=f"nope{i}")
                assert lim.refused == 0 and lim.used <= 30
                for n in range(2, 7):  # the venue drops the stream; it reconnects (once it may)
                    ep.drop()
                    with contextlib.suppress(AssertionError):
                        await eventually(lambda n=n: stream.connects >= n, timeout=1.5)
                await asyncio.sleep(0.2)
                refused = [(op, st) for _, op, st, _ in ep.exchanges if st in (418, 429)]
                assert not refused and lim.refused == 0, (
                    f"the venue counted {lim.used} of 30 and refused {refused}"
                )

    asyncio.run(asyncio.wait_for(go(), 60))


@pytest.mark.parametrize(("transport", "skew_ms"), [("rest", 0), ("ws", 0), ("rest", 1500)])
def test_a_reported_usage_counts_the_requests_still_on_their_way(transport: str, skew_ms: int) -> None:
    """Another client on the address used 60 of the announced 100 weight per 3 s; then 16 tasks send
    10 requests each at once — over REST (``GET /api/v3/time``) or as orders on the WS API (resting
    buys, 1 weight each). Every answer reports the address's usage (``X-MBX-USED-WEIGHT-3S``, the WS
    API's ``rateLimits``) as of its own request: the requests sent after it are not in that figure
    yet. Taken as the count, it let the tasks cross the limit (before: over REST 40 answered, then a
    429 and four 418 bans). The weight taken after the reported request is added to it: the venue
    refuses nothing for rate and answers all 160. With the venue's clock 1.5 s ahead of ours, its 3 s
    windows reset on its clock, not ours: the budget lapses a reported count on the venue's clock as
    the session measured it (before: on ours, half a window early, and the tasks crossed the limit)."""

    async def go() -> None:
        key = f"rev-inflight-{transport}-{skew_ms}"
        async with weighed(
            100, key, rate=0, orders=1000, skew_ms=skew_ms, rate_wait=10, transport=transport
        ) as (sim, tr):
            ep = sim.endpoint("binance", 0)
            other = HttpClient(ep.rest_base, timeout=5.0)
            await other.connect()
            # Just after one of the venue's 3 s windows opened: the burst then runs into the moment
            # our own clock's boundary falls, half a window early when the venue's clock is skewed.
            await asyncio.sleep(3.05 - ep.now_ms() / 1000 % 3.0)
            used = 0
            while used < 60:
                used = int((await other.request("GET", "/api/v3/time")).headers["x-mbx-used-weight-3s"])
            await other.close()
            lim = sim.venue("binance").limiter(ep)  # type: ignore[attr-defined]
            charged = lim.refused

            async def worker() -> None:
                for _ in range(10):
                    if transport == "rest":
                        await tr.send(Call("GET", "/api/v3/time", signed=False))
                    else:
                        assert (await resting_buy(sim, tr)).status == "new"

            await asyncio.gather(*(worker() for _ in range(16)))
            assert lim.refused == charged, f"the venue refused {lim.refused - charged} for rate"
            if transport == "ws":
                assert len(sim.venue("binance").engine.orders) == 160

    asyncio.run(go())
