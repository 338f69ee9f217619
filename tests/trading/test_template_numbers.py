"""What an order template is sent, as the mantissas its bytes carry (``trading/template_numbers.py``):
exact whatever decimal context the caller has set, and refused with the rules' own error."""

from __future__ import annotations

import decimal
from decimal import Decimal as D

import pytest
from tickwire.errors import InvalidOrder
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.template_numbers import Scaled

RULES = InstrumentRules("BTCUSDT", tick_size=D("0.001"), lot_size=D("0.000001"), min_notional=D("5"))


@pytest.mark.parametrize(
    ("price", "qty"),
    [("12345.678", "1.5"), (D("12345.678"), "1.5"), ("12345.678", D("1.5")), (D("12345.678"), D("1.5")),
     (D("12345.6780000"), D("1.500000"))],
)  # fmt: skip
def test_numbers_are_exact_under_a_caller_context_that_would_round(price: object, qty: object) -> None:
    numbers = Scaled("BTCUSDT", "buy", False, RULES, 3, 6)
    with decimal.localcontext() as ctx:
        ctx.prec = 6  # a caller's own setting: 12345.678 would round to 12345.7 in it
        assert numbers.mantissas(price, qty) == (12_345_678, 1_500_000)
        with pytest.raises(InvalidOrder) as e:
            numbers.explain(12_345_678, 1)  # 0.000001 times 12345.678 is under the minimum notional
        assert e.value.rule == "min_notional"  # type: ignore[attr-defined]


def test_a_finer_number_than_the_scale_is_refused_by_the_rules_not_rounded() -> None:
    numbers = Scaled("BTCUSDT", "buy", False, RULES, 3, 6)
    with decimal.localcontext() as ctx:
        ctx.prec = 6
        for price in ("12345.6785", D("12345.6785")):
            with pytest.raises(InvalidOrder) as e:
                numbers.mantissas(price, "1.5")
            assert e.value.rule == "tick_size"  # type: ignore[attr-defined]
