"""Bybit's limits against the simulator (venues.md §3.5): per UID and endpoint per second (10006), per
IP 600 per 5 s (HTTP 403 "access too frequent", then 10 minutes off). A burst never crosses the create
limit; the budget follows ``X-Bapi-Limit-Status`` when the venue grants less than declared; a 10006
blocks that endpoint for its window and a 403 blocks everything for 10 minutes — nothing is sent
inside either, measured at the simulator."""

from __future__ import annotations

import time

import pytest
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.transport.http import HttpClient
from tickwire.venues import bybit
from tickwire.venues.bybit import limits
from venue_limits import Account, exchanges, refusals, spend

V = "bybit"
CREATE = "POST /v5/order/create"


def account(key: str) -> Account:
    return Account(
        V,
        "BTCUSDT",
        key,
        bybit.Signer(key, "s3cret"),
        lambda v: v.add_key(key, "s3cret"),
        {"USDT": "100000000", "BTC": "50"},
    )


def test_usage_is_read_against_the_calls_endpoint() -> None:
    create = Call("POST", "/v5/order/create", body="{}")
    headers = {"x-bapi-limit": "10", "x-bapi-limit-status": "7", "x-bapi-limit-reset-timestamp": "1"}
    assert limits.cost(create) == {"IP": 1, "CREATE": 1}
    assert limits.read_usage(headers, create) == {"CREATE": 20 - 7}  # room left: the venue's 7
    assert limits.read_usage(headers, Call("GET", "/v5/market/time", signed=False)) == {}
    # A 10006's wait: until the reset timestamp, at least the second's window (our clock may lead).
    reset = {"x-bapi-limit-reset-timestamp": str(int((time.time() + 4.0) * 1000))}
    assert 3.9 < (limits.read_reset(reset) or 0) <= 4.0
    assert limits.read_reset({"x-bapi-limit-reset-timestamp": "1700000003000"}) == pytest.approx(1.1)
    assert limits.read_reset({}) is None
    # A trade-socket answer's ``header`` (venues.md §3.4), read the same way, on the clock given.
    ws = {"op": "order.create", "retCode": 10006, "header": {"X-Bapi-Limit-Reset-Timestamp": "1700000003000"}}
    assert limits.read_ws_reset(ws, 1700000000.5) == pytest.approx(2.5)
    assert limits.read_ws_reset({"op": "order.create", "retCode": 10006}, 1700000000.5) is None
    e = limits.ip_refusal(403, b"access too frequent")
    assert isinstance(e, RateLimitError) and e.retry_after == 600.0  # type: ignore[attr-defined]
    assert limits.ip_refusal(403, b"forbidden") is None


def test_a_burst_never_crosses_the_create_limit_and_cancels_go_through() -> None:
    a = account("bybit-burst")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        t0 = time.monotonic()
        placed = await a.burst(sim, tr, 50)
        elapsed = time.monotonic() - t0
        assert all(o.status == "new" for o in placed) and len(a.open(sim)) == 50
        assert refusals(sim, V) == 0  # no 10006, no 403
        assert elapsed > 2.0  # 18 per 1.1 s (2 kept for cancels)
        done = await tr.cancel_all(a.symbol)
        assert len(done) == 50 and not a.open(sim) and refusals(sim, V) == 0

    a.run(body, {"order_rate_limit": 20})


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_the_budget_follows_the_remaining_the_venue_reports(transport: str) -> None:
    """The venue grants 5 creates a second, the session declares 20: one at a time, it never sends a
    create the venue has no room for — over REST (the answer's headers) and over the trade socket
    (the answer's ``header``; before, that one was not read and the venue refused)."""
    a = account(f"bybit-status-{transport}")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        for _ in range(12):
            await a.resting_buy(sim, tr)
        assert refusals(sim, V) == 0 and len(a.open(sim)) == 12

    a.run(body, {"order_rate_limit": 5}, transport=transport)


