"""Exact number intake for orders: prices and quantities never pass through a float.

``to_decimal`` accepts:

- a :class:`~decimal.Decimal` (finite, not negative);
- a ``str`` in plain or exponent notation (``"0.001"``, ``"1E-8"``): ASCII digits, no sign, no spaces,
  no ``_``;
- an ``int``: the integer value itself (``5`` is five), never a mantissa;
- a :class:`Mantissa` ``(value, scale)``: the integer ``value`` scaled by ``10**-scale``, the form
  fixed-point feeds carry (``Mantissa(12345, 2)`` is 123.45). A bare tuple is refused, so that an
  integer pair can never be read with the wrong convention.

Floats, NaN, infinities, negatives and ``bool`` raise :class:`~tickwire.errors.InvalidOrder` (a
``ValueError``), as do values outside ``10**-MAX_SCALE .. 10**MAX_DIGITS``: inside that range every sum,
product and remainder the rules compute is exact (see ``EXACT``).
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Rounded
from typing import NamedTuple

from tickwire.trading.codes import invalid_order

__all__ = [
    "EXACT", "MAX_DIGITS", "MAX_SCALE", "Mantissa", "format_decimal", "from_mantissa", "strip_zeros",
    "to_decimal",
]  # fmt: skip

# Bounds on intake: the largest integer part (digits) and the finest fraction (decimal places).
# 10**-20 is below any venue's tick or lot; 10**21 above any quantity or price.
MAX_DIGITS = 21
MAX_SCALE = 20

# Inside the bounds a product of two values has at most 2 * (21 + 20) = 82 digits, so 100 digits of
# precision never rounds; Inexact/Rounded are trapped so a rounding would be an error, not a silent loss.
EXACT = Context(prec=100, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact, Rounded])

# ASCII digits only: ``\d`` alone also matches other scripts' digits (Arabic-Indic, fullwidth), which
# Decimal reads as numbers: a text no venue form carries would become a real quantity.
_PLAIN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z", re.ASCII)
_ZERO = Decimal(0)


class Mantissa(NamedTuple):
    """An exact decimal as an integer and a count of decimal places: ``value * 10**-scale``."""

    value: int
    scale: int


def to_decimal(x: object, what: str = "value", *, positive: bool = False) -> Decimal:
    """``x`` as an exact, finite, non-negative Decimal (strictly positive with ``positive=True``)."""
    d: Decimal
    if isinstance(x, bool):  # bool is an int subclass: True would otherwise be a quantity of 1
        raise invalid_order(f"{what}: a bool is not a number")
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, Mantissa):
        if isinstance(x.value, bool) or not isinstance(x.value, int) or not isinstance(x.scale, int):
            raise invalid_order(f"{what}: Mantissa needs int value and int scale, got {x!r}")
        try:
            d = Decimal(x.value).scaleb(-x.scale, EXACT)
        except ArithmeticError:
            raise invalid_order(f"{what}: {x!r} is outside the supported range") from None
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, str):
        if not _PLAIN.match(x):
            raise invalid_order(f"{what}: {x!r} is not a plain non-negative decimal number")
        d = Decimal(x)
    elif isinstance(x, float):
        raise invalid_order(f"{what}: floats are refused (binary, inexact); pass a str or Decimal, not {x!r}")
    elif isinstance(x, tuple):
        raise invalid_order(f"{what}: a bare tuple is ambiguous; use Mantissa(value, scale), not {x!r}")
    else:
        raise invalid_order(f"{what}: expected Decimal, str, int or Mantissa, got {type(x).__name__}")
    if not d.is_finite():
        raise invalid_order(f"{what}: {x!r} is not finite")
    if d < 0:
        raise invalid_order(f"{what}: {x!r} is negative")
    if positive and d == 0:
        raise invalid_order(f"{what}: must be greater than zero")
    if d == 0:
        return _ZERO  # also folds -0 and 0E-8 into one zero
    # The integer digits first: stripping writes out a positive exponent's zeros (1E+999999999999).
    big = d.adjusted() >= MAX_DIGITS
    if not big:
        d = strip_zeros(d)
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    if big or exp < -MAX_SCALE:
        raise invalid_order(
            f"{what}: {x!r} is outside the supported range (at most {MAX_DIGITS} integer digits and "
            f"{MAX_SCALE} decimal places)"
        )
    return d


def format_decimal(d: Decimal) -> str:
    """The exact plain text of ``d``: no exponent, no trailing zeros (``1E-8`` → ``"0.00000001"``)."""
    if not d.is_finite():
        raise ValueError(f"cannot format {d!r}")
    if d == 0:
        return "0"
    return format(strip_zeros(d), "f")


def strip_zeros(d: Decimal) -> Decimal:
    """``d`` without trailing fractional zeros and without a positive exponent, exactly.

    ``Decimal.normalize`` would round to the context precision (28 digits); this never rounds."""
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    ds = list(digits)
    if exp > 0:
        ds.extend([0] * exp)
        exp = 0
    while exp < 0 and len(ds) > 1 and ds[-1] == 0:
        ds.pop()
        exp += 1
    return Decimal((sign, tuple(ds), exp))


def from_mantissa(m: int, scale: int) -> Decimal:
    """``m * 10**-scale`` exactly, whatever the caller's decimal context (``scaleb`` alone rounds to
    its precision, and a caller may have lowered it)."""
    return Decimal(m).scaleb(-scale, EXACT)


def mantissa_at(x: object, scale: int) -> int | None:
    """``x`` as a mantissa at ``scale`` without Decimal arithmetic: an int as it is, a ``Mantissa``
    rescaled when exactly possible, a positive finite ``Decimal`` when it has no more decimals than
    ``scale``; None otherwise (the rules' path decides, and raises what is wrong). The caller checks
    the mantissas against the instrument's rules (an order template: in Rust)."""
    if type(x) is int:
        return x
    if type(x) is Decimal:
        # An order's numbers cost ~8 µs through to_decimal + the rules in Python; this ~0.7 µs (hot).
        # The bounds keep as_integer_ratio off huge exponents (outside them the rules' path refuses).
        if not x.is_finite() or x <= 0 or not -MAX_SCALE <= x.adjusted() < MAX_DIGITS:
            return None
        n, d = x.as_integer_ratio()
        n *= 10**scale
        return n // d if n % d == 0 else None
    if isinstance(x, Mantissa) and type(x.value) is int and type(x.scale) is int:
        # A scale far from ``scale`` (no order's number): the rules' path refuses it at once, where
        # 10**shift would hold the event loop for seconds (10**10**7) before refusing the same.
        if abs(scale - x.scale) > MAX_DIGITS + MAX_SCALE:
            return None
        value: int = x.value
        if x.scale <= scale:
            mul: int = 10 ** (scale - x.scale)
            return value * mul
        div: int = 10 ** (x.scale - scale)
        if value % div == 0:
            return value // div
    return None
