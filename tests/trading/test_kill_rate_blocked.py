"""The kill switch while the venue's own rate-limit refusal (a 429 with its Retry-After) blocks the
session's budget, on a session that never waits for the budget (``rate_wait=0``, the choice of a bot
that would rather skip an order than send it late): checked against the simulator's order list."""

from __future__ import annotations

from kill_cases import on_two_symbols, open_at_venue, run
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def test_a_kill_thrown_inside_a_short_429_block_waits_it_out_and_cancels_everything() -> None:
    """The venue refused a request with 429 and ``Retry-After: 0.5`` just before the kill (the budget
    blocked 0.5 s on every lane, as ``Wire.rate_refused`` blocks it). Before: every request of the
    kill was refused by the budget at once (``rate_wait=0`` is the new orders' choice), nothing was
    cancelled, and the account's orders stayed working at the venue."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        tr.budget.refused(None, 0.5)  # what a 429 with Retry-After: 0.5 leaves
        report = await tr.kill("runaway")
        left = open_at_venue(sim, "binance")
        assert left == [], f"{len(left)} orders left working; errors: {report.errors}"
        assert report.complete and len(report.cancelled) == 2

    run("binance", body, rate_wait=0)
