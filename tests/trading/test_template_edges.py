"""Order templates at the edges of their numbers: the integer rules a Rust template checks
(``template_forms.rule_ints``) accept exactly what the instrument's own rules (``InstrumentRules.validate``)
accept, on grids of 0.5, 0.25, 5, 10, 10**-5 … 10**-12 and 10**8 and bounds past what a u64 mantissa
holds; and a template on such an instrument builds, writes the slow path's bytes and the simulator
takes its order at the exact price and quantity."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from template_cases import Frozen, capture, signed_account
from tickwire import _core
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.trading.numbers import from_mantissa
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.session import TradingSession
from tickwire.trading.template_forms import rule_ints, scales

U64 = 2**64 - 1
GRIDS = [D(0), D("0.5"), D("0.25"), D("5"), D("10"), D("0.00001"), D("1E-8"), D("1E-10"), D("1E-12"),
         D("1E+8"), D("0.01"), D("1")]  # fmt: skip


def _opt(*xs: str) -> st.SearchStrategy[D | None]:
    return st.one_of(st.none(), st.sampled_from([D(x) for x in xs]))


@st.composite
def _rules(draw: Any) -> tuple[InstrumentRules, bool]:
    market = draw(st.booleans())
    r = InstrumentRules(
        "X",
        tick_size=draw(st.sampled_from(GRIDS)),
        lot_size=draw(st.sampled_from(GRIDS)),
        min_qty=draw(st.sampled_from([D(0), D("0.001"), D("0.3"), D("3")])),
        # 0: no order at all; 1E+12 at 12 decimals and 2E+7 at 12: past a u64 mantissa.
        max_qty=draw(_opt("0", "0.75", "1000", "2E+7", "9222449", "1E+12")),
        min_notional=draw(_opt("1E-12", "0.0001", "5", "10.5")),
        max_notional=draw(_opt("100", "1E+6", "9E+15", "1E+20")),
        min_price=draw(_opt("0.01", "0.3", "2E+7")),
        max_price=draw(_opt("12.5", "1E+6", "1E+7", "1E+8")),
        market_lot_size=draw(_opt("1E-8", "0.1", "5")) if market else None,
        market_min_qty=draw(_opt("0.2", "3")) if market else None,
        market_max_qty=draw(_opt("0", "50", "1E+6", "1E+12")) if market else None,
    )
    return r, market


def _mantissa(draw: Any, step: D, scale: int) -> int:
    unit = int(step.scaleb(scale)) if step else 1
    m = draw(
        st.one_of(
            st.integers(1, 20).map(lambda k: k * unit),
            st.integers(0, 12).flatmap(lambda e: st.integers(1, 10**e)).map(lambda k: k * unit),
            st.integers(1, U64),
            st.just(U64),
        )
    )
    return min(m, U64)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=_rules(), data=st.data())
def test_a_templates_integer_rules_accept_exactly_what_the_instruments_rules_accept(
    case: tuple[InstrumentRules, bool], data: Any
) -> None:
    """Before: a bound past a u64 mantissa (max_price 10**8 at 12 decimals) made the template's build
    raise a bare ``OverflowError``; and max_qty 0 (no order) still let a quantity of 2**64-1 through."""
    rules, market = case
    ps, qs = scales(rules, market)
    ints = rule_ints(rules, ps, qs, market)
    tmpl = _core.OrderTemplate.unsigned([b"p=", *([] if market else ["price"]), b"&q=", "qty"], **ints)
    for _ in range(8):
        p = 0 if market else _mantissa(data.draw, rules.tick_size, ps)
        q = _mantissa(data.draw, (rules.market_lot_size or rules.lot_size) if market else rules.lot_size, qs)
        try:
            tmpl.fill(p, q, "c", 0)
            rust = None
        except InvalidOrder as e:
            rust = e.rule  # type: ignore[attr-defined]
        price = None if market else from_mantissa(p, ps)
        try:
            rules.validate("buy", "market" if market else "limit", from_mantissa(q, qs), price)
            truth = None
        except InvalidOrder as e:
            truth = e.rule  # type: ignore[attr-defined]
        assert (rust is None) == (truth is None), f"{rules} p={p} q={q}: template {rust}, rules {truth}"


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_a_template_on_a_fine_grid_with_a_high_price_bound_writes_the_slow_paths_order(venue: str) -> None:
    """An instrument listed at 12 decimals with a max price of 10**8 (10**20 as a mantissa): before,
    ``tr.template`` raised a bare ``OverflowError`` from the Rust build."""
    clock = Frozen()
    a, _ = signed_account(venue, clock)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules[a.symbol]
        tr.rules[a.symbol] = replace(r, tick_size=D("1E-12"), max_price=D("1E+8"))
        tmpl = tr.template(a.symbol, "buy")
        assert (tmpl.price_scale, tmpl.rest is not None) == (12, True)
        bid, _ = a.touch(sim)
        price = bid - 10 * r.tick_size
        qty = a.size(tr, price, 2)
        clock.at = ts = int(time.time() * 1000)
        sent = capture(tr)
        o = await tr.place_order(a.symbol, "buy", "limit", qty, price)
        p, q = int(price.scaleb(12)), int(qty.scaleb(tmpl.qty_scale))
        assert tmpl._checked(tmpl.rest, p, q, o.client_id, ts) == sent[0]
        clock.at = None
        placed = await tmpl.send(p, q)
        [theirs] = a.orders(sim, placed.client_id)
        inst = sim.venue(a.venue).instruments[a.symbol]  # the venue's own ticks and lots
        assert theirs.open and (theirs.price * inst.tick, theirs.qty * inst.lot) == (price, qty)

    a.run(body)
