"""A quote rule's bad arguments refused as every other bad order input is: ``InvalidOrder`` (a
``ValueError``), no rule armed on the market-data session, nothing written to the venue."""

from __future__ import annotations

from typing import Any

import pytest
from quote_cases import QTY, run
from session_cases import settle
from template_cases import SYMBOL
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

BAD: list[tuple[str, dict[str, Any]]] = [
    # Past the core's i64 offset: before, a bare OverflowError.
    ("an offset past any price", {"offset_ticks": 2**70}),
    ("a negative offset past any price", {"offset_ticks": -(2**70)}),
    # Before, the core's bare ValueError / TypeError, not a tickwire error.
    ("reference in capitals", {"reference": "BID"}),
    ("reference None", {"reference": None}),
    ("when misspelt", {"when": "Change"}),
]


@pytest.mark.parametrize(("what", "kw"), BAD, ids=[w for w, _ in BAD])
def test_bad_rule_arguments_are_invalid_order_and_arm_nothing(what: str, kw: dict[str, Any]) -> None:
    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        tmpl = tr.template(SYMBOL, "buy", tif="IOC")
        with pytest.raises(InvalidOrder):
            tmpl.quote(md, QTY, **kw)
        assert len(md.quote_rules) == 0 and tr.quotes == []
        sim.advance(3, "binance", SYMBOL)  # ticks a rule armed anyway would fire on
        # A good rule armed after the refusal fires on the next tick: the ticks above reached the
        # route, and the refused arguments armed nothing that wrote.
        q = tmpl.quote(md, QTY, offset_ticks=-50, when="every")
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.sent >= 1 and q.in_flight is None, "the good rule's order")
        q.stop()
        assert len(sim.venue("binance").engine.orders) == q.sent  # each order at the venue the good rule's

    run(body)
