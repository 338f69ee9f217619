"""Binance USDⓈ-M's limits against the simulator: the session learns the order counts and the weight
from ``/fapi/v1/exchangeInfo``, never crosses them in a burst (no 429 at the simulator), cancels at the
limit, and sends nothing inside the Retry-After of a 429 it did not cause."""

from __future__ import annotations

import time

import pytest
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.transport.http import HttpClient
from tickwire.venues import binance
from tickwire.venues.binance import usdm_limits
from tickwire.venues.binance.usdm import UsdmOrders
from venue_limits import Account, exchanges, refusals

V = "binance-usdm"


def account(key: str) -> Account:
    return Account(
        V, "BTCUSDT", key, binance.Signer(key, "s3cret"), lambda v: v.add_key(ApiKey(key, secret=b"s3cret"))
    )


def test_declared_defaults_are_the_documented_usdm_numbers_and_weights() -> None:
    g = UsdmOrders()
    assert {(lim.name, lim.limit, lim.window_s, lim.per) for lim in g.limits} == {
        ("WEIGHT_1M", 2400, 60.0, "ip"),
        ("ORDERS_10S", 300, 10.0, "account"),
        ("ORDERS_1M", 1200, 60.0, "account"),
    }
    new = Call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT"})
    assert usdm_limits.cost(new) == {"WEIGHT": 1, "ORDERS": 1}
    assert usdm_limits.cost(Call("DELETE", "/fapi/v1/order", {})) == {"WEIGHT": 1, "ORDERS": 0}
    assert usdm_limits.cost(Call("GET", "/fapi/v1/openOrders", {}))["WEIGHT"] == 40
    assert usdm_limits.cost(Call("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}))["WEIGHT"] == 1


def test_a_burst_never_crosses_the_announced_order_count_and_cancels_go_through() -> None:
    """20 orders per second announced (the simulator's 10 s window shortened to 1 s); 80 sent by 8
    workers as fast as the session lets them go."""
    a = account("usdm-burst")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.budget.limits["ORDERS_1S"].limit == 20  # exchangeInfo's word over the defaults
        t0 = time.monotonic()
        placed = await a.burst(sim, tr, 80)
        elapsed = time.monotonic() - t0
        assert all(o.status == "new" for o in placed) and len(a.open(sim)) == 80
        assert refusals(sim, V) == 0 and 429 not in [x[2] for x in exchanges(sim, V)]
        assert elapsed > 3.0  # 18 a second (2 kept for cancels): at least 4 windows went by
        # At the limit, cancels still go through (they count no order and weigh little).
        await a.burst(sim, tr, 18)
        done = await tr.cancel_all(a.symbol)
        assert len(done) == 98 and not a.open(sim)
        assert refusals(sim, V) == 0

    a.run(body, {"order_limit_10s": 20, "order_window_s": 1})


def test_a_429_blocks_the_weight_for_its_retry_after_and_nothing_is_sent_inside() -> None:
    a = account("usdm-429")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(V, 0)
        other = HttpClient(ep.rest_base, timeout=5.0)  # another process on the same address
        await other.connect()
        try:
            used = 0
            while used < 40:
                r = await other.request("GET", "/fapi/v1/time")
                used = int(r.headers["x-mbx-used-weight-3s"])
        finally:
            await other.close()
        with pytest.raises(RateLimitError) as e:
            await tr.open_orders(a.symbol)
        blocked = e.value.retry_after  # type: ignore[attr-defined]
        [(t429, _, _, announced)] = [x for x in ep.exchanges if x[2] == 429]
        assert announced is not None and blocked == announced
        with pytest.raises(RateLimitError):
            await a.resting_buy(sim, tr)
        assert not [x for x in ep.exchanges if x[0] > t429]  # nothing sent inside the window
        tr.budget.max_wait_s = 30.0
        assert await tr.open_orders(a.symbol) == []
        after = [x for x in ep.exchanges if x[0] > t429]
        assert after and after[0][0] >= t429 + announced - 0.05 and after[0][2] == 200
        assert 418 not in [x[2] for x in ep.exchanges]

    a.run(body, {"weight_limit": 40}, timeouts={"weight_window": 3.0, "ban": 30.0}, rate_wait=0)
