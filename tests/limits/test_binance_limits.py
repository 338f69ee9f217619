"""Binance spot's limits against the simulator, measured where the venue measures them: the simulator's
own log of every request it received, its status and Retry-After. The session learns the limits from
``exchangeInfo`` (the simulator announces what it enforces), weighs each call as documented, and
never sends to a limit inside a window the venue announced with a 429."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from hypothesis import given
from hypothesis import strategies as st
from tickwire.errors import OrderNotFound, RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.transport.http import HttpClient
from tickwire.venues import binance

SYMBOL = "BTCUSDT"
Body = Callable[[Simulator, TradingSession], Awaitable[None]]


def run(
    body: Body, key: str, profile: dict[str, Any], timeouts: dict[str, float] | None = None, **kw: Any
) -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=0, depth=20, profiles={"binance": profile},
                             timeouts=timeouts or {}) as sim:  # fmt: skip
            sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
            sim.fund("binance", key, {"USDT": "100000000", "BTC": "100"})
            async with tickwire.trade(
                "binance", credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()["binance"], **kw
            ) as tr:
                await body(sim, tr)

    asyncio.run(go())


def statuses(sim: Simulator) -> list[int]:
    return [status for _, _, status, _ in sim.endpoint("binance", 0).exchanges]


async def resting_buy(sim: Simulator, tr: TradingSession) -> Any:
    """One minimal buy far below the touch (it rests; nothing fills)."""
    rules = tr.rules[SYMBOL]
    price = sim.book("binance", SYMBOL).bids[0][0] - 200 * rules.tick_size
    lots = (rules.min_notional or Decimal(0)) / price / rules.lot_size
    qty = max(rules.min_qty, (lots.to_integral_value(rounding="ROUND_CEILING") + 1) * rules.lot_size)
    return await tr.place_order(SYMBOL, "buy", "limit", qty, price)


def test_limits_come_from_exchange_info() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.budget.limits["ORDERS_2S"].limit == 7 and tr.budget.limits["ORDERS_2S"].window_s == 2.0
        assert tr.budget.limits["WEIGHT_1M"].limit == 6000

    run(body, "lim-info", {"order_limit_10s": 7, "order_window_s": 2})


def test_a_burst_of_500_orders_never_crosses_the_announced_order_count() -> None:
    """100 orders per second announced; 500 sent by 8 concurrent workers as fast as the session lets
    them go."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        gate = asyncio.Semaphore(8)

        async def one() -> Any:
            async with gate:
                return await resting_buy(sim, tr)

        t0 = time.monotonic()
        placed = await asyncio.gather(*(one() for _ in range(500)))
        elapsed = time.monotonic() - t0
        assert all(o.status == "new" for o in placed)
        engine = sim.venue("binance").engine
        assert sum(1 for o in engine.orders.values() if o.open) == 500
        assert 429 not in statuses(sim) and 418 not in statuses(sim)
        # 90 a second (the reserve keeps 10 for cancels): at least 4 windows went by.
        assert elapsed > 4.0
        # Cancels still go through at the limit (they use the reserve and weigh little).
        done = await tr.cancel_all(SYMBOL)
        assert len(done) == 500 and not any(o.open for o in engine.orders.values())

    # 500 orders rest: the symbol's open-order limit (MAX_NUM_ORDERS, 200 by default) set above them.
    run(body, "lim-burst", {"order_limit_10s": 100, "order_window_s": 1, "max_open_orders": 1000})


def test_a_caller_that_will_not_wait_gets_rate_limited_at_once_and_nothing_is_sent() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        for _ in range(9):  # 10 a window, one kept for cancels
            await resting_buy(sim, tr)
        sent, tracked = len(sim.endpoint("binance", 0).exchanges), [o.client_id for o in tr.tracker]
        with pytest.raises(RateLimitError) as e:
            await resting_buy(sim, tr)
        assert 0 < e.value.retry_after <= 10.5  # type: ignore[attr-defined]
        assert len(sim.endpoint("binance", 0).exchanges) == sent  # refused before the wire
        # Never written: withdrawn, as if never tracked (no rejected order, nothing in flight).
        assert [o.client_id for o in tr.tracker] == tracked and tr.tracker.in_flight() == []
        # A cancel still fits.
        o = next(o for o in tr.tracker if o.status == "new")
        assert (await tr.cancel_order(SYMBOL, client_id=o.client_id)).status == "canceled"
        assert 429 not in statuses(sim)

    run(body, "lim-nowait", {"order_limit_10s": 10}, rate_wait=0)


