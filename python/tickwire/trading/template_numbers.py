"""What an order template is sent, as the mantissas its bytes carry: ints taken as they are (Rust
checks them against tick, lot and bounds), ``Mantissa`` and ``Decimal`` rescaled when exact at the
template's scales (then Rust checks them too), anything else (a ``Decimal`` finer than the scale,
``str``, ``float``) checked by the instrument's rules in Python first; and, for mantissas Rust refused,
the rules' own error (which rule, the nearest valid values)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tickwire.errors import InvalidOrder
from tickwire.trading.codes import invalid_order
from tickwire.trading.numbers import EXACT, MAX_DIGITS, from_mantissa, mantissa_at, to_decimal
from tickwire.trading.orders import Side
from tickwire.trading.rules import InstrumentRules

__all__ = ["Scaled"]


@dataclass(frozen=True, slots=True)
class Scaled:
    """One template's numbers: its instrument's rules at the template's scales."""

    symbol: str
    side: Side
    market: bool
    rules: InstrumentRules
    price_scale: int
    qty_scale: int

    def mantissas(self, price: object, qty: object) -> tuple[int, int]:
        """``(price, qty)`` as mantissas: ints as they are, anything else checked by the rules. A market
        template takes ``None`` for the price (its mantissa is 0: the request has no price)."""
        if self.market:
            if price is not None:
                raise invalid_order(
                    f"{self.symbol}: a market order takes no price (send(None, qty))", rule="price"
                )
            q = mantissa_at(qty, self.qty_scale)
            if q is None:
                qd = _decimal(qty, self.qty_scale, "qty")
                self.rules.validate(self.side, "market", qd)
                q = self._exact(qd, qty, self.qty_scale)
            return 0, q
        if type(price) is int and type(qty) is int:
            return price, qty
        p, q = mantissa_at(price, self.price_scale), mantissa_at(qty, self.qty_scale)
        if p is not None and q is not None:  # Mantissas rescaled exactly: checked in Rust
            return p, q
        pd = _decimal(price, self.price_scale, "price")
        qd = _decimal(qty, self.qty_scale, "qty")
        self.rules.validate(self.side, "limit", qd, pd)  # off tick or lot: InvalidOrder with nearest
        return self._exact(pd, price, self.price_scale), self._exact(qd, qty, self.qty_scale)

    def explain(self, p: int, q: int) -> None:
        """The rules' own error (rule, nearest valid values) for mantissas Rust refused."""
        if p >= 10 ** (MAX_DIGITS + self.price_scale) or q >= 10 ** (MAX_DIGITS + self.qty_scale):
            # Past any order's number (``to_decimal``'s bounds): the rules' exact arithmetic would
            # trap its rounding (``decimal.Rounded``, no InvalidOrder) or, for a huge int, take seconds.
            raise InvalidOrder(f"{self.symbol}: price or qty mantissa out of range")
        pd = from_mantissa(p, self.price_scale) if p > 0 else p
        qd = from_mantissa(q, self.qty_scale) if q > 0 else q
        if self.market:
            self.rules.validate(self.side, "market", qd)
        else:
            self.rules.validate(self.side, "limit", qd, pd)
        if max(p, q) >= 2**64:
            raise InvalidOrder(f"{self.symbol}: price or qty mantissa out of range")

    def _exact(self, d: Decimal, given: object, scale: int) -> int:
        m = d.scaleb(scale, EXACT)  # never the caller's context: it may round
        if m != m.to_integral_value():
            raise InvalidOrder(f"{self.symbol}: {given} has more decimals than the template's {scale}")
        return int(m)


def _decimal(x: object, scale: int, what: str) -> Decimal:
    # Any int (an IntEnum, a user's int subclass) is a mantissa here, as a plain int is: read by
    # ``to_decimal`` it would be the value itself, 10**scale times the mantissa meant. Not a bool.
    if isinstance(x, int) and not isinstance(x, bool):
        return from_mantissa(int(x), scale)
    return to_decimal(x, what, positive=True)