def test_a_10006_blocks_that_endpoint_for_its_window_and_nothing_is_sent_inside() -> None:
    a = account("bybit-10006")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        spent = WeightLimiter(20, 1.0)  # another process of the UID spent the create limit
        spent.charge(time.monotonic(), 20)
        sim.venue(V).trade.limiters[(a.key, "/v5/order/create")] = spent
        with pytest.raises(RateLimitError) as e:
            await a.resting_buy(sim, tr)
        assert e.value.retry_after == pytest.approx(1.1)  # type: ignore[attr-defined]
        creates = [x for x in exchanges(sim, V) if x[1] == CREATE]
        # The refused create's arrival at the venue (its log's clock): the block began after it, when
        # the answer reached the session — not at the test's later reading, late on a busy CPU.
        t_refused, sent = creates[-1][0], len(creates)
        with pytest.raises(RateLimitError):
            await a.resting_buy(sim, tr)
        assert len([x for x in exchanges(sim, V) if x[1] == CREATE]) == sent  # nothing sent inside
        assert len(await tr.open_orders(a.symbol)) == 0  # another endpoint is not blocked
        tr.budget.max_wait_s = 5.0
        assert (await a.resting_buy(sim, tr)).status == "new"
        last = [x for x in exchanges(sim, V) if x[1] == CREATE][-1]
        assert last[0] >= t_refused + 1.1 - 0.01 and spent.refused == 1, last[0] - t_refused

    a.run(body, {"order_rate_limit": 20}, rate_wait=0)


def test_a_trade_socket_10006_blocks_until_the_reset_its_header_gives() -> None:
    """venues.md §3.4 (WS order entry): the answer "carries `retCode` and `data` plus a header holding
    `X-Bapi-Limit`, `X-Bapi-Limit-Status`, `X-Bapi-Limit-Reset-Timestamp` and `Timenow`"; §3.5: "API
    limit: `retCode 10006 "Too many visits!"`, per UID, per second". The simulator's create window is
    made 1.8 s (spent by another process of the UID) and its clock runs 20 s ahead of ours: a socket
    10006 blocks the create endpoint until the reset the answer's header gives, read on the venue's
    clock — 1.8 s, not the limit's default second (before: 1.1 s, and the next create went into the
    refused window and was refused again) nor 21.8 s (the reset read against the local clock).
    Truth: the simulator's own limiter (when its window ends, what it refused)."""
    a = account("bybit-ws-10006")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint(V, 0).skew(20_000)
        await tr.wire.measure_clock(3)  # the venue's clock as the session signs with it
        spent = spend(WeightLimiter(20, 1.8))
        sim.venue(V).trade.limiters[(a.key, "/v5/order/create")] = spent
        reset_at = spent.reset_at()  # monotonic: when the venue's window ends
        refused_at: list[float] = []  # when the venue refused a create (its clock)
        charge = spent.charge

        def charged(now: float, weight: int = 1) -> tuple[str, float]:
            verdict = charge(now, weight)
            if verdict[0] != "ok":
                refused_at.append(now)
            return verdict

        spent.charge = charged  # type: ignore[method-assign]
        with pytest.raises(RateLimitError) as e:
            await a.resting_buy(sim, tr)
        left = reset_at - time.monotonic()
        wait = e.value.retry_after  # type: ignore[attr-defined]
        # What was left of the window when the answer reached the session: less than when the venue
        # refused, more than at the test's reading after the raise. (Before: the upper bound from that
        # reading too, which a process waiting for a CPU takes late — an on-time block looked too long.)
        before = reset_at - refused_at[0]
        assert spent.refused == 1 and left - 0.1 < wait < before + 0.2, (wait, left, before)
        with pytest.raises(RateLimitError):  # refused by the budget: nothing sent inside the window
            await a.resting_buy(sim, tr)
        assert spent.refused == 1
        tr.budget.max_wait_s = 5.0
        assert (await a.resting_buy(sim, tr)).status == "new"
        # Sent once the venue's window had ended (its next window opened with it), not refused again,
        # and not held long past the reset.
        assert spent.refused == 1 and reset_at <= spent.start < reset_at + 0.4, spent.start - reset_at

    a.run(body, {"order_rate_limit": 20}, transport="ws", rate_wait=0)


def test_a_403_access_too_frequent_blocks_everything_for_ten_minutes() -> None:
    a = account("bybit-403")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(V, 0)
        other = HttpClient(ep.rest_base, timeout=5.0)  # another process on the address
        await other.connect()
        try:
            while (await other.request("GET", "/v5/market/time")).status != 403:
                pass
        finally:
            await other.close()
        t403 = time.monotonic()
        with pytest.raises(RateLimitError) as e:
            await tr.open_orders(a.symbol)
        assert e.value.retry_after == 600.0  # type: ignore[attr-defined]
        for call in (tr.open_orders(a.symbol), a.resting_buy(sim, tr), tr.cancel_all(a.symbol)):
            with pytest.raises(RateLimitError):
                await call
        # One 403 reached the session; nothing after it.
        assert len([x for x in exchanges(sim, V) if x[0] > t403]) == 1
        assert tr.budget.check({"IP": 1}, "cancel") > 599

    a.run(body, {"ip_rate_limit": 30}, rate_wait=0)
