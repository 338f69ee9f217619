"""Binance's order-count windows as the budget keeps them: a count another process's orders opened
is held a whole window after the venue reports it, and a refusal for the order count over the WS API
blocks for the answer's ``retryAfter`` — checked against the simulator's own request log and
limiters."""

from __future__ import annotations

import asyncio
import time

import pytest
import tickwire
from test_binance_limits import resting_buy, run, statuses
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.venues import binance


def _order_refusals(sim: Simulator) -> int:
    return sum(lim.refused for pair in sim.venue("binance").orders.order_counts.values() for lim in pair)


async def _at_venue_phase(sim: Simulator, window_s: float, phase_s: float) -> None:
    """Sleeps until the venue's clock is ``phase_s`` into one of its ``window_s`` grid windows."""
    now = sim.endpoint("binance", 0).now_ms() / 1000
    await asyncio.sleep((phase_s - now % window_s) % window_s)


def test_an_order_count_reported_is_held_for_a_whole_window_not_to_the_clocks_boundary() -> None:
    """Another session on a second key of the account (its own budget: the venue's count is all this
    session learns of it) places 8 of the 10 orders a 2 s window allows, 0.6 s before a boundary of
    the venue's clock; this session's order is answered with the count, 9. The venue's window opened
    with the other session's first order (venues.md does not say Binance's order counts run on its
    clock, and the simulator's do not): it holds the 9 for 2 s. Before, the budget dropped the count
    at the clock's boundary + 0.5 s (``aligned``), sent into the venue's full window and met 429s."""
    window = 2

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.venue("binance").add_key(ApiKey("lim-count-2", secret=b"s3cret-2", account="lim-count"))
        async with tickwire.trade(
            "binance", credentials=binance.Signer("lim-count-2", "s3cret-2"),
            endpoints=sim.urls()["binance"], adopt=False, private_stream=False, rate_wait=0,
        ) as other:  # fmt: skip
            await asyncio.sleep(window + 0.2)  # the sessions' starts out of every window
            await _at_venue_phase(sim, window, window - 0.9)
            for _ in range(8):
                await resting_buy(sim, other)
            await resting_buy(sim, tr)
            # Eight tasks at once, each waiting for room as long as the window lasts.
            got = await asyncio.gather(*(resting_buy(sim, tr) for _ in range(8)), return_exceptions=True)
        assert all(not isinstance(g, BaseException) or isinstance(g, RateLimitError) for g in got), got
        assert 429 not in statuses(sim), statuses(sim)[-12:]
        assert _order_refusals(sim) == 0

    run(
        body, "lim-count", {"order_limit_10s": 10, "order_window_s": window},
        adopt=False, private_stream=False, rate_wait=3.0,
    )  # fmt: skip


def test_an_order_count_refusal_on_the_ws_api_blocks_for_the_venues_retry_after() -> None:
    """Orders of another process fill the account's 2 s order window after this session's first
    order; its next order over the WS API meets the venue's 429 (-1015), whose ``data.retryAfter``
    (venues.md §1.3: rate-limited responses include it) says when the window ends. The session blocks
    until then, not for a day; nothing reaches the venue inside the block, and the order goes through
    once it has passed (before, the simulator's WS API answer dropped REST's ``Retry-After`` and gave
    no ``retryAfter``: the session blocked new orders for its longest order window, 86,400.1 s)."""
    window = 2

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await resting_buy(sim, tr)
        [(short, _)] = sim.venue("binance").orders.order_counts.values()
        # The rest of the window, by orders of another process the session never saw.
        assert short.charge(time.monotonic(), short.limit - short.used)[0] == "ok"
        refused_at: list[float] = []  # when the venue refused an order (its clock)
        charge = short.charge

        def charged(now: float, weight: int = 1) -> tuple[str, float]:
            verdict: tuple[str, float] = charge(now, weight)
            if verdict[0] != "ok":
                refused_at.append(now)
            return verdict

        short.charge = charged
        with pytest.raises(RateLimitError) as e:
            await resting_buy(sim, tr)
        assert short.refused == 1  # the venue's own refusal
        blocked = e.value.retry_after  # type: ignore[attr-defined]
        # What was left of the window when the venue refused, rounded up to whole seconds. (Timed at
        # the venue's refusal, not at the test's reading after the raise, late on a busy CPU.)
        t_refused = refused_at[0]
        assert 0 < blocked <= short.reset_at() - t_refused + 1.05, blocked
        with pytest.raises(RateLimitError):
            await resting_buy(sim, tr)
        assert short.refused == 1  # refused here: nothing reached the venue inside the block
        tr.budget.max_wait_s = blocked + 2.0
        assert (await resting_buy(sim, tr)).status == "new"
        # It reached the venue once the block had passed since the refusal (the session's block began
        # later, when the answer came): the window it opened starts at its arrival.
        assert short.start >= t_refused + blocked - 0.05, (short.start - t_refused, blocked)
        assert short.refused == 1 and 429 not in statuses(sim)

    run(
        body, "lim-wsra", {"order_limit_10s": 10, "order_window_s": window},
        transport="ws", adopt=False, private_stream=False, rate_wait=0,
    )  # fmt: skip
