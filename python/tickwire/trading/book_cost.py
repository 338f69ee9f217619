"""What a market order would cost, read from a live book: the notional it takes from the far side
(a buy the asks, a sell the bids) level by level, exactly. ``max_order_notional`` bounds a market
order by it (``RiskGate.market_cost``; ``md.trade`` prices from its own books)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from tickwire._core import OrderBook
from tickwire.trading.orders import Side

_ZERO = Decimal(0)
_FIRST = 50  # levels read first; more (x4 each time) only for an order that walks past them


def book_cost(books: Callable[[str], OrderBook], symbol: str, side: Side, qty: Decimal) -> Decimal | None:
    """The notional a market order of ``qty`` on ``side`` takes from ``books(symbol)``'s visible
    levels; None when there is no such book, it is not synced, or its levels cannot fill ``qty``
    (what lies past them is unknown, so nothing bounds the order's cost)."""
    try:
        book = books(symbol)
    except KeyError:
        return None
    if not book.is_synced:
        return None
    far = "ask" if side == "buy" else "bid"
    n = _FIRST
    while True:
        levels = book.levels_exact(far, n)
        left, cost = qty, _ZERO
        for price, size in levels:
            take = min(left, size)
            cost += take * price
            left -= take
            if left <= 0:
                return cost
        if len(levels) < n:
            return None
        n *= 4


def any_book(sources: Sequence[Callable[[str], OrderBook]]) -> Callable[[str], OrderBook]:
    """``books`` for :func:`book_cost` from several sessions' books (a gateway's ``[[market]]``
    entries of one venue): the first synced book of ``symbol`` any of them keeps; KeyError if none."""

    def books(symbol: str) -> OrderBook:
        for live_book in sources:
            try:
                book = live_book(symbol)
            except KeyError:
                continue
            if book.is_synced:
                return book
        raise KeyError(symbol)

    return books
