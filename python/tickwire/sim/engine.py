"""The matching engine: user orders against the simulated book, in integer ticks and lots.

A marketable order takes liquidity from the book (the levels it eats change, and the step is
published as market data with its trades); the rest of a GTC limit order rests, and its size is added
to the public level. A resting order sits behind the liquidity already at its price: when the book
process trades a level down below the users' size there, the difference is filled, oldest order
first. Liquidity other participants cancel can never take the users' size with it.

Users' orders never match each other: an order skips users' resting size, and a remainder that would
rest across it expires (self-trade prevention, "expire taker"). Balances, margin and positions are the
ledger's (``accounts.py``): a funded account's order that it cannot pay for is refused before it
touches the book (EngineError code ``funds``). Not yet: fees.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from tickwire.sim.accounts import InsufficientFunds, Ledger
from tickwire.sim.market import ASK, BID, BookProcess, Instrument, Step, Trade

NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED = "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"


@dataclass
class Fill:
    price: int
    qty: int
    trade_id: int
    maker: bool
    time_ms: int = 0  # when it happened (venue clock at the order's request, or wall clock)


@dataclass
class Order:
    id: int
    account: str
    symbol: str
    side: int  # BID = buy, ASK = sell
    type: str  # "LIMIT" | "MARKET"
    tif: str  # "GTC" | "IOC" | "FOK"
    qty: int
    price: int | None
    client_id: str
    time_ms: int
    filled: int = 0
    quote: int = 0  # sum of price x qty over fills, in ticks x lots
    status: str = NEW
    fills: list[Fill] = field(default_factory=list)
    # What the order holds of the account's balance (the ledger's bookkeeping).
    lock_asset: str = ""
    lock: Decimal = Decimal(0)
    margin: bool = False
    post_only: bool = False  # refused (cancelled) rather than taking liquidity

    @property
    def open(self) -> bool:
        return self.status in (NEW, PARTIALLY_FILLED)


class EngineError(ValueError):
    """A rejected request; ``code`` is the venue-neutral reason."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code


# What happened to an order, as execution reports name it.
EXEC_NEW, EXEC_TRADE, EXEC_CANCELED, EXEC_EXPIRED, EXEC_REPLACED = (
    "NEW",
    "TRADE",
    "CANCELED",
    "EXPIRED",
    "REPLACED",
)
Listener = Callable[[Order, str, Fill | None], None]


