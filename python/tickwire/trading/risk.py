"""Pre-trade risk limits: what a session may have open and hold on each symbol, checked before any
byte of an order is written, on every path that writes one (``place_order``, a template's ``send``,
a quote rule's load), with the venue's own announced open-order limit (Binance's ``MAX_NUM_ORDERS``
filter) applied as one of them.

    tr = tickwire.trade("binance", risk=RiskLimits(max_open_orders=20, max_position=Decimal("2")))
    tr = tickwire.trade("binance", risk={"BTCUSDT": RiskLimits(max_order_qty=Decimal("0.5"))})

What counts, and why:

- **Open orders** are the tracker's open ones — acknowledged, partly filled, and those still in
  flight or whose fate is being reconciled (they may be live) — plus the one a loaded quote rule or a
  template send waiting for the budget will write. An order in flight counts until the venue's word
  ends it, so a burst of sends cannot pass the limit while their answers are on their way.
- **Position** is the net quantity filled on the symbol by the orders this session tracks (its own
  and adopted ones' fills after adoption), plus what :meth:`RiskGate.set_position` says the account
  held before. ``max_position`` bounds it in the worst case: a buy is refused when the position plus
  every open buy's unfilled quantity plus this order could pass ``+max_position``; a sell likewise
  below ``-max_position``. Orders that reduce the position are always allowed when they cannot
  cross zero by more than the limit.
- **Per-order caps** (``max_order_qty``, ``max_order_notional``) are folded into the instrument's
  rules where templates read them, so the one-call path checks them in Rust at no extra cost;
  ``place_order`` checks them here. A refusal of a cap is :class:`RiskLimitExceeded` from
  ``place_order`` and :class:`~tickwire.errors.InvalidOrder` naming ``max_qty``/``max_notional``
  from a template (whose numbers are refused before the write, by the same integer check as the
  venue's rules). A market order's notional is what it would take from the book's far side
  (``market_cost``, set by ``md.trade``); with no synced book able to fill it, a market order under
  a notional cap is refused (its cost unbounded), on ``place_order`` and market templates alike.
- The kill switch's closing orders pass no gate: they only shrink what is held.

Not counted: orders of other scripts or sessions on the same key, and an earlier run's orders that
were not adopted — the venue refuses past its own limit in that case (a typed rejection).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.errors import RiskLimitExceeded
from tickwire.trading.orders import Order, Side

if TYPE_CHECKING:
    from tickwire.trading.order_record import Record
    from tickwire.trading.rules import InstrumentRules
    from tickwire.trading.tracker import OrderTracker

__all__ = ["RiskGate", "RiskLimits", "RiskSpec", "needs_check"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits of one symbol (or every symbol); ``None``: no limit of that kind."""

    max_open_orders: int | None = None
    max_position: Decimal | None = None  # absolute net quantity, in the instrument's quantity unit
    max_order_qty: Decimal | None = None
    # price x quantity of one order; a market order's priced from the book (``RiskGate.market_cost``)
    max_order_notional: Decimal | None = None

    def __post_init__(self) -> None:
        if self.max_open_orders is not None and (
            type(self.max_open_orders) is not int or self.max_open_orders < 1
        ):
            raise ValueError(f"max_open_orders is an int of at least 1, not {self.max_open_orders!r}")
        for name in ("max_position", "max_order_qty", "max_order_notional"):
            v = getattr(self, name)
            if v is None:
                continue
            if not isinstance(v, Decimal | int | str) or isinstance(v, bool):
                raise ValueError(f"{name} is a Decimal (or an int or str), not {type(v).__name__}")
            d = Decimal(v)
            if not d.is_finite() or d < 0 or (d == 0 and name != "max_position"):
                raise ValueError(f"{name} must be a finite number above zero, not {v!r}")
            object.__setattr__(self, name, d)


_FIELDS = frozenset(f.name for f in dataclasses.fields(RiskLimits))
# What ``tickwire.trade(risk=...)`` takes: one set of limits, or limits per symbol; each a RiskLimits
# or a mapping of its fields.
RiskSpec = RiskLimits | Mapping[str, Any] | None


def _limits(where: str, v: object) -> RiskLimits:
    if isinstance(v, RiskLimits):
        return v
    if isinstance(v, Mapping) and set(v) <= _FIELDS:
        return RiskLimits(**v)
    raise ValueError(f"{where} is a RiskLimits or a mapping of {sorted(_FIELDS)}, not {v!r}")


