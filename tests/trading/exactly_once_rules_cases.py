"""The random run of ``exactly_once_cases`` with the venue's rules moving under it: the simulator
changes the symbol's grid (tick coarser and finer, lot, minimum size; on OKX some announced ahead in
``upcChg``) and its trading status (closed, cancel-only, reopened) between the orders, and the
strategy prices an order sometimes on the grid the venue lists now (read off the simulator, as a
strategy pricing off the venue's own book would) and sometimes on the session's grid (which may be the
old one) — with the faults of the run before. ``test_exactly_once_rules_change`` holds the session
to the simulator's state at the end, as ``Chaos.disagreements`` does, plus the checks of this run:
what each refusal was typed, how often the instrument list was read, and that the session's rules
caught up with the venue's."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, ClassVar

from exactly_once_cases import Chaos
from tickwire.errors import InvalidOrder, MarketClosed

# Grids drawn, in the venue's own units, each a whole multiple of the simulator's unit (``set_grid``
# refuses any other): coarser and finer ticks and lots than the last, minimums above and at the
# simulator's own. Binance BTCUSDT: tick 0.01, lot 0.00001, min 0.00001 (and a 5 USDT notional);
# OKX BTC-USDT: tick 0.1, lot 0.00000001, min 0.00001.
GRIDS: dict[str, dict[str, tuple[str, ...]]] = {
    "binance": {
        "tick": ("0.01", "0.02", "0.05", "0.1"),
        "lot": ("0.00001", "0.00002", "0.00005"),
        "min_qty": ("0.00001", "0.0001", "0.0002"),
    },
    "okx": {
        "tick": ("0.1", "0.2", "0.5", "1"),
        "lot": ("0.00000001", "0.0000001", "0.000001"),
        "min_qty": ("0.00001", "0.0001", "0.0002"),
    },
}
# The instrument list's REST operation, counted at the simulator (``VenueServer.exchanges``).
LIST_OP = {"binance": "GET /api/v3/exchangeInfo", "okx": "GET /api/v5/public/instruments"}
# Refusal types that say nothing of why: a refusal of an order is always one of its subclasses.
UNTYPED_REFUSALS = ("OrderError", "VenueError", "TickwireError", "InternalError")


@dataclass
class RulesChaos(Chaos):
    """``Chaos`` with grid and status changes drawn among the operations (``changes``: what was
    changed, when) and prices on either grid."""

    changes: list[str] = field(default_factory=list)
    announced: list[int] = field(default_factory=list)  # at_ms of the OKX changes announced ahead

    KINDS: ClassVar[dict[str, int]] = {
        "place": 6, "template": 3, "cancel": 3, "amend": 2, "market": 2, "invalid": 1, "fault": 3,
        "grid": 3, "status": 2,
    }  # fmt: skip
    PAUSE_S: ClassVar[float] = 0.05
    extras: bool = True  # batches and cancel-alls drawn too

    def act(self, kind: str) -> bool:
        if kind == "grid":
            self.grid()
        elif kind == "status":
            self.status()
        else:
            return False
        return True

    # the rules moving -----------------------------------------------------------------------------------

    def venue_now_ms(self) -> int:
        return self.sim.endpoint(self.a.venue, 0).now_ms()

    def listed(self) -> Any:
        """The grid the venue lists and enforces now (the simulator's ``Instrument``)."""
        v: Any = self.sim.venue(self.a.venue)
        return v.grids.listed(self.a.symbol, self.venue_now_ms())

    def grid(self) -> None:
        """One or two of tick, lot and minimum changed; on OKX a tick or minimum change is announced
        one to two seconds ahead half the time (``upcChg``)."""
        choices = GRIDS[self.a.venue]
        names = self.rng.sample(sorted(choices), self.rng.randint(1, 2))
        new = {n: self.rng.choice(choices[n]) for n in names}
        at_ms = None
        if self.a.venue == "okx" and "lot" not in new and self.rng.random() < 0.5:
            at_ms = self.venue_now_ms() + self.rng.randint(1000, 2000)
            self.announced.append(at_ms)
        self.note(f"grid {new} at {at_ms}")
        self.changes.append(f"grid {new} at {at_ms}")
        self.sim.set_grid(self.a.venue, self.a.symbol, at_ms=at_ms, **new)

    def status(self) -> None:
        to = self.rng.choices(["closed", "cancel_only", "open"], weights=[2, 1, 3])[0]
        self.note(f"status {to}")
        self.changes.append(f"status {to}")
        self.sim.set_status(self.a.venue, self.a.symbol, to)

    # prices on either grid ------------------------------------------------------------------------------

    def terms(self) -> tuple[str, Decimal, Decimal, str]:
        """As ``Chaos.terms``, on the venue's listed grid (a price read off its book, a size off its
        list) or on the session's (possibly the old one), drawn half and half."""
        if self.rng.random() < 0.5:
            g = self.listed()
            tick, lot, least = g.tick, g.lot, g.qty(g.min_lots)
        else:
            r = self.tr.rules[self.a.symbol]
            tick, lot, least = r.tick_size, r.lot_size, r.min_qty
        bid, ask = self.touch()
        bid = (bid / tick).to_integral_value(ROUND_FLOOR) * tick
        ask = (ask / tick).to_integral_value(ROUND_CEILING) * tick
        side = self.rng.choice(["buy", "sell"])
        how = self.rng.choices(["near", "far", "take"], weights=[5, 2, 3])[0]
        sign = -1 if side == "buy" else 1
        if how == "take":
            price, tif = (ask if side == "buy" else bid) - sign * self.rng.randint(0, 2) * tick, "IOC"
        else:
            away = self.rng.randint(0, 3) if how == "near" else self.rng.randint(20, 40)
            price, tif = (bid if side == "buy" else ask) + sign * away * tick, "GTC"
        notional = self.tr.rules[self.a.symbol].min_notional or Decimal(0)
        lots = (max(least, notional / price) / lot).to_integral_value(ROUND_CEILING)
        return side, price, lots * lot * self.rng.randint(1, 6), tif

    def invalid(self) -> None:
        """An order off the session's tick refused at once, the tracker as it was — ``MarketClosed``
        first where the session read the market closed (the rules' first check)."""
        before = {o.client_id: o for o in self.tr.tracker}
        bid, _ = self.touch()
        # Off the session's tick whatever the book's: the simulator's book moves on its own unit,
        # finer than a coarser tick the session read.
        price = (bid / self.tick).to_integral_value(ROUND_FLOOR) * self.tick - self.tick / 2
        try:
            coro = self.tr.place_order(self.a.symbol, "buy", "limit", self.a.size(self.tr, bid), price)
            coro.send(None)
            coro.close()
            self.broken.append("an off-tick place was not refused at once")
        except (InvalidOrder, MarketClosed) as e:
            self.typed[f"invalid: {type(e).__name__}"] += 1
        if {o.client_id: o for o in self.tr.tracker} != before:
            self.broken.append("a refused call changed the tracker")

    # the end ----------------------------------------------------------------------------------------------

    def untyped_refusals(self) -> list[str]:
        """Refusals raised as a base class (or the core's bug) rather than as what they are."""
        return [f"{what} x{n}" for what, n in self.typed.items() if what.split(": ")[-1] in UNTYPED_REFUSALS]

    def list_reads(self, since: float) -> list[tuple[float, int]]:
        """When (monotonic s) a read of the instrument list reached the venue since ``since``, and
        the HTTP status it was answered with (an injected failure's too)."""
        ep = self.sim.endpoint(self.a.venue, 0)
        op = LIST_OP[self.a.venue]
        return [(t, status) for t, what, status, _ in ep.exchanges if what == op and t >= since]

    def rules_differ(self) -> str:
        """How the session's rules for the symbol differ from what the venue lists now ("": none)."""
        g, r = self.listed(), self.tr.rules[self.a.symbol]
        v: Any = self.sim.venue(self.a.venue)
        venue = (g.tick, g.lot, g.qty(g.min_lots), self.a.symbol not in v.status)
        mine = (r.tick_size, r.lot_size, r.min_qty, r.trading)
        return "" if venue == mine else f"session's rules (tick, lot, min, open) {mine}, venue's {venue}"
