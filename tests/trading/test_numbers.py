from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tickwire.errors import InvalidOrder
from tickwire.trading.numbers import MAX_SCALE, Mantissa, format_decimal, mantissa_at, to_decimal

D = Decimal


@pytest.mark.parametrize(
    "bad",
    [1.5, 0.1, float("nan"), float("inf"), True, False, "-1", "+1", "nan", "inf", "1_000", " 1", "1 ", "",
     "0x10", D("-0.5"), D("NaN"), D("Infinity"), -3, (12345, 2), None, b"1"],
)  # fmt: skip
def test_refuses_what_is_not_an_exact_non_negative_number(bad: object) -> None:
    with pytest.raises(InvalidOrder) as e:
        to_decimal(bad, "qty")
    assert isinstance(e.value, ValueError)  # callers' `except ValueError` keeps working
    assert str(e.value).startswith("qty")


def test_int_is_the_value_itself_and_mantissa_is_scaled() -> None:
    assert to_decimal(5) == 5
    assert to_decimal(Mantissa(12345, 2)) == D("123.45")
    assert to_decimal(Mantissa(5, -3)) == 5000  # a negative scale multiplies
    assert to_decimal(Mantissa(0, 8)) == 0
    with pytest.raises(InvalidOrder):
        to_decimal(Mantissa(-1, 2))
    with pytest.raises(InvalidOrder):
        to_decimal(Mantissa(1.5, 2))  # type: ignore[arg-type]


def test_positive_refuses_zero_and_zero_forms_fold() -> None:
    with pytest.raises(InvalidOrder, match="greater than zero"):
        to_decimal("0.000", "price", positive=True)
    assert str(to_decimal(D("-0"))) == "0" and str(to_decimal("0E-8")) == "0"


def test_range_is_bounded_so_arithmetic_stays_exact() -> None:
    with pytest.raises(InvalidOrder, match="range"):
        to_decimal("1E+30")
    with pytest.raises(InvalidOrder, match="range"):
        to_decimal("1E-25")
    with pytest.raises(InvalidOrder, match="range"):
        to_decimal(Mantissa(1, 10**6))
    assert to_decimal("0.10000000000000000000000000000") == D("0.1")  # trailing zeros do not count


@pytest.mark.parametrize("huge", ["1E+999999999999999999", D("1E+999999999999999999")])
def test_a_huge_exponent_is_refused_as_out_of_range_at_once(huge: object) -> None:
    """10**999999999999999999 is past the 21 integer digits a number may have: InvalidOrder (a
    ValueError), before any digit of it is written out (before: the trailing zeros were expanded
    first, a MemoryError here, seconds and gigabytes for 1E+200000000)."""
    assert D(huge).adjusted() >= 21  # independently: far past the bound
    with pytest.raises(InvalidOrder, match="range"):
        to_decimal(huge, "qty")


@pytest.mark.parametrize(
    ("text", "plain"),
    [("1E-8", "0.00000001"), ("5.000", "5"), ("5", "5"), ("1E+3", "1000"), ("0.10", "0.1"), ("-0.0", "0"),
     ("100.00", "100"),
     ("123456789012345678901.12345678901234567890", "123456789012345678901.1234567890123456789")],
)  # fmt: skip
def test_format_decimal_vectors(text: str, plain: str) -> None:
    assert format_decimal(D(text)) == plain


def test_format_decimal_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        format_decimal(D("NaN"))


@given(value=st.integers(0, 10**40), scale=st.integers(-5, MAX_SCALE))
def test_mantissa_round_trip_is_exact(value: int, scale: int) -> None:
    exact = Fraction(value, 10**scale) if scale >= 0 else Fraction(value * 10**-scale)
    try:
        d = to_decimal(Mantissa(value, scale))
    except InvalidOrder:
        places = next(k for k in range(80) if 10**k % exact.denominator == 0)
        assert exact >= 10**21 or places > MAX_SCALE
        return
    text = format_decimal(d)
    assert Fraction(text) == exact  # Fraction parses the decimal text exactly, independently of Decimal
    assert "E" not in text and "e" not in text
    assert "." not in text or not text.endswith("0")
    assert to_decimal(text) == d


@given(
    digits=st.integers(-(10**30), 10**30),
    exp=st.integers(-30, 30),
    scale=st.integers(0, 18),
)
def test_a_decimal_is_a_mantissa_only_when_exact_at_the_scale(digits: int, exp: int, scale: int) -> None:
    d = D(f"{digits}E{exp}")  # from text: exact at any length (scaleb would round past 28 digits)
    exact = Fraction(digits) * Fraction(10) ** exp * 10**scale  # independent of Decimal's arithmetic
    m = mantissa_at(d, scale)
    if m is not None:
        assert type(m) is int and m > 0 and Fraction(m) == exact
        return
    # Left to the rules' path: not positive, not whole at the scale, or outside the intake bounds.
    assert exact <= 0 or exact.denominator != 1 or not -MAX_SCALE <= d.adjusted() < 21


@pytest.mark.parametrize("bad", [D("NaN"), D("-Infinity"), D("1E+999999"), D("1E-999999"), D("-0.5"), D(0)])
def test_a_decimal_the_fast_path_cannot_take_goes_to_the_rules(bad: Decimal) -> None:
    assert mantissa_at(bad, 8) is None
