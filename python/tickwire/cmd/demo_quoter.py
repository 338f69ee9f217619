"""The strategy of ``tickwire demo``'s trading part (``demo_trade.py`` runs it): a bid and an ask one
tick inside the touch read with its own quotes taken out, re-quoted when the touch moves away, now
and then an IOC that reduces the position; orders leave from ``on_book`` through templates with
integer mantissas, each stamped from the read of the book frame that fired it (``Stamp``). What it
did is kept in a ``Result``, which the run's checks compare with the simulator's own records."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from tickwire.cmd.demo import State
from tickwire.cmd.demo_trade_view import _num

if TYPE_CHECKING:
    from tickwire.trading.rules import InstrumentRules

ZERO = Decimal(0)
MIN_GAP_S = 0.15  # between new orders: at most ~7 a second, well inside Binance's 100 per 10 s
QUOTE_LIFE_S = 0.25  # a quote lives at least this long before it is re-quoted
IOC_EVERY_S = 1.5
MAX_POS_SIZES = 4  # position limit, in order sizes


class Stamp(NamedTuple):
    """One template order's times, ns from the read of the book frame that fired it: ``on_book``
    entered; its bytes handed to the write (before the send syscall, whose cost on one host is the
    scheduler's: a woken simulator may take the core) and written; ``send`` returned. ``ready`` and
    ``written`` are None when the write waited inside send's task (rate budget, a connection)."""

    callback: int
    ready: int | None
    written: int | None
    returned: int


@dataclass
class Quote:
    side: str
    client_id: str
    price: int  # mantissa at the template's price scale
    born: float


@dataclass
class Result:
    """What the trading part did, as the demo counted it, and the checks against the simulator."""

    venue: str
    symbol: str
    base: str
    quote: str
    sent: dict[str, int] = field(default_factory=lambda: {"quote": 0, "ioc": 0, "flatten": 0})
    client_ids: list[str] = field(default_factory=list)
    fills: dict[str, Any] = field(default_factory=dict)  # "client id/trade id" -> Fill
    duplicate_fills: int = 0
    # Per template order, ns from the read of the book frame that fired it (``Stamp``).
    stamps: list[Stamp] = field(default_factory=list)
    send_errors: list[str] = field(default_factory=list)
    probe: str | None = None  # client id of the order whose answer the simulator lost
    probe_result: str = ""
    kill: Any = None
    dropped: bool = False  # the order-socket drop was injected
    position: Decimal = ZERO  # in the base asset, from the fills the demo was told of
    pnl: Decimal = ZERO  # the quote asset's change by those fills: the P&L, once flat
    # The simulator's truth (control URL): the account's orders with their fills, its balances.
    sim_orders: list[dict[str, Any]] = field(default_factory=list)
    start_balances: dict[str, Any] = field(default_factory=dict)
    end_balances: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok in self.checks)