@dataclass(slots=True)
class _Symbol:
    """One symbol's exposure as the tracker's orders and the reservations make it."""

    open: int = 0
    buying: Decimal = _ZERO  # unfilled quantity of open buys
    selling: Decimal = _ZERO
    position: Decimal = _ZERO  # start + net filled
    reserved: int = 0
    reserved_buy: Decimal = _ZERO
    reserved_sell: Decimal = _ZERO
    max_open: int | None = None  # the smaller of the user's and the venue's
    max_position: Decimal | None = None


# What one tracked order contributes: (symbol, side, open, unfilled, filled counted).
Part = tuple[str, str, bool, Decimal, Decimal]


# (the refusal, side, quantity, price, the order's client id where it has one)
RefusalHook = Callable[[RiskLimitExceeded, Side, Decimal, Decimal | None, str | None], None]


class RiskGate:
    """A session's limits and the exposure they are checked against (``TradingSession.risk``). The
    tracker reports every change of an order through :meth:`account`; the order paths call
    :meth:`check` (or :meth:`reserve`) synchronously right before an order is tracked or written."""

    def __init__(self, limits: RiskSpec = None) -> None:
        # Plain mappings as a config file gives them (a gateway's TOML: ``risk = { max_open_orders =
        # 20 }``, or per symbol ``risk = { BTCUSDT = { max_position = "2" } }``) are read the same way.
        self._per: dict[str, RiskLimits] = {}
        if limits is None or isinstance(limits, RiskLimits):
            self._all = limits
        elif isinstance(limits, Mapping) and limits and set(limits) <= _FIELDS:
            self._all = _limits("risk", limits)
        elif isinstance(limits, Mapping):
            self._all, self._per = None, {k: _limits(f"risk[{k!r}]", v) for k, v in limits.items()}
        else:
            raise ValueError(f"risk is a RiskLimits or a mapping, not {type(limits).__name__}")
        self._venue_max: dict[str, int] = {}
        self._syms: dict[str, _Symbol] = {}
        self._reservations: dict[object, tuple[str, Side, Decimal]] = {}
        self._starts: dict[str, Decimal] = {}  # set_position's, per symbol
        # The account's open orders on every symbol (and reservations), against the venue's
        # account-wide limit where it announces one.
        self.open_total = 0
        self.account_max: int | None = None
        # Whether any symbol has a limit that depends on the exposure: read by the one-call send
        # path, which skips the gate entirely when False.
        self.active = False
        # What a market order of a quantity would take from the book (``book_cost``), for
        # ``max_order_notional``: ``md.trade`` sets it from its books. None, or None answered: a
        # market order under a notional cap is refused, its cost unbounded.
        self.market_cost: Callable[[str, Side, Decimal], Decimal | None] | None = None
        # Told of each refusal (the session audits it ``risk_refused``): the refused order is never
        # tracked or sent, so nothing else in the audit file would tell of it.
        self.on_refused: RefusalHook | None = None
        self._refresh()

    # -- configuration -------------------------------------------------------------------------------

    @property
    def bounds_position(self) -> bool:
        """Whether any symbol has a ``max_position`` (the session then reads the venue's positions
        at start, where it has any, as the position the fills move from)."""
        every = [self._all, *self._per.values()]
        return any(x is not None and x.max_position is not None for x in every)

    def limits(self, symbol: str) -> RiskLimits | None:
        """The user's limits of ``symbol`` (its own entry, else the one for every symbol)."""
        return self._per.get(symbol, self._all)

    def set_venue_limits(self, max_open: Mapping[str, int | None], account: int | None = None) -> None:
        """The venue's announced open-order limit per symbol (from its instrument metadata), and on
        every symbol together (``account``: Binance's EXCHANGE_MAX_NUM_ORDERS)."""
        self._venue_max = {s: n for s, n in max_open.items() if n}
        self.account_max = account or None
        self._refresh()

    def set_position(self, symbol: str, qty: Decimal) -> None:
        """What the account held of ``symbol`` before this session's fills (signed): the position the
        fills move from. Replaces the earlier start; fills already counted stay counted."""
        qty = Decimal(qty)
        self._sym(symbol).position += qty - self._starts.get(symbol, _ZERO)
        self._starts[symbol] = qty

    def observe_positions(self, held: Mapping[str, Decimal]) -> None:
        """The venue's positions now (signed; a symbol not in ``held`` is flat), listed after an answer
        was lost whose orders would have moved them (a close-all's): each position the gate knows
        becomes the venue's, fills counted from here on. Without it a lost close-all left the gate
        counting what the close had flattened."""
        for symbol in set(self._syms) | set(held):
            qty = Decimal(held.get(symbol, _ZERO))
            st = self._sym(symbol)
            counted = st.position - self._starts.get(symbol, _ZERO)  # this session's fills so far
            self._starts[symbol] = qty - counted
            st.position = qty

    def count_filled(self, symbol: str, side: Side, qty: Decimal) -> None:
        """``qty`` filled on ``side`` of ``symbol`` by orders the tracker does not hold (a Clarofinlore
        TWAP's slices, told by the TWAP's status): the position moves by it."""
        self._sym(symbol).position += qty if side == "buy" else -qty

    def count_untracked(self, tracker: OrderTracker, order: Order) -> None:
        """What ``order`` filled, if ``tracker`` does not hold it: a market order the venue made on the
        account's behalf (a close-all's, a position update's), whose fills no tracked order counts."""
        if tracker.get(order.client_id) is None and (
            not order.order_id or tracker.by_order_id(order.order_id) is None
        ):
            self.count_filled(order.symbol, order.side, order.filled)

    def _refresh(self) -> None:
        for sym in set(self._syms) | set(self._venue_max) | set(self._per):
            self._limit(sym, self._sym(sym))
        own = self._all
        mine = own is not None and (own.max_open_orders is not None or own.max_position is not None)
        limited = (st.max_open is not None or st.max_position is not None for st in self._syms.values())
        self.active = mine or any(limited) or self.account_max is not None

    def _limit(self, sym: str, st: _Symbol) -> None:
        mine = self.limits(sym)
        venue = self._venue_max.get(sym)
        user = mine.max_open_orders if mine is not None else None
        st.max_open = min(n for n in (user, venue) if n is not None) if (user or venue) else None
        st.max_position = mine.max_position if mine is not None else None

    def _sym(self, symbol: str) -> _Symbol:
        st = self._syms.get(symbol)
        if st is None:
            st = self._syms[symbol] = _Symbol()
            self._limit(symbol, st)
        return st

    def state(self, symbol: str) -> _Symbol:
        """``symbol``'s counters and limits, one object for the gate's life (updated in place): a
        template keeps it, so its send tests the open count without a lookup (:func:`needs_check`)."""
        return self._sym(symbol)

    def capped(self, rules: InstrumentRules) -> InstrumentRules:
        """``rules`` with the symbol's per-order caps folded in (the smaller bound of each), for the
        paths that check an order's numbers against the rules alone (templates, in Rust)."""
        mine = self.limits(rules.symbol)
        if mine is None or (mine.max_order_qty is None and mine.max_order_notional is None):
            return rules
        q, n = mine.max_order_qty, mine.max_order_notional
        return dataclasses.replace(
            rules,
            max_qty=_least(rules.max_qty, q),
            market_max_qty=_least(rules.market_max_qty, q) if rules.market_max_qty is not None else None,
            max_notional=_least(rules.max_notional, n),
        )

    # -- the checks ----------------------------------------------------------------------------------

    def check(
        self,
        symbol: str,
        side: Side,
        qty: Decimal,
        price: Decimal | None = None,
        *,
        caps: bool = True,
        client_id: str | None = None,
        audited: bool = True,
    ) -> None:
        """Raises :class:`RiskLimitExceeded` if one more order of ``qty`` on ``side`` (at ``price``
        for the notional cap) could take ``symbol`` past a limit; nothing changes either way. Without
        ``caps`` the per-order caps are left to the caller (a template's rules hold them). A refusal
        is reported to :attr:`on_refused` (the session's audit ``risk_refused``, naming ``client_id``
        where the order has one) unless ``audited`` is False (a quote rule's load, retried shortly)."""
        try:
            mine = self.limits(symbol) if caps else None
            if mine is not None:
                self._caps(symbol, side, mine, qty, price)
            st = self._syms.get(symbol)
            if st is None:
                if not self.active:
                    return
                st = self._sym(symbol)
            if st.max_open is not None and st.open + st.reserved >= st.max_open:
                what = (
                    f"{st.open + st.reserved} orders open or on their way, the most allowed is {st.max_open}"
                )
                _refuse(symbol, "max_open_orders", what)
            if self.account_max is not None and self.open_total >= self.account_max:
                what = f"{self.open_total} orders open on the account, the venue allows {self.account_max}"
                _refuse(symbol, "account_max_open_orders", what)
            self._position(symbol, st, side, qty)
        except RiskLimitExceeded as e:
            if audited:
                self._refused(e, side, qty, price, client_id)
            raise

    def _refused(
        self, e: RiskLimitExceeded, side: Side, qty: Decimal, price: Decimal | None, client_id: str | None
    ) -> None:
        hook = self.on_refused
        if hook is not None:
            hook(e, side, qty, price, client_id)

    def _caps(self, symbol: str, side: Side, mine: RiskLimits, qty: Decimal, price: Decimal | None) -> None:
        if mine.max_order_qty is not None and qty > mine.max_order_qty:
            _refuse(symbol, "max_order_qty", f"qty {qty} is above max_order_qty {mine.max_order_qty}")
        if mine.max_order_notional is None:
            return
        if price is None:
            self._market_notional(symbol, side, qty, mine.max_order_notional)
            return
        notional = price * qty
        if notional > mine.max_order_notional:
            what = f"notional {notional} is above max_order_notional {mine.max_order_notional}"
            _refuse(symbol, "max_order_notional", what)

    def check_market_notional(self, symbol: str, side: Side, qty: Decimal) -> None:
        """Raises :class:`RiskLimitExceeded` unless a market order of ``qty`` on ``side`` would take at
        most ``symbol``'s ``max_order_notional`` from the book (``market_cost``); refused too when
        nothing can price it — no book, not synced, or too thin to fill it. No cap: nothing."""
        mine = self.limits(symbol)
        if mine is not None and mine.max_order_notional is not None:
            try:
                self._market_notional(symbol, side, qty, mine.max_order_notional)
            except RiskLimitExceeded as e:
                self._refused(e, side, qty, None, None)
                raise

    def _market_notional(self, symbol: str, side: Side, qty: Decimal, cap: Decimal) -> None:
        cost = self.market_cost(symbol, side, qty) if self.market_cost is not None else None
        if cost is None:
            what = (
                f"a market {side} of {qty} has no book to price it under max_order_notional {cap} "
                "(none synced that can fill it; md.trade() prices from the market session's books)"
            )
            _refuse(symbol, "max_order_notional", what)
        elif cost > cap:
            what = f"a market {side} of {qty} would take {cost} from the book, above max_order_notional {cap}"
            _refuse(symbol, "max_order_notional", what)

    @staticmethod
    def _position(symbol: str, st: _Symbol, side: Side, qty: Decimal) -> None:
        """Refuses ``qty`` more on ``side`` where the worst case could pass ``max_position``."""
        if st.max_position is None:
            return
        if side == "buy":
            worst = st.position + st.buying + st.reserved_buy + qty
            over = worst > st.max_position
        else:
            worst = st.position - st.selling - st.reserved_sell - qty
            over = -worst > st.max_position
        if over:
            what = (
                f"a {side} of {qty} could take the position to {worst} (held {st.position}, "
                f"open buys {st.buying + st.reserved_buy}, open sells {st.selling + st.reserved_sell}); "
                f"max_position is {st.max_position}"
            )
            _refuse(symbol, "max_position", what)

    def check_amend(self, order: Order, qty: Decimal, price: Decimal | None) -> None:
        """Raises :class:`RiskLimitExceeded` if amending ``order`` to ``qty`` at ``price`` could pass a
        limit: the per-order caps on the new terms, the position on the quantity added."""
        try:
            mine = self.limits(order.symbol)
            if mine is not None:
                self._caps(order.symbol, order.side, mine, qty, price)
            st = self._syms.get(order.symbol)
            if st is not None and qty > order.qty:
                self._position(order.symbol, st, order.side, qty - order.qty)
        except RiskLimitExceeded as e:
            self._refused(e, order.side, qty, price, order.client_id)
            raise

    def reserve(
        self,
        key: object,
        symbol: str,
        side: Side,
        qty: Decimal,
        price: Decimal | None = None,
        *,
        caps: bool = False,
    ) -> None:
        """:meth:`check`, then counts an order about to be written as open under ``key`` (a client id,
        or a quote rule's own key) until :meth:`release` or until the tracker accounts an order of
        that client id. The per-order caps only with ``caps`` (a template's rules hold them, checked
        in Rust)."""
        named = key if isinstance(key, str) else None  # a quote rule (its own key): retried, not audited
        self.check(symbol, side, qty, price, caps=caps, client_id=named, audited=named is not None)
        self.release(key)
        st = self._sym(symbol)
        st.reserved += 1
        self.open_total += 1
        if side == "buy":
            st.reserved_buy += qty
        else:
            st.reserved_sell += qty
        self._reservations[key] = (symbol, side, qty)

    def release(self, key: object) -> None:
        got = self._reservations.pop(key, None)
        if got is None:
            return
        symbol, side, qty = got
        st = self._syms[symbol]
        st.reserved -= 1
        self.open_total -= 1
        if side == "buy":
            st.reserved_buy -= qty
        else:
            st.reserved_sell -= qty

    # -- what the tracker reports --------------------------------------------------------------------

    def account(self, rec: Record, gone: bool = False) -> None:
        """``rec``'s order changed (``gone``: withdrawn, never written): the exposure moves by the
        difference between what it counted before (``rec.risk``) and what it counts now."""
        o = rec.order
        if self._reservations:
            self.release(o.client_id)
        if gone:
            new: Part | None = None
        else:
            if rec.adopted_at is None:
                counted = o.filled
            else:  # this run's fills only: those on top of the earlier run's (none known yet: none)
                counted = o.filled - rec.adopted_base if rec.adopted_base is not None else _ZERO
            qty = o.qty
            if rec.amending and rec.amend_terms is not None and rec.amend_terms[0] > qty:
                qty = rec.amend_terms[0]  # an amend to more on its way: the larger counts until settled
            for queued, _ in rec.queued_amends:  # (empty but for orders amended over an open amend)
                if queued is not None and queued > qty:
                    # A replaced amend to more the venue may still apply after the later one (the
                    # tracker takes the word stating it): counted until that word or the order's end.
                    qty = queued
            unfilled = max(_ZERO, qty - o.filled) if o.is_open else _ZERO
            new = (o.symbol, o.side, o.is_open, unfilled, max(_ZERO, counted))
        old = rec.risk
        if old == new:
            return
        rec.risk = new
        if old is not None:
            self._move(old, -1)
        if new is not None:
            self._move(new, 1)

    def _move(self, part: Part, sign: int) -> None:
        symbol, side, is_open, unfilled, filled = part  # side: "buy" or "sell"
        st = self._sym(symbol)
        if is_open:
            st.open += sign
            self.open_total += sign
            if side == "buy":
                st.buying += sign * unfilled
            else:
                st.selling += sign * unfilled
        st.position += sign * filled if side == "buy" else -sign * filled

    # -- reading -------------------------------------------------------------------------------------

    def exposure(self, symbol: str) -> dict[str, object]:
        """What the limits of ``symbol`` are checked against now."""
        st = self._sym(symbol)
        return {
            "open_orders": st.open,
            "reserved": st.reserved,
            "open_buy_qty": st.buying + st.reserved_buy,
            "open_sell_qty": st.selling + st.reserved_sell,
            "position": st.position,
            "max_open_orders": st.max_open,
            "max_position": st.max_position,
            "account_open_orders": self.open_total,
            "account_max_open_orders": self.account_max,
        }


def needs_check(gate: RiskGate, st: _Symbol) -> bool:
    """Whether one more order on ``st``'s symbol must go through :meth:`RiskGate.check`: it would
    reach an open-order limit, or a position limit is set (the common case — room left, no position
    limit — costs a few attribute reads and comparisons on the one-call path)."""
    return (
        st.max_position is not None
        or (st.max_open is not None and st.open + st.reserved >= st.max_open)
        or (gate.account_max is not None and gate.open_total >= gate.account_max)
    )


def _least(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return b if a is None else a if b is None else min(a, b)


def _refuse(symbol: str, limit: str, what: str) -> None:
    named = what if limit in what else f"{what} ({limit})"
    err = RiskLimitExceeded(f"{symbol}: {named}: refused, nothing sent")
    err.symbol, err.limit = symbol, limit
    raise err
