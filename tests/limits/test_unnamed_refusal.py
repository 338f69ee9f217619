"""A 429 that names no limit and says nothing of when to come back (no known code, no
``Retry-After``): which of the venue's windows ran out is not known, so every limit is blocked — for
the shortest window first, doubling while such refusals go on. Before stop 43, one such answer
blocked Binance spot for its longest window, the day of order counts (86,400 s): a kill switch
thrown after it could cancel nothing (found by the kill review's probe)."""

from __future__ import annotations

import pytest
from test_session_binance import BINANCE
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def test_one_unexplained_429_blocks_for_the_shortest_window_not_a_day() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        resting = await a.rest_below(sim, tr, 30)
        sim.endpoint(a.venue, 0).fail(1, status=429)  # {"code": -1001}, no Retry-After
        with pytest.raises(RateLimitError):
            await a.rest_below(sim, tr, 31)
        with pytest.raises(RateLimitError) as blocked:
            await tr.cancel_order(a.symbol, client_id=resting.client_id)
        shortest = min(lim.window_s for lim in tr.budget.limits.values())
        assert blocked.value.retry_after is not None
        assert blocked.value.retry_after <= shortest + 0.2, blocked.value.retry_after
        assert [o.client_id for o in a.open(sim)] == [resting.client_id]  # nothing went out meanwhile

    a.run(body, private_stream=False, rate_wait=0)
