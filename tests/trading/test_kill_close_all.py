"""The kill switch's account-wide close (Clarofinlore ``POST /v1/positions/close-all``) whose answer
is lost, checked against the simulator's own positions and request log: the positions are listed
again, and only while one is still open is the close sent once more — a close-all flattens what is
open when the venue runs it, so a second closes nothing twice."""

from __future__ import annotations

import importlib
from typing import Any

from kill_cases import requests
from session_cases import SimAccount
from tickwire.errors import RequestTimeoutError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

CLARO: SimAccount = importlib.import_module("test_session_clarofinlore").CLARO
CLOSE_ALL = "POST /v1/positions/close-all"


async def holding(sim: Simulator, tr: TradingSession) -> None:
    """A long position and a resting order at the simulator."""
    await tr.place_order(CLARO.symbol, "buy", "market", "0.5")
    await CLARO.rest_below(sim, tr, 20)
    assert sim.venue(CLARO.venue).engine.position(CLARO.key, CLARO.symbol) > 0


def test_a_close_all_whose_answer_is_lost_but_applied_leaves_a_complete_report() -> None:
    """The venue runs the close-all and its answer is lost. The kill lists the positions again —
    flat — and sends nothing more: the report complete (no failed step), its positions flat, as the
    simulator has it, one close-all at the venue (before: "close positions" a failed step, the
    report not complete though the account was flat)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await holding(sim, tr)
        sim.endpoint(CLARO.venue, 0).lose_answer(CLOSE_ALL)
        report = await tr.kill("flatten")
        assert sim.venue(CLARO.venue).engine.position(CLARO.key, CLARO.symbol) == 0
        assert report.positions == () and report.errors == () and report.complete, report
        assert report.closing == ()  # the lost answer's orders are not known
        assert requests(sim, CLARO.venue).count(CLOSE_ALL) == 1

    CLARO.run(body, timeout=0.5)


def test_a_close_all_that_never_reached_the_venue_is_sent_once_more_while_positions_are_open() -> None:
    """The first close-all's request times out without reaching the venue. The kill lists the
    positions — still open — and sends the close once more: flat at the simulator, the report complete
    with the second close's orders (before: "close positions" failed, the position left open)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await holding(sim, tr)
        send_lane, lost = tr.send_lane, []

        async def first_lost(call: Any, lane: Any) -> Any:
            if f"{call.method} {call.path}" == CLOSE_ALL and not lost:
                lost.append(call)
                raise RequestTimeoutError("clarofinlore: no answer (the request never arrived)")
            return await send_lane(call, lane)

        tr.send_lane = first_lost  # type: ignore[method-assign]
        report = await tr.kill("flatten")
        assert len(lost) == 1
        assert sim.venue(CLARO.venue).engine.position(CLARO.key, CLARO.symbol) == 0
        assert report.positions == () and report.complete, report
        assert [(o.side, o.status) for o in report.closing] == [("sell", "filled")], report
        assert requests(sim, CLARO.venue).count(CLOSE_ALL) == 1  # the first never arrived

    CLARO.run(body, timeout=0.5)
