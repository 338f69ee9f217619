"""Balances, margin and positions behind the matching engine, so "insufficient funds/margin" is real.

An account nobody funded trades without limits (tests that only care about matching need no setup).
Once funded (``Simulator.fund``), every order is checked before it reaches the book, as venues do:

- cash (spot): a buy locks ``price x qty`` of the quote asset (a market buy: the cost of the book it
  would walk), a sell locks ``qty`` of the base asset; fills move the locked amounts across, and what
  is left of a lock returns when the order ends.
- margin (derivatives-style venues): collateral in the quote asset. The part of an order that adds to
  the position locks ``notional / leverage``; the part that reduces it needs nothing. Positions carry
  their entry cost; closing realises profit or loss into the collateral.

Amounts are Decimals in the venue's units; the engine's integer ticks and lots are converted with the
instrument's tick and lot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from tickwire.sim.market import BID, Instrument

if TYPE_CHECKING:
    from tickwire.sim.engine import Fill, Order

QUOTES = ("USDT", "USDC", "USD", "EUR", "BTC")
ZERO = Decimal(0)


def split_symbol(symbol: str) -> tuple[str, str]:
    """(base, quote) from a venue's spelling: ``BTC-USDT``, ``BTC/USD``, ``btcusdt``, ``LTCBTC``; a
    bare ticker (a stock, ``AAPL``) is quoted in USD."""
    s = symbol.upper()
    for sep in "-/":
        if sep in s:
            base, quote = s.split(sep, 1)
            return base, quote
    for q in QUOTES:
        if s.endswith(q) and len(s) > len(q):
            return s[: -len(q)], q
    return s, "USD"


@dataclass
class Position:
    lots: int = 0  # signed: long > 0
    cost: Decimal = ZERO  # signed entry value of the open lots, in the quote asset


class InsufficientFunds(ValueError):
    def __init__(self, margin: bool, asset: str, need: Decimal, free: Decimal) -> None:
        what = "margin" if margin else "balance"
        super().__init__(f"insufficient {what}: {asset} needed {need}, available {free}")


class Ledger:
    def __init__(self, instruments: Mapping[str, Instrument], leverage: Decimal | None = None) -> None:
        self.instruments = instruments
        # None: every order is a cash order unless the venue asks for margin per order.
        self.leverage = leverage
        self.assets = {s: split_symbol(s) for s in instruments}
        self.balances: dict[str, dict[str, Decimal]] = {}  # account -> asset -> total (incl. locked)
        self.locked: dict[str, dict[str, Decimal]] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.realized: dict[str, Decimal] = {}

    # funding and queries -----------------------------------------------------------------------

    def fund(self, account: str, amounts: Mapping[str, Decimal | str | int]) -> None:
        """Set the account's total balance of each asset (what it holds before locks)."""
        bal = self.balances.setdefault(account, {})
        self.locked.setdefault(account, {})
        for asset, amount in amounts.items():
            bal[asset.upper()] = Decimal(str(amount))

    def funded(self, account: str) -> bool:
        return account in self.balances

    def free(self, account: str, asset: str) -> Decimal:
        return self.balances[account].get(asset, ZERO) - self.locked[account].get(asset, ZERO)

    def margin_free(self, account: str, quote: str) -> Decimal:
        """Collateral not tied up by positions or open orders."""
        used = sum(
            (abs(p.cost) / self._lev() for (a, s), p in self.positions.items() if a == account and p.lots),
            ZERO,
        )
        return self.free(account, quote) - used

    def holdings(self, account: str) -> list[tuple[str, Decimal, Decimal]]:
        """(asset, free, locked) of every asset the account has held, by name."""
        if not self.funded(account):
            return []
        locked = self.locked[account]
        return [(a, self.free(account, a), locked.get(a, ZERO)) for a in sorted(self.balances[account])]

    def margin_used(self, account: str) -> Decimal:
        """Margin held by open positions and open orders (margin orders only)."""
        pos = sum((abs(p.cost) for (a, _), p in self.positions.items() if a == account), ZERO)
        return pos / self._lev() + sum(self.locked.get(account, {}).values(), ZERO)

    def position(self, account: str, symbol: str) -> Position:
        return self.positions.get((account, symbol), Position())

    def _lev(self) -> Decimal:
        return self.leverage if self.leverage is not None else Decimal(1)

    # orders ------------------------------------------------------------------------------------

    def requirement(
        self, account: str, symbol: str, side: int, qty: int, price: int | None, walk_cost: int, margin: bool
    ) -> tuple[str, Decimal]:
        """What an order must lock: (asset, amount). ``walk_cost`` is ticks x lots of the book a
        market order would take (its price estimate)."""
        inst = self.instruments[symbol]
        base, quote = self.assets[symbol]
        value = inst.tick * inst.lot * (walk_cost if price is None else price * qty)
        if margin:
            pos = self.position(account, symbol).lots
            reducing = min(qty, max(0, -pos if side == BID else pos))
            return quote, value * (qty - reducing) / qty / self._lev()
        if side == BID:
            return quote, value
        return base, inst.lot * qty

    def reserve(self, order: Order, walk_cost: int, margin: bool) -> None:
        """Lock what the order needs, or raise InsufficientFunds (the order is then never placed)."""
        if not self.funded(order.account):
            return
        asset, need = self.requirement(
            order.account, order.symbol, order.side, order.qty, order.price, walk_cost, margin
        )
        free = self.margin_free(order.account, asset) if margin else self.free(order.account, asset)
        if need > free:
            raise InsufficientFunds(margin, asset, need, free)
        order.lock_asset, order.lock, order.margin = asset, need, margin
        locked = self.locked[order.account]
        locked[asset] = locked.get(asset, ZERO) + need

    def on_fill(self, order: Order, fill: Fill) -> None:
        sign = 1 if order.side == BID else -1
        funded = self.funded(order.account)
        if funded:
            inst = self.instruments[order.symbol]
            base, quote = self.assets[order.symbol]
            bal, locked = self.balances[order.account], self.locked[order.account]
            value = inst.tick * inst.lot * fill.price * fill.qty
            # The lock shrinks with the order's remaining size (a cash buy: by what the fill cost).
            if order.margin or order.side != BID:
                share = order.lock * fill.qty / max(1, order.qty - order.filled + fill.qty)
            else:
                share = min(order.lock, value)
            order.lock -= share
            locked[order.lock_asset] = locked.get(order.lock_asset, ZERO) - share
            if not order.margin:
                bal[base] = bal.get(base, ZERO) + sign * inst.lot * fill.qty
                bal[quote] = bal.get(quote, ZERO) - sign * value
        # Positions (and their entry prices) are kept for every account, funded or not.
        settle = funded and order.margin
        self._trade_position(order.account, order.symbol, sign * fill.qty, fill.price, settle)

    def can_replace(self, order: Order, lots: int, price: int | None) -> bool:
        """Could the account pay for ``order`` re-placed as ``lots`` at ``price``, its own lock
        released first?"""
        if not self.funded(order.account) or price is None:
            return True
        asset, need = self.requirement(order.account, order.symbol, order.side, lots, price, 0, order.margin)
        free = self.margin_free(order.account, asset) if order.margin else self.free(order.account, asset)
        return need <= free + (order.lock if asset == order.lock_asset else ZERO)

    def shrink(self, order: Order, lots: int) -> None:
        """The order got ``lots`` smaller in place: its lock shrinks in proportion."""
        if order.lock and self.funded(order.account):
            part = order.lock * lots / (order.qty - order.filled)
            order.lock -= part
            locked = self.locked[order.account]
            locked[order.lock_asset] = locked.get(order.lock_asset, ZERO) - part

    def on_done(self, order: Order) -> None:
        """The order left the book (filled, cancelled, expired): unlock what it still held."""
        if order.lock and self.funded(order.account):
            locked = self.locked[order.account]
            locked[order.lock_asset] = locked.get(order.lock_asset, ZERO) - order.lock
        order.lock = ZERO

    def _trade_position(self, account: str, symbol: str, lots: int, price: int, settle: bool) -> None:
        inst = self.instruments[symbol]
        pos = self.positions.setdefault((account, symbol), Position())
        value = inst.tick * inst.lot * price * lots
        if pos.lots == 0 or (pos.lots > 0) == (lots > 0):
            pos.lots += lots
            pos.cost += value
            return
        closing = min(abs(lots), abs(pos.lots)) * (1 if lots > 0 else -1)
        avg = pos.cost / pos.lots
        # Closing a long at a higher price (or a short at a lower one) is a profit.
        pnl = -closing * (inst.tick * inst.lot * price - avg)
        pos.cost -= avg * -closing
        pos.lots += closing
        if pos.lots == 0:
            pos.cost = ZERO
        rest = lots - closing
        if rest:
            pos.lots += rest
            pos.cost += inst.tick * inst.lot * price * rest
        self.realized[account] = self.realized.get(account, ZERO) + pnl
        if settle:
            # Margin positions settle profit and loss into the collateral as they close (a cash
            # account's balances already moved with each fill).
            _, quote = self.assets[symbol]
            bal = self.balances[account]
            bal[quote] = bal.get(quote, ZERO) + pnl
