"""Clarofinlore TWAP: one parent order the venue splits into market orders over time.

Documented (seed-venues.md): "orders exceeding 1% of the 24-hour volume may be rejected. For large
orders, use the TWAP (Time-Weighted Average Price) endpoint to split execution automatically."
Everything else is the simulator's default (``tickwire.sim.venues.clarofinlore.twap``):
``POST /v1/orders/twap`` ``{"symbol", "side", "quantity", "duration_s", "slices", "client_order_id"}``
sends ``slices`` market orders, one every ``duration_s / slices`` seconds, the first at once, each an
equal share of the quantity in lots (the remainder to the first slices), with client order ids
``<client_order_id>.<n>``; a retried request with the same client order id answers the same TWAP and
starts nothing; ``GET /v1/orders/twap/{twap_id}`` shows its progress and ``DELETE`` stops it; the kill
switch stops every running TWAP; a slice the margin cannot pay for ends it as ``failed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import Any

import orjson

from tickwire.trading.codes import invalid_order
from tickwire.trading.intake import untracked
from tickwire.trading.numbers import EXACT, format_decimal, to_decimal
from tickwire.trading.orders import Order, OrderEvent, Side
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.venue import Call

__all__ = ["MAX_SLICES", "Twap", "TwapCalls", "checked_twap", "slice_bounds"]

MAX_SLICES = 1000  # the simulator's bound; the venue's is not published
TWAP_PATH = "/v1/orders/twap"


@dataclass(frozen=True, slots=True)
class Twap:
    """A TWAP parent as the venue reports it. ``orders``: the slices sent so far, as the venue shows
    them (their client ids are ``<client_id>.<n>``; this session does not track them)."""

    twap_id: str
    client_id: str
    symbol: str
    side: Side
    qty: Decimal
    filled: Decimal
    status: str  # running | done | cancelled | failed
    reason: str
    slices: int
    slices_done: int
    duration_s: float
    orders: tuple[Order, ...]

    @property
    def running(self) -> bool:
        return self.status == "running"

    @classmethod
    def read(cls, body: Any, read_order: Callable[[Any], Sequence[OrderEvent]]) -> Twap:
        children = tuple(untracked("clarofinlore", read_order(o)[0]) for o in body.get("orders") or ())
        return cls(
            twap_id=str(body["twap_id"]),
            client_id=str(body.get("client_order_id") or ""),
            symbol=str(body["symbol"]),
            side="buy" if body["side"] == "buy" else "sell",
            qty=Decimal(str(body["quantity"])),
            filled=Decimal(str(body.get("filled") or 0)),
            status=str(body["status"]),
            reason=str(body.get("reason") or ""),
            slices=int(body["slices"]),
            slices_done=int(body.get("slices_done") or 0),
            duration_s=float(body["duration_s"]),
            orders=children,
        )


def checked_twap(
    rules: InstrumentRules | None, symbol: str, side: Side, qty: Any, duration_s: Any, slices: Any
) -> tuple[Decimal, float, int]:
    """(qty, duration_s, slices) when the venue would take them, else ``InvalidOrder``: the quantity on
    the lot grid, 1..``MAX_SLICES`` whole slices, every slice (the smallest included) a valid market
    order by the instrument's rules, a positive finite duration."""
    if rules is None:
        raise invalid_order(f"clarofinlore: unknown symbol {symbol!r}")
    if side not in ("buy", "sell"):
        raise invalid_order(f"side must be 'buy' or 'sell', not {side!r}", rule="side")
    q = to_decimal(qty, "qty", positive=True)
    if isinstance(slices, bool) or not isinstance(slices, int) or not 0 < slices <= MAX_SLICES:
        raise invalid_order(f"slices must be an int in 1..{MAX_SLICES}, not {slices!r}", rule="slices")
    d = _seconds(duration_s)
    lot = rules.lot_size
    if lot and EXACT.remainder(q, lot):
        rules.validate(side, "market", q)  # names the lot rule and the nearest valid quantities
    smallest, largest = slice_bounds(q, lot, slices)
    if smallest <= 0:
        raise invalid_order(
            f"{symbol}: {format_decimal(q)} in {slices} slices is less than one lot per slice",
            rule="slices",
        )
    rules.validate(side, "market", smallest)
    rules.validate(side, "market", largest)
    return q, d, slices


def slice_bounds(q: Decimal, lot: Decimal, slices: int) -> tuple[Decimal, Decimal]:
    """The smallest and largest slice of ``q`` in ``slices`` whole lots (the remainder to the first
    slices), computed exactly: never in the caller's decimal context, whose precision may round
    ``q / lot`` to a whole number of lots (an off-lot quantity would pass the lot check). Without a
    lot grid, ``q / slices`` rounded down and up."""
    if not lot:
        return (
            Context(prec=100, rounding=ROUND_FLOOR).divide(q, slices),
            Context(prec=100, rounding=ROUND_CEILING).divide(q, slices),
        )
    lots = int(EXACT.divide_int(q, lot))
    per, extra = divmod(lots, slices)
    smallest = EXACT.multiply(Decimal(per), lot)
    off_grid = bool(EXACT.remainder(q, lot))  # only where the market lot differs (validated above)
    return smallest, EXACT.add(smallest, lot) if extra or off_grid else smallest


def _seconds(x: Any) -> float:
    """A duration is time, not an amount: a float is fine here, if finite and positive."""
    if isinstance(x, bool) or not isinstance(x, (int, float, Decimal, str)):
        raise invalid_order(f"duration_s must be a number of seconds, not {x!r}", rule="duration_s")
    try:
        d = float(x)
    except ValueError:
        raise invalid_order(f"duration_s must be a number of seconds, not {x!r}", rule="duration_s") from None
    if not (math.isfinite(d) and d > 0):
        raise invalid_order(f"duration_s must be positive and finite, not {x!r}", rule="duration_s")
    return d


class TwapCalls:
    """The TWAP requests and answer (the ``Orders`` grammar has them)."""

    def twap(
        self, symbol: str, side: Side, qty: Decimal, duration_s: float, slices: int, client_id: str
    ) -> Call:
        body = {
            "symbol": symbol,
            "side": side,
            "quantity": format_decimal(qty),
            "duration_s": int(duration_s) if float(duration_s).is_integer() else duration_s,
            "slices": slices,
            "client_order_id": client_id,
        }
        return Call("POST", TWAP_PATH, body=orjson.dumps(body).decode())

    def twap_status(self, twap_id: str) -> Call:
        return Call("GET", f"{TWAP_PATH}/{twap_id}")

    def cancel_twap(self, twap_id: str) -> Call:
        return Call("DELETE", f"{TWAP_PATH}/{twap_id}")
