"""A symbol's price and quantity grid as its venue lists and enforces it once a test changed it
(``Simulator.set_grid``): tick, lot and minimum size, from now or from an announced time on.

The books and the matching engine go on in the simulator's own instrument units (integer ticks and
lots): a grid set here is a whole multiple of them, so every order on it is one the engine can hold,
and resting orders placed on the old grid stay (as a venue's do across a tick change). The venue's
instrument list shows the grid in force (``listed``) and, where the venue announces changes, the
ones to come (``upcoming``); its order entry refuses an order off the grid in force with its own code
(``off_grid``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tickwire.sim.market import Instrument


@dataclass(frozen=True, slots=True)
class GridChange:
    """New values (None: unchanged) in force from ``at_ms`` on the venue's clock (None: now)."""

    tick: Decimal | None = None
    lot: Decimal | None = None
    min_qty: Decimal | None = None
    at_ms: int | None = None

    def params(self) -> dict[str, Decimal]:
        """The changed values by name (``tick``, ``lot``, ``min_qty``)."""
        named = {"tick": self.tick, "lot": self.lot, "min_qty": self.min_qty}
        return {k: v for k, v in named.items() if v is not None}


def _positive(name: str, value: str | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"{name} must be a positive decimal, not {value!r}")
    return d


class Grids:
    """The grid changes of a venue's symbols, in the order they were made."""

    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self._instruments = instruments
        self._changes: dict[str, list[GridChange]] = {}

    def change(
        self,
        symbol: str,
        tick: str | Decimal | None = None,
        lot: str | Decimal | None = None,
        min_qty: str | Decimal | None = None,
        at_ms: int | None = None,
    ) -> GridChange:
        inst = self._instruments[symbol]
        if at_ms is not None and (type(at_ms) is not int or at_ms < 0):  # compared with the clock
            raise ValueError(f"at_ms must be Unix ms (an int), not {at_ms!r}")
        c = GridChange(_positive("tick", tick), _positive("lot", lot), _positive("min_qty", min_qty), at_ms)
        if not c.params():
            raise ValueError("set_grid changes nothing: give tick, lot or min_qty")
        # A grid finer than the book's own unit could not be held by the engine.
        for name, new, unit in (("tick", c.tick, inst.tick), ("lot", c.lot, inst.lot)):
            if new is not None and new % unit:
                raise ValueError(f"{symbol}: {name} {new} is not a multiple of the simulator's {unit}")
        # The engine goes on refusing an order under the instrument's own minimum: one listed lower
        # would be an order the list allows and the order entry refuses.
        own_min = inst.qty(inst.min_lots)
        if c.min_qty is not None and c.min_qty < own_min:
            raise ValueError(f"{symbol}: min_qty {c.min_qty} is below the simulator's own minimum {own_min}")
        self._changes.setdefault(symbol, []).append(c)
        return c

    def changed(self, symbol: str) -> bool:
        return symbol in self._changes

    def listed(self, symbol: str, now_ms: int) -> Instrument:
        """The instrument as the venue lists it at ``now_ms``: its own values with every change in
        force by then applied."""
        inst = self._instruments[symbol]
        for c in self._changes.get(symbol, ()):
            if c.at_ms is None or c.at_ms <= now_ms:
                inst = dataclasses.replace(inst, **c.params())  # type: ignore[arg-type]
        return inst

    def upcoming(self, symbol: str, now_ms: int) -> list[GridChange]:
        """The announced changes not in force yet, in the order they were made."""
        return [c for c in self._changes.get(symbol, ()) if c.at_ms is not None and c.at_ms > now_ms]

    def off_grid(self, symbol: str, now_ms: int, price: Decimal | None, qty: Decimal | None) -> str | None:
        """The first rule of the grid in force that the order's ``price``/``qty`` (None: not given)
        breaks — ``"tick"``, ``"lot"`` or ``"min_qty"`` —, else None. Only for a symbol whose grid
        was changed: the engine's own checks hold the others."""
        if symbol not in self._changes:
            return None
        g = self.listed(symbol, now_ms)
        if price is not None and price % g.tick:
            return "tick"
        if qty is not None and qty % g.lot:
            return "lot"
        if qty is not None and qty < g.qty(g.min_lots):
            return "min_qty"
        return None
