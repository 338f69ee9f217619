"""A quote rule whose book prices fall off the session's grid after the venue makes its
tick finer. The rule is refused before the write (``InvalidOrder`` rule ``tick_size``, from Rust) and
stops — and, as for ``place_order``/``send``/``amend`` (``stale_rules.LOCAL_GRID_RULES``), the
instrument list must be read again: else the session keeps the old grid until the caller runs
``load_rules()``, and every rule armed again is refused the same way."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from session_cases import settle
from template_cases import KEY, SECRET, SYMBOL, account
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.venues import binance


@pytest.mark.parametrize(
    ("old", "rule"),
    [("0.05", "tick_size"), ("0.1", None)],  # 0.1: the book's cents past the template's scale (1)
    ids=["off-tick", "past-scale"],
)
def test_a_quote_rule_refused_off_a_finer_tick_has_the_list_read_again(old: str, rule: str | None) -> None:
    a = account()

    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue("binance"))
            sim.fund("binance", KEY, a.funds)
            sim.set_grid("binance", SYMBOL, tick=old)  # the grid the session reads
            async with tickwire.connect(
                "binance", [SYMBOL], endpoints=sim.urls()["binance"], probe_interval=None, coalesce=False,
            ) as md:  # fmt: skip
                async with md.trade(credentials=binance.Signer(KEY, SECRET)) as tr:
                    assert tr.rules[SYMBOL].tick_size == Decimal(old)
                    sim.set_grid("binance", SYMBOL, tick="0.01")  # finer: the book's cents off the old grid
                    reads = tr.rules_recheck.reads
                    tmpl = tr.template(SYMBOL, "buy", tif="IOC")
                    q: Any = tmpl.quote(md, 100, offset_ticks=-50, when="every")
                    for _ in range(200):
                        if q.stopped:
                            break
                        await settle(lambda: q.in_flight is None, "the answer")
                        sim.advance(1, "binance", SYMBOL)
                        await asyncio.sleep(0.01)
                    assert q.stopped and isinstance(q.error, InvalidOrder), q.error
                    assert getattr(q.error, "rule", None) == rule
                    await settle(
                        lambda: tr.rules[SYMBOL].tick_size == Decimal("0.01"), "the list read again", 3.0
                    )
                    assert tr.rules_recheck.reads == reads + 1

    asyncio.run(go())


def test_a_quote_rule_refused_at_arming_off_a_finer_lot_has_the_list_read_again() -> None:
    """The venue's lot goes from 0.0002 to 0.0001: a rule armed with 0.0003 is refused (the old lot)
    — and the list must be read, else every rule armed again is refused the same way."""
    a = account()

    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue("binance"))
            sim.fund("binance", KEY, a.funds)
            sim.set_grid("binance", SYMBOL, lot="0.0002")
            async with tickwire.connect(
                "binance", [SYMBOL], endpoints=sim.urls()["binance"], probe_interval=None, coalesce=False,
            ) as md:  # fmt: skip
                async with md.trade(credentials=binance.Signer(KEY, SECRET)) as tr:
                    assert tr.rules[SYMBOL].lot_size == Decimal("0.0002")
                    sim.set_grid("binance", SYMBOL, lot="0.0001")
                    tmpl = tr.template(SYMBOL, "buy", tif="IOC")
                    qty = 3 * 10 ** (tmpl.qty_scale - 4)  # 0.0003
                    with pytest.raises(InvalidOrder, match="breaks"):
                        tmpl.quote(md, qty, offset_ticks=-50, when="every")
                    await settle(
                        lambda: tr.rules[SYMBOL].lot_size == Decimal("0.0001"), "the list read again", 3.0
                    )

    asyncio.run(go())