def test_a_429_from_traffic_the_session_did_not_see_blocks_it_for_the_retry_after() -> None:
    """Another process on the same address spends the weight; the session's next call gets the 429 and
    nothing more reaches the venue until Retry-After has passed — so no 418 ban follows."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint("binance", 0)
        other = HttpClient(ep.rest_base, timeout=5.0)
        await other.connect()
        try:
            used = 0
            while used < 50:  # exactly up to the limit, whatever the session's start weighed
                r = await other.request("GET", "/api/v3/time")
                used = int(r.headers["x-mbx-used-weight-3s"])
            assert 429 not in statuses(sim)
        finally:
            await other.close()
        with pytest.raises(RateLimitError) as e:
            await tr.open_orders(SYMBOL)
        blocked = e.value.retry_after  # type: ignore[attr-defined]
        [(t429, _, _, announced)] = [x for x in ep.exchanges if x[2] == 429]
        assert announced is not None and blocked == announced
        with pytest.raises(RateLimitError):
            await tr.open_orders(SYMBOL)
        assert not [x for x in ep.exchanges if x[0] > t429]  # nothing sent inside the window
        tr.budget.max_wait_s = 30.0
        assert await tr.open_orders(SYMBOL) == []  # waits out the window, then goes through
        after = [x for x in ep.exchanges if x[0] > t429]
        assert after and after[0][0] >= t429 + announced - 0.05 and after[0][2] == 200
        assert 418 not in statuses(sim)

    run(body, "lim-429", {"weight_limit": 50}, timeouts={"weight_window": 3.0, "ban": 30.0}, rate_wait=0)


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_ban_is_waited_out_as_long_as_the_venue_says_over_either_transport(transport: str) -> None:
    """Another process on the address spends the weight until the venue warns (429); the session's
    next request is banned (418) for 8 s, far longer than the 2 s window. The session blocks for the
    ban's length, whether the venue said it in ``Retry-After`` (REST) or in the WS API error's
    ``data.retryAfter`` (the ban's end): one 418, nothing resent into the ban (before, over the WS API
    the block was the window's and three more requests reached the banned venue)."""
    ban = 8.0

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint("binance", 0)
        lim = sim.venue("binance").limiter(ep)
        await asyncio.sleep(2.2)  # the session's start out of the window
        other = HttpClient(ep.rest_base, timeout=5.0)
        await other.connect()
        try:
            while (await other.request("GET", "/api/v3/ping")).status != 429:
                pass
        finally:
            await other.close()
        refused = lim.refused
        with pytest.raises(RateLimitError) as e:
            await tr.order_status(SYMBOL, client_id="nope")
        assert lim.refused - refused == 1  # the one banned request
        assert e.value.retry_after == pytest.approx(ban, abs=0.3)  # type: ignore[attr-defined]

    run(
        body, f"lim-ban-{transport}", {"weight_limit": 40}, timeouts={"weight_window": 2.0, "ban": ban},
        transport=transport, adopt=False, private_stream=False, rate_wait=3.0,
    )  # fmt: skip


def test_the_ws_api_answers_rate_limits_array_corrects_the_budget() -> None:
    """Over the WS API the usage comes in each answer's ``rateLimits`` (no headers): weight another
    process spent on the same address is counted as soon as the session's next answer tells it."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint("binance", 0)
        other = HttpClient(ep.rest_base, timeout=5.0)
        await other.connect()
        try:
            for _ in range(8):  # depth limit=100 weighs 5: 40 of the 50
                await other.request("GET", "/api/v3/depth", query={"symbol": SYMBOL, "limit": "100"})
        finally:
            await other.close()
        window = tr.budget.windows["WEIGHT_3S"]
        before = window.used(time.monotonic())
        o = await resting_buy(sim, tr)  # over the socket: no REST exchange for it
        assert not [x for x in ep.exchanges if x[1] == "POST /api/v3/order"]
        assert before < 40 <= window.used(time.monotonic())  # the venue's count, not only ours
        assert sim.venue("binance").engine.orders[int(o.order_id or 0)].open

    run(body, "lim-ws", {"weight_limit": 50}, timeouts={"weight_window": 3.0}, transport="ws")


def test_ws_api_reconnects_are_counted_as_the_venue_counts_them() -> None:
    """Binance charges 2 weight for each WS API connection (venues.md §1.3), and the private stream's
    subscription is a request; the session's order socket and private stream are both WS API
    connections. Five times the venue cuts them and they reconnect, nothing sent over REST meanwhile
    (no listing of open orders to adopt at start): the budget's count never falls below the
    simulator's (before: the connects were counted nowhere and the subscriptions' answers never read,
    so a reconnect storm spent the venue's weight unseen — 25 weight behind after five)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        stream, sock = tr.stream, tr.orders_ws
        assert stream is not None and sock is not None
        window = tr.budget.windows["WEIGHT_1M"]
        venue = sim.venue("binance").limiter(sim.endpoint("binance", 0))  # type: ignore[attr-defined]
        start = venue.used
        for n in range(2, 7):
            sim.endpoint("binance", 0).drop()
            for _ in range(500):
                if stream.connects >= n and sock.connects >= n:
                    break
                await asyncio.sleep(0.01)
            assert stream.connects >= n and sock.connects >= n
        assert venue.used >= start + 5 * 5  # two connects and a subscription each time
        assert window.used(time.monotonic()) >= venue.used

    run(body, "lim-conn", {}, transport="ws", adopt=False)


def test_ws_usage_is_read_from_the_documented_rate_limits_array() -> None:
    def limit(kind: str, unit: str, n: int, cap: int, count: int) -> dict[str, Any]:
        return {"rateLimitType": kind, "interval": unit, "intervalNum": n, "limit": cap, "count": count}

    answer = {
        "id": "1", "status": 200, "result": {},
        "rateLimits": [
            limit("REQUEST_WEIGHT", "MINUTE", 1, 6000, 70),
            limit("ORDERS", "SECOND", 10, 100, 3),
            limit("ORDERS", "DAY", 1, 200000, 9),
        ],
    }  # fmt: skip
    assert binance.Orders.read_ws_usage(answer) == {"WEIGHT_1M": 70, "ORDERS_10S": 3, "ORDERS_1D": 9}
    assert binance.Orders.read_ws_usage({"id": "1", "status": 200}) == {}


@pytest.mark.parametrize("ints", [False, True])  # True: the first write is the one-call path's
def test_a_template_order_refused_with_429_waits_the_retry_after_and_is_placed_once(ints: bool) -> None:
    """The template path takes the venue's rate-limit refusal as the request path does: the window is
    blocked for the Retry-After (process-wide), then the same order is signed anew and sent once more."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint("binance", 0)
        rules = tr.rules[SYMBOL]
        price = sim.book("binance", SYMBOL).bids[0][0] - 200 * rules.tick_size
        qty = rules.min_qty * 1000
        tmpl = tr.template(SYMBOL, "buy")
        other = HttpClient(ep.rest_base, timeout=5.0)
        await other.connect()
        try:
            used = 0
            while used < 50:  # the address's weight spent by someone else
                r = await other.request("GET", "/api/v3/time")
                used = int(r.headers["x-mbx-used-weight-3s"])
        finally:
            await other.close()
        if ints:
            order = await tmpl.send(int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale)))
        else:
            order = await tmpl.send(price, qty)
        [(t429, op, _, announced)] = [x for x in ep.exchanges if x[2] == 429]
        assert op == "POST /api/v3/order" and announced is not None
        after = [x for x in ep.exchanges if x[0] > t429]
        assert [x[1] for x in after] == ["POST /api/v3/order"] and after[0][2] == 200
        assert after[0][0] >= t429 + announced - 0.05  # nothing inside the announced block
        engine = sim.venue("binance").engine
        assert [o.client_id for o in engine.orders.values()] == [order.client_id]
        assert order.status == "new" and tr.wire.rate_resends == 1

    windows = {"weight_window": 3.0, "ban": 30.0}
    run(body, f"lim-429t{int(ints)}", {"weight_limit": 50}, timeouts=windows, rate_wait=10)


def _usage_by_hand(headers: dict[str, str]) -> dict[str, int]:
    """The usage headers read as the venue documents them, one name at a time, nothing remembered."""
    out = {}
    for name, value in headers.items():
        for prefix, kind in (("x-mbx-used-weight-", "WEIGHT_"), ("x-mbx-order-count-", "ORDERS_")):
            if name.startswith(prefix) and value.strip().isdigit():
                out[kind + name[len(prefix) :].upper()] = int(value)
    return out


_NAMES = st.sampled_from(
    ["x-mbx-used-weight-1m", "x-mbx-used-weight-", "x-mbx-order-count-10s", "x-mbx-order-count-1d",
     "content-length", "content-type", "x-mbx-uuid", "x-mbx-used-weight", "retry-after"]
) | st.builds(lambda p, s: p + s, st.sampled_from(["x-mbx-used-weight-", "x-mbx-order-count-", "x-"]),
              st.text("0123456789smhdSMHD-", max_size=4))  # fmt: skip
_VALUES = st.sampled_from(["0", "17", " 5 ", "", "x", "12a", "٣", "00042"])


@given(st.lists(st.dictionaries(_NAMES, _VALUES, max_size=8), min_size=1, max_size=6))
def test_usage_headers_read_as_documented_answer_after_answer(answers: list[dict[str, str]]) -> None:
    """The reader remembers each header name's limit: answer after answer, it reads what a reading of
    every name afresh reads."""
    for headers in answers:
        assert binance.limits.read_usage(headers) == _usage_by_hand(headers)


def test_a_rotated_key_inherits_the_accounts_order_count_and_never_crosses_it() -> None:
    """Binance counts orders per account, not per key: 9 orders on the first key (10 a window, one kept
    for cancels), then the session rotates to the account's second key. The next orders are refused by
    the budget, not sent (before: the new key's windows started empty, and the venue answered 429)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        for _ in range(9):
            await resting_buy(sim, tr)
        sim.venue("binance").add_key(ApiKey("lim-rot-2", secret=b"s3cret-2", account="lim-rot"))
        await tr.rotate(binance.Signer("lim-rot-2", "s3cret-2"))
        assert tr.budget.account != "lim-rot" and tr.health()["rotations"] == 1
        sent = len(sim.endpoint("binance", 0).exchanges)
        got = await asyncio.gather(resting_buy(sim, tr), resting_buy(sim, tr), return_exceptions=True)
        assert all(isinstance(g, RateLimitError) for g in got), got
        assert len(sim.endpoint("binance", 0).exchanges) == sent and 429 not in statuses(sim)
        assert sum(1 for o in sim.venue("binance").engine.orders.values() if o.open) == 9

    run(body, "lim-rot", {"order_limit_10s": 10}, rate_wait=0)


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_over_the_ws_api_weight_spent_by_another_process_is_read_from_the_answers(venue: str) -> None:
    """Another process on the address spends all but 10 of the venue's weight; the session, on the
    WS API, reads the venue's count from each answer's ``rateLimits`` and stops before the venue
    refuses — no 429 (before, USDⓈ-M's grammar read no WS usage: it met the venue's 429)."""

    async def go() -> None:
        limit = 60
        async with Simulator([venue], seed=5, rate=0, depth=20, profiles={venue: {"weight_limit": limit}},
                             timeouts={"weight_window": 60.0, "ban": 60.0}) as sim:  # fmt: skip
            key = f"lim-wsu-{venue}"
            sim.venue(venue).add_key(ApiKey(key, secret=b"s3cret"))
            sim.fund(venue, key, {"USDT": "100000000", "BTC": "100"})
            async with tickwire.trade(
                venue, credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()[venue],
                transport="ws", adopt=False, private_stream=False, rate_wait=0,
            ) as tr:  # fmt: skip
                ep = sim.endpoint(venue, 0)
                lim = sim.venue(venue).limiter(ep)
                other = HttpClient(ep.rest_base, timeout=5.0)
                await other.connect()
                try:
                    ping = "/fapi/v1/ping" if venue == "binance-usdm" else "/api/v3/ping"
                    while lim.used < limit - 10:
                        assert (await other.request("GET", ping)).status == 200
                finally:
                    await other.close()
                with pytest.raises(RateLimitError):
                    for i in range(limit):
                        with contextlib.suppress(OrderNotFound):
                            await tr.order_status(SYMBOL, client_id=f"nope{i}")
                assert lim.refused == 0

    asyncio.run(asyncio.wait_for(go(), 30))


def test_the_http_clients_resend_of_a_get_is_charged_as_the_venue_counts_it() -> None:
    """A GET goes out on a kept-alive connection, the venue answers it in its books (the weight
    spent) and the connection closes before the answer: the HTTP client sends it once more on a
    fresh one. The venue received two; the budget charged two, each the call's weight (before, one)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint("binance", 0)
        [w] = [w for n, w in tr.budget.windows.items() if n.startswith("WEIGHT")]

        async def charged() -> int:
            before = w.used(time.monotonic())
            assert await tr.open_orders(SYMBOL) == []
            return int(w.used(time.monotonic()) - before)

        await charged()  # a kept-alive connection to reuse; the venue's usage header read
        one = await charged()
        sent = [x[1] for x in ep.exchanges].count("GET /api/v3/openOrders")
        ep.lose_answer("GET /api/v3/openOrders")
        assert await charged() == 2 * one > 0
        assert [x[1] for x in ep.exchanges].count("GET /api/v3/openOrders") == sent + 2

    run(body, "lim-resend", {"weight_limit": 1000}, timeouts={"weight_window": 60.0})


def test_no_room_for_the_resend_refuses_it_here_and_blocks_nothing() -> None:
    """The budget has room for the GET but not for the HTTP client's resend of it (the first's answer
    lost): the resend is refused here, unsent — and blocks nothing (before, that local refusal was
    taken for the venue's and blocked every limit for a minute, orders and cancels included)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep, b = sim.endpoint("binance", 0), tr.budget
        assert await tr.open_orders(SYMBOL) == []  # a kept-alive connection
        cost = tr.grammar.cost(tr.grammar.open_orders(SYMBOL))  # type: ignore[attr-defined]
        while b.check({k: 2 * v for k, v in cost.items()}, "query") == 0:
            assert b.try_take({"WEIGHT": 1}, "query") == 0  # others' use of the address
        ep.lose_answer("GET /api/v3/openOrders")
        with contextlib.suppress(RateLimitError):
            await tr.open_orders(SYMBOL)
        now = time.monotonic()
        assert [n for n, w in b.windows.items() if w.state()[2] > now and not n.startswith("WEIGHT")] == []
        assert b.refusals == 0

    run(body, "lim-resend-room", {"weight_limit": 1000}, timeouts={"weight_window": 60.0}, rate_wait=0.5)


def test_one_orders_trades_weigh_five_as_the_venue_counts_them() -> None:
    """``GET /api/v3/myTrades`` weighs 5 with ``orderId`` — how reconciliation asks for an order's fills —
    and 20 without (binance-spot-api-docs CHANGELOG 2025-04-07). The budget charges what the venue
    counts (before, 20 for both: fills catch-up throttled four times harder than the venue asks)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        [w] = [w for n, w in tr.budget.windows.items() if n.startswith("WEIGHT")]
        g: Any = tr.grammar
        assert await tr.open_orders(SYMBOL) == []  # a kept-alive connection, the usage header read

        async def charged(call: Any) -> int:
            before = w.used(time.monotonic())
            await tr.send(call)
            return int(w.used(time.monotonic()) - before)

        assert await charged(g.order_fills(SYMBOL, "1")) == 5
        whole = g.fills(SYMBOL, None)
        assert g.cost(whole)["WEIGHT"] == 20 and await charged(whole) == 20

    run(body, "lim-mytrades", {"weight_limit": 1000}, timeouts={"weight_window": 60.0})
