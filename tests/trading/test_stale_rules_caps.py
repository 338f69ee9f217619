"""Since 2026-12-07 a refusal here by a grid rule has the session read the venue's instrument
list. A template's rules fold in the user's own ``max_order_qty`` (``RiskGate.capped``), so a send
over that cap is ``InvalidOrder`` rule ``max_qty`` too — and had the venue's list read (exchangeInfo,
weight 20 on Binance) every ``RECHECK_S`` while a strategy runs into its own cap, a read that can
never lift it. The venue's own bound still reads it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from test_risk import SYMBOL, _below, _run
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.trading.risk import RiskLimits
from tickwire.trading.session import TradingSession


def test_a_template_send_over_the_users_own_qty_cap_reads_no_list() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        p, _ = await _below(sim, tr, 50)
        tmpl = tr.template(SYMBOL, "buy")
        reads = tr.rules_recheck.reads
        with pytest.raises(InvalidOrder) as e:
            tmpl.send(int(p.scaleb(tmpl.price_scale)), int(Decimal("0.001").scaleb(tmpl.qty_scale)))
        assert e.value.rule == "max_qty"  # type: ignore[attr-defined]
        await asyncio.sleep(0.2)
        assert tr.rules_recheck.reads == reads
        # Under the venue's minimum value: still read.
        with pytest.raises(InvalidOrder) as e:
            tmpl.send(int(p.scaleb(tmpl.price_scale)), 1)
        assert e.value.rule in ("min_notional", "min_qty"), e.value.rule  # type: ignore[attr-defined]
        assert tr.rules_recheck.reads == reads + 1

    _run(body, risk=RiskLimits(max_order_qty=Decimal("0.0005")))