class Engine:
    def __init__(self, books: dict[str, BookProcess], leverage: Decimal | None = None) -> None:
        self.books = books
        self.ledger = Ledger({s: b.inst for s, b in books.items()}, leverage)
        # Called for every order event (venues turn them into their private order streams).
        self.listeners: list[Listener] = []
        self._muted = 0
        self.orders: dict[int, Order] = {}
        self.by_client: dict[tuple[str, str], Order] = {}
        # symbol -> side -> price -> resting user orders, oldest first
        self.resting: dict[str, tuple[dict[int, deque[Order]], dict[int, deque[Order]]]] = {
            s: ({}, {}) for s in books
        }
        self._ids = itertools.count(1_000_001)
        # Every place request that reached the engine, by (account, client id), refused ones included
        # (an amend's re-placement of its order is not one). A client id counted twice is an order
        # sent twice: what exactly-once tests hold a client to.
        self.place_requests: Counter[tuple[str, str]] = Counter()

    # requests ----------------------------------------------------------------------------------

    def place(
        self,
        account: str,
        symbol: str,
        side: int,
        type_: str,
        qty: int,
        price: int | None,
        tif: str,
        client_id: str,
        now_ms: int,
        post_only: bool = False,
        margin: bool | None = None,
        check_limits: bool = True,
        replacing: bool = False,
        post_only_max_lots: int | None = None,
    ) -> tuple[Order, Step | None]:
        """Place an order. Returns it and the book step it caused (None if the book did not change).
        A ``post_only`` order that would take liquidity is cancelled instead, the book untouched.
        ``margin``: a margin order rather than a cash one (default: margin if the venue has leverage).
        The instrument's size and notional limits are checked first (EngineError ``min_qty``,
        ``max_qty``, ``notional``) unless ``check_limits`` is off (an amend's remainder);
        ``post_only_max_lots`` replaces the instrument's largest size for a post-only order where the
        venue lets one be larger (Bybit spot). Counted in
        ``place_requests`` unless ``replacing`` (an amend placing its order anew)."""
        if client_id and not replacing:
            self.place_requests[(account, client_id)] += 1
        if symbol not in self.books:
            raise EngineError("symbol", f"unknown symbol {symbol}")
        if qty <= 0:
            raise EngineError("qty", "quantity must be positive")
        if type_ == "LIMIT" and (price is None or price <= 0):
            raise EngineError("price", "a limit order needs a positive price")
        book = self.books[symbol]
        opp = book.side(1 - side)
        limit = price if type_ == "LIMIT" else None
        if check_limits:
            most = post_only_max_lots if post_only else None
            self._check_limits(book.inst, qty, limit if limit is not None else opp.best(), most)
        if client_id and (account, client_id) in self.by_client and self.by_client[(account, client_id)].open:
            raise EngineError("duplicate", "duplicate client order id")
        sign = 1 if side == BID else -1  # a buy crosses asks at or below its price

        def crosses(p: int) -> bool:
            return limit is None or sign * (limit - p) >= 0

        available = walk_cost = 0
        for p, lots in opp.top():
            if not crosses(p):
                break
            take = min(qty - available, lots - self._user_lots(symbol, 1 - side, p))
            available += take
            walk_cost += take * p
            if available >= qty:
                break
        if margin is None:
            margin = self.ledger.leverage is not None
        probe = Order(0, account, symbol, side, type_, tif, qty, price, client_id, now_ms)
        probe.post_only = post_only
        try:
            self.ledger.reserve(probe, walk_cost, margin)
        except InsufficientFunds as e:
            raise EngineError("funds", str(e)) from None
        opp_best = opp.best()
        if post_only and opp_best is not None and crosses(opp_best):
            order = self._new(probe)
            order.status = CANCELED
            self._emit(order, EXEC_NEW)
            self._emit(order, EXEC_EXPIRED)
            return order, None
        if tif == "FOK" and available < qty:
            order = self._new(probe)
            order.status = EXPIRED
            self._emit(order, EXEC_NEW)
            self._emit(order, EXEC_EXPIRED)
            return order, None
        order = self._new(probe)
        self._emit(order, EXEC_NEW)
        changes: list[tuple[int, int, int]] = []
        trades: list[Trade] = []
        left = qty
        for p, lots in opp.top():
            if left == 0 or not crosses(p):
                break
            others = lots - self._user_lots(symbol, 1 - side, p)
            take = min(left, others)
            if take <= 0:
                continue  # only users' own resting size here: no self-matching in v0
            book.trade_id += 1
            trades.append(Trade(book.trade_id, p, take, buyer_maker=(side == ASK)))
            order.fills.append(Fill(p, take, book.trade_id, maker=False, time_ms=now_ms))
            order.filled += take
            order.quote += p * take
            left -= take
            order.status = FILLED if left == 0 else PARTIALLY_FILLED
            self._emit(order, EXEC_TRADE, order.fills[-1])
            opp.set(p, lots - take)
            changes.append((1 - side, p, lots - take))
        still_crossing = (b := opp.best()) is not None and crosses(b)
        if left == 0:
            order.status = FILLED
        elif type_ == "LIMIT" and tif == "GTC" and not still_crossing:
            assert price is not None
            order.status = PARTIALLY_FILLED if order.filled else NEW
            own = book.side(side)
            new = own.levels.get(price, 0) + left
            own.set(price, new)
            changes.append((side, price, new))
            self.resting[symbol][side].setdefault(price, deque()).append(order)
        else:
            # IOC remainder, a market order the book could not fill, or a remainder that would
            # rest against the account's own orders (self-trade prevention: expire the taker).
            order.status = EXPIRED
            self._emit(order, EXEC_EXPIRED)
        return order, self._commit(book, changes, trades)

    def cancel(
        self, account: str, symbol: str, order_id: int | None, client_id: str | None
    ) -> tuple[Order, Step | None]:
        order = self.find(account, symbol, order_id, client_id)
        if not order.open:
            raise EngineError("unknown", "order is not open")
        step = None
        if order.type == "LIMIT" and order.tif == "GTC" and order.price is not None:
            queue = self.resting[symbol][order.side].get(order.price)
            if queue is not None and order in queue:
                queue.remove(order)
                if not queue:
                    del self.resting[symbol][order.side][order.price]
                book = self.books[symbol]
                side = book.side(order.side)
                new = side.levels.get(order.price, 0) - (order.qty - order.filled)
                side.set(order.price, new)
                step = self._commit(book, [(order.side, order.price, max(new, 0))], [])
        order.status = CANCELED
        self._emit(order, EXEC_CANCELED)
        return order, step

    def amend(
        self,
        account: str,
        symbol: str,
        order_id: int | None,
        client_id: str | None,
        qty: int | None,
        price: int | None,
        post_only_max_lots: int | None = None,
    ) -> tuple[Order, list[Step]]:
        """Change a resting order's size and/or price. It keeps its id. Only shrinking it keeps its
        place in the queue (as venues do); otherwise it goes to the back of the queue at its (new)
        price, and a new price that crosses the book trades like a new order. ``post_only_max_lots``
        as ``place`` takes it."""
        order = self.find(account, symbol, order_id, client_id)
        if not order.open or order.type != "LIMIT" or order.tif != "GTC":
            raise EngineError("unknown", "order is not open")
        if qty is not None and qty <= order.filled:
            raise EngineError("qty", "new quantity is not above the filled quantity")
        if qty is not None and qty < order.qty and price in (None, order.price):
            return order, self._shrink(order, qty)
        new_left = (qty if qty is not None else order.qty) - order.filled
        new_price = price if price is not None else order.price
        # Refused before anything moves: a failed amend leaves the order as it was.
        most = post_only_max_lots if order.post_only else None
        self._check_limits(self.books[symbol].inst, new_left + order.filled, new_price, most)
        if not self.ledger.can_replace(order, new_left, new_price):
            raise EngineError("funds", "insufficient balance for the amended order")
        self._muted += 1  # one REPLACED event, not a cancel and a new order
        try:
            _, removed = self.cancel(account, symbol, order.id, None)
            steps = [s for s in (removed,) if s is not None]
            del self.orders[order.id]
            self.by_client.pop((account, order.client_id), None)
            new_qty = (qty if qty is not None else order.qty) - order.filled
            new_price = price if price is not None else order.price
            replaced, step = self.place(
                account,
                symbol,
                order.side,
                "LIMIT",
                new_qty,
                new_price,
                "GTC",
                order.client_id,
                order.time_ms,
                margin=order.margin,  # a cash order on a venue with leverage (Bybit spot) stays one
                check_limits=False,
                replacing=True,
            )
        finally:
            self._muted -= 1
        # The same order continues: its id, its earlier fills.
        del self.orders[replaced.id]
        replaced.id, replaced.qty = order.id, new_qty + order.filled
        replaced.post_only = order.post_only
        replaced.filled += order.filled
        replaced.quote += order.quote
        replaced.fills[:0] = order.fills
        if replaced.status == NEW and replaced.filled:
            replaced.status = PARTIALLY_FILLED
        self.orders[replaced.id] = replaced
        if step is not None:
            steps.append(step)
        self._emit(replaced, EXEC_REPLACED)
        for f in replaced.fills[len(order.fills) :]:
            self._emit(replaced, EXEC_TRADE, f, ledger=False)  # the ledger saw them when they happened
        return replaced, steps

    def _shrink(self, order: Order, qty: int) -> list[Step]:
        assert order.price is not None
        gone = order.qty - qty
        self.ledger.shrink(order, gone)
        order.qty = qty
        book = self.books[order.symbol]
        side = book.side(order.side)
        new = side.levels.get(order.price, 0) - gone
        side.set(order.price, new)
        step = self._commit(book, [(order.side, order.price, max(new, 0))], [])
        self._emit(order, EXEC_REPLACED)
        return [step] if step is not None else []

    def rename(self, order: Order, client_id: str) -> None:
        """``order`` goes by ``client_id`` from now on (Binance spot's amend gives an order a new one)."""
        if self.by_client.get((order.account, order.client_id)) is order:
            del self.by_client[(order.account, order.client_id)]
        order.client_id = client_id
        self.by_client[(order.account, client_id)] = order

    def open_by_client(self, account: str, client_id: str) -> bool:
        """Whether an open order of ``account`` has ``client_id`` (client ids are unique among open ones)."""
        o = self.by_client.get((account, client_id))
        return o is not None and o.open

    def find(self, account: str, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        order = (
            self.orders.get(order_id)
            if order_id is not None
            else self.by_client.get((account, client_id or ""))
        )
        if order is None or order.account != account or order.symbol != symbol:
            raise EngineError("unknown", "Order does not exist.")
        return order

    def position(self, account: str, symbol: str) -> int:
        """Net lots bought minus sold by ``account`` in ``symbol``."""
        return sum(
            (f.qty if o.side == BID else -f.qty)
            for o in self.orders.values()
            if o.account == account and o.symbol == symbol
            for f in o.fills
        )

    def open_orders(self, account: str, symbol: str | None) -> list[Order]:
        return [
            o for o in self.orders.values() if o.account == account and o.open and symbol in (None, o.symbol)
        ]

    # the book process --------------------------------------------------------------------------

    def after_step(self, symbol: str, step: Step) -> None:
        """Reconcile a book-process step with resting user orders (fills, and protection of the
        users' size from other participants' cancels). May append corrective changes to ``step``."""
        resting = self.resting[symbol]
        if not resting[0] and not resting[1]:
            return
        traded = {(BID if t.buyer_maker else ASK, t.price) for t in step.trades}
        book = self.books[symbol]
        for s, p, lots in list(step.changes):
            queue = resting[s].get(p)
            if not queue:
                continue
            user = sum(o.qty - o.filled for o in queue)
            if lots >= user:
                continue
            if (s, p) in traded:
                self._fill_resting(symbol, s, p, user - lots, step)
            else:
                # Others can only cancel their own size: the users' part stays.
                book.side(s).set(p, user)
                step.changes.append((s, p, user))

    def _fill_resting(self, symbol: str, s: int, p: int, qty: int, step: Step) -> None:
        queue = self.resting[symbol][s][p]
        at = next((i for i in range(len(step.trades) - 1, -1, -1) if step.trades[i].price == p), None)
        tid = step.trades[at].id if at is not None else 0
        first = True
        while qty > 0 and queue:
            o = queue[0]
            take = min(qty, o.qty - o.filled)
            if not first and at is not None and step.trades[at].qty > take:
                # One trade per match, as venues number them: a further maker order filled by the
                # same aggressor is a trade of its own (its own id, its share out of the first's).
                book = self.books[symbol]
                book.trade_id += 1
                tid = book.trade_id
                step.trades[at] = replace(step.trades[at], qty=step.trades[at].qty - take)
                step.trades.append(Trade(tid, p, take, buyer_maker=step.trades[at].buyer_maker))
            first = False
            o.fills.append(Fill(p, take, tid, maker=True, time_ms=int(time.time() * 1000)))
            o.filled += take
            o.quote += p * take
            qty -= take
            if o.filled == o.qty:
                o.status = FILLED
                queue.popleft()
            else:
                o.status = PARTIALLY_FILLED
            self._emit(o, EXEC_TRADE, o.fills[-1])
        if not queue:
            del self.resting[symbol][s][p]

    def _emit(self, order: Order, exec_type: str, fill: Fill | None = None, ledger: bool = True) -> None:
        # The ledger sees every event, also the ones an amend keeps from the streams.
        if ledger and fill is not None:
            self.ledger.on_fill(order, fill)
        if ledger and not order.open:
            self.ledger.on_done(order)
        if self._muted:
            return
        for listener in self.listeners:
            listener(order, exec_type, fill)

    # helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _check_limits(inst: Instrument, qty: int, price: int | None, max_lots: int | None = None) -> None:
        """The instrument's size and notional limits (``price``: the limit, or for a market order the
        best opposite price, as Binance applies its minimum to market orders)."""
        if qty < inst.min_lots:
            raise EngineError("min_qty", f"order size below the minimum {inst.min_qty}")
        most = inst.max_lots if max_lots is None else max_lots
        if most and qty > most:
            shown = inst.max_qty if max_lots is None else inst.qty(max_lots)
            raise EngineError("max_qty", f"order size above the maximum {shown}")
        if inst.min_notional and price is not None:
            if inst.price(price) * inst.qty(qty) < inst.min_notional:
                raise EngineError("notional", f"order value below the minimum {inst.min_notional}")

    def _user_lots(self, symbol: str, s: int, p: int) -> int:
        q = self.resting[symbol][s].get(p)
        return sum(o.qty - o.filled for o in q) if q else 0

    def _new(self, probe: Order) -> Order:
        """The probe the ledger reserved for becomes a real order: an id, a client id, indexed."""
        oid = next(self._ids)
        order = probe
        order.id, order.client_id = oid, probe.client_id or f"sim-{oid}"
        self.orders[oid] = order
        self.by_client[(order.account, order.client_id)] = order
        return order

    @staticmethod
    def _commit(book: BookProcess, changes: list[tuple[int, int, int]], trades: list[Trade]) -> Step | None:
        if not changes:
            return None
        first = book.update_id + 1
        book.update_id += len(changes)
        return Step(first, book.update_id, changes, trades)