class Quoter:
    """The strategy: state per side, fired from ``on_book``."""

    def __init__(self, venue: str, symbol: str, st: State, res: Result) -> None:
        self.venue, self.symbol, self.st, self.res = venue, symbol, st, res
        self.tr: Any = None
        self.tmpl: dict[tuple[str, str], Any] = {}
        self.tick = self.scale = self.qty = 0
        self.mult = 1
        self.size = self.max_pos = self.start_mid = ZERO
        self.quotes: dict[str, Quote] = {}
        self.in_flight: dict[str, asyncio.Future[Any]] = {}  # "buy"/"sell"/"ioc"/cancel ids -> future
        self.orders: dict[str, Any] = {}  # client id -> latest Order
        self.recent: dict[int, tuple[float, float]] = {}  # our price -> (qty, until) after it closed
        self.pos = self.cash = ZERO
        self.mid: float | None = None
        self.touch: tuple[float, float] | None = None
        self.last_send = 0.0
        self.next_ioc = 0.0
        self.ioc_side = "buy"
        self.running = False
        self.drop = "off"  # off -> arm -> armed -> probe -> done
        self.socket_connects = 0  # the order socket's connects when the fault was set
        self.recent_fills: list[str] = []

    # set-up ------------------------------------------------------------------------------------

    def start(self, tr: Any, mid: Decimal) -> None:
        self.tr = tr
        for side in ("buy", "sell"):
            self.tmpl[(side, "GTC")] = tr.template(self.symbol, side)
            self.tmpl[(side, "IOC")] = tr.template(self.symbol, side, tif="IOC")
        t = self.tmpl[("buy", "GTC")]
        self.scale = t.price_scale
        self.tick = int(t.rules.tick_size.scaleb(self.scale))
        self.start_mid = mid
        self.size = min_size(t.rules, mid) * 2
        self.qty = int(self.size.scaleb(t.qty_scale))  # the same scale for every template of a symbol
        self.mult = 10**self.scale
        self.max_pos = self.size * MAX_POS_SIZES
        self.running = True
        self.next_ioc = time.monotonic() + IOC_EVERY_S

    # events from the session -------------------------------------------------------------------

    def on_order(self, o: Any) -> None:
        prev = self.orders.get(o.client_id)
        self.orders[o.client_id] = o
        if o.status == "unknown" and (prev is None or prev.status != "unknown"):
            self.st.log(f"order {o.client_id}: outcome UNKNOWN ({o.reason or 'no answer'}) — reconciling")
        if not o.is_open and o.status != "pending":
            for side, q in list(self.quotes.items()):
                if q.client_id == o.client_id:
                    del self.quotes[side]
                    if o.remaining > 0:
                        self.recent[q.price] = (float(o.remaining), time.monotonic() + 0.5)

    def on_fill(self, f: Any) -> None:
        key = f"{f.client_id}/{f.trade_id}"
        if key in self.res.fills:
            self.res.duplicate_fills += 1
            return
        self.res.fills[key] = f
        sign = 1 if f.side == "buy" else -1
        self.pos += sign * f.qty
        self.cash -= sign * f.qty * f.price
        self.recent_fills.append(
            f"[{time.monotonic() - self.st.started:5.1f}s] {f.side:4s} {_num(f.qty)} @ {_num(f.price)} "
            f"{f.liquidity or '?':5s} → position {_num(self.pos, '+')}"
        )
        del self.recent_fills[:-6]

    def pnl(self) -> Decimal | None:
        if self.mid is None:
            return None
        return self.cash + self.pos * Decimal(repr(self.mid))

    # the strategy ------------------------------------------------------------------------------

    def _ours(self, price: int) -> float:
        """Our own size at ``price``: a live quote's remaining, or a closed one's the feed may still show."""
        now = time.monotonic()
        qty = sum(
            float(o.remaining)
            for q in self.quotes.values()
            if q.price == price and (o := self.orders.get(q.client_id)) is not None
        )
        held = self.recent.get(price)
        if held is not None:
            if held[1] < now:
                del self.recent[price]
            else:
                qty += held[0]
        return qty

    def _external(self, book: Any, side: str, best: float) -> int | None:
        """The best price of ``side`` without our own quotes, as a mantissa (``best``: the book's)."""
        m: int = round(best * self.mult)
        if m not in self.recent and all(q.price != m for q in self.quotes.values()):
            return m  # not a price of ours: the common case, without reading more levels
        for px, qty in book.levels(side, 4):
            m = round(px * self.mult)
            if qty > self._ours(m) * (1 + 1e-9) + 1e-12:
                return m
        return None

    def on_book(self, book: Any) -> None:
        t0 = book.recv_ns
        t_cb = time.monotonic_ns()
        top = book.top()
        if top is None:
            return
        self.mid = (top[0] + top[2]) / 2
        if not self.running:
            return
        bid, ask = self._external(book, "bid", top[0]), self._external(book, "ask", top[2])
        if bid is None or ask is None:
            return
        self.touch = (bid / self.mult, ask / self.mult)
        if self.drop in ("arm", "probe"):
            return  # nothing new while the fault is set up or its order unresolved
        inside = 1 if ask - bid > 2 * self.tick else 0
        want = {"buy": bid + inside * self.tick, "sell": ask - inside * self.tick}
        allowed = {"buy": self.pos < self.max_pos, "sell": self.pos > -self.max_pos}
        now = time.monotonic()
        # At most one new order, first (the tick→order path), then the re-quotes' cancels.
        if now - self.last_send >= MIN_GAP_S and not (self.drop == "armed" and self.in_flight):
            if now >= self.next_ioc and "ioc" not in self.in_flight:
                side = "sell" if self.pos > 0 else "buy" if self.pos < 0 else self.ioc_side
                self.ioc_side = "sell" if side == "buy" else "buy"
                self.next_ioc = now + IOC_EVERY_S
                self._send(side, "IOC", ask if side == "buy" else bid, t0, t_cb)
            else:
                for side in ("buy", "sell") if self.pos <= 0 else ("sell", "buy"):
                    if side not in self.quotes and side not in self.in_flight and allowed[side]:
                        self._send(side, "GTC", want[side], t0, t_cb)
                        break
        if self.drop == "armed":
            return  # no cancel on the socket the fault is about to cut
        for side, q in list(self.quotes.items()):
            if q.client_id in self.in_flight or now - q.born < QUOTE_LIFE_S:
                continue
            if q.price != want[side] or not allowed[side]:
                self._cancel(q)

    def _send(self, side: str, tif: str, price: int, t0: int | None, t_cb: int) -> None:
        tmpl = self.tmpl[(side, tif)]
        before, ready_before = tmpl.written_ns, _ready_ns(tmpl)
        try:
            task = tmpl.send(price, self.qty)  # the bytes are written when it returns (as a rule)
        except Exception as e:  # refused before anything was written (InvalidOrder, TradingHalted)
            self.res.send_errors.append(f"{type(e).__name__}: {e}")
            return
        if t0 is not None:
            returned = time.monotonic_ns() - t0
            written = tmpl.written_ns - t0 if tmpl.written_ns != before else None
            ready = _ready_ns(tmpl)
            # Not the one Rust call (its stamp did not move): the written stamp stands in, over-counting.
            at = (ready - t0 if ready != ready_before else written) if written is not None else None
            self.res.stamps.append(Stamp(t_cb - t0, at, written, returned))
        self.last_send = time.monotonic()
        self.res.sent["ioc" if tif == "IOC" else "quote"] += 1
        probe = self.drop == "armed"
        if probe:
            self.drop = "probe"
        slot = "ioc" if tif == "IOC" else side
        self.in_flight[slot] = task
        task.add_done_callback(lambda f: self._sent(slot, side, tif, price, f, probe))

    def _sent(
        self, slot: str, side: str, tif: str, price: int, fut: asyncio.Future[Any], probe: bool
    ) -> None:
        self.in_flight.pop(slot, None)
        if fut.cancelled():
            return
        e = fut.exception()
        if e is not None:
            self.res.send_errors.append(f"{type(e).__name__}: {e}")
            if probe:
                self.res.probe_result = f"{type(e).__name__}: {e}"
                self.st.log(f"the order sent into the drop: {type(e).__name__}: {e}")
                self.drop = "done"
            return
        o = fut.result()
        self.res.client_ids.append(o.client_id)
        self.orders.setdefault(o.client_id, o)
        if tif == "GTC" and o.is_open:
            self.quotes[side] = Quote(side, o.client_id, price, time.monotonic())
        if probe:
            self.res.probe = o.client_id
            ws = self.tr.orders_ws
            cut = ws is not None and (not ws.connected or ws.connects > self.socket_connects)
            self.res.probe_result = (
                f"{o.status}, venue id {o.order_id}, filled {_num(o.filled)} of {_num(o.qty)}"
            )
            self.st.log(
                f"order {o.client_id} went out on the order socket, which was cut before its answer"
                if cut
                else f"order {o.client_id}: its socket was NOT cut"
            )
            self.st.log(f"RECONCILED order {o.client_id}: found at the venue — {self.res.probe_result}")
            self.drop = "done"

    def _cancel(self, q: Quote) -> None:
        async def go() -> None:
            try:
                await self.tr.cancel_order(self.symbol, client_id=q.client_id)
            except Exception as e:  # filled meanwhile (OrderNotFound) or a cut socket: the kill settles it
                o = self.orders.get(q.client_id)
                if o is None or o.is_open:
                    self.st.log(f"cancel {q.client_id}: {type(e).__name__}: {e}")

        self.in_flight[q.client_id] = fut = asyncio.ensure_future(go())
        fut.add_done_callback(lambda _: self.in_flight.pop(q.client_id, None))

    async def quiesce(self, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < end:
            await asyncio.sleep(0.01)


def min_size(rules: InstrumentRules, price: Decimal) -> Decimal:
    """The smallest quantity the instrument's rules accept at about ``price`` (10% margin on the
    notional for a moving market)."""
    notional = (rules.min_notional or ZERO) * Decimal("1.1")
    lots = (notional / price / rules.lot_size).to_integral_value(rounding=ROUND_CEILING)
    return max(rules.min_qty or ZERO, lots * rules.lot_size, rules.lot_size)


def _ready_ns(tmpl: Any) -> int:
    """When the template's one Rust call last handed bytes to the write, over either form."""
    return max((f.ready_ns for f in (tmpl.rest, tmpl.ws) if f is not None), default=0)
