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


class _Lots(int):
    """An int subclass (as ``enum.IntEnum`` or a user's own unit type is): still an int."""


def test_an_int_subclass_is_a_mantissa_at_the_templates_scale_as_an_int_is() -> None:
    """``send(price, qty)`` reads ints as mantissas at the template's scales: 4_325_000 at 2 decimals
    is 43250.00, 1500 at 3 decimals is 1.5 — an int subclass too (before: it went to ``to_decimal``,
    which reads an int as the value itself, so the bytes carried 4325000 and 1500, 100 and 1000 times
    what was meant)."""
    numbers = Scaled("BTCUSDT", "buy", False, RULES, 3, 6)
    price, qty = D(4_325_000).scaleb(-3), D(1_500).scaleb(-6)  # what the mantissas mean
    assert (price, qty) == (D("4325.000"), D("0.0015"))
    for p, q in ((_Lots(4_325_000), 1_500), (4_325_000, _Lots(1_500)), (_Lots(4_325_000), _Lots(1_500))):
        got = numbers.mantissas(p, q)
        assert got == (4_325_000, 1_500), f"{type(p).__name__}, {type(q).__name__}: {got}"
    market = Scaled("BTCUSDT", "sell", True, RULES, 3, 6)
    got = market.mantissas(None, _Lots(1_500))
    assert got == (0, 1_500), f"market: {got}"
