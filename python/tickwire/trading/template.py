"""Order templates: the fast path from a price to a signed order on the wire.

    tmpl = tr.template("BTCUSDT", "buy")            # built once: limit GTC, REST and WS API forms
    order = await tmpl.send(4_325_012, 1_000)       # ints at the instrument's scale: 43250.12 x 0.01

``send`` fills the pre-built request bytes in Rust in one call (:class:`tickwire._core.OrderTemplate`:
price, quantity, client id, timestamp and signature written into their slots, the instrument's tick,
lot and bounds checked as integers, the pre-keyed HMAC), then does what ``place_order`` does around
the request: the order tracked under its client id before anything is written, the rate budget taken,
the bytes written on the order socket when it is up (transport ``"ws"``/``"auto"``) or on the session's
kept-alive HTTP connection, the answer applied like ``place_order``'s and a lost answer reconciled by
the session's reconciler, never resent. The bytes are exactly what ``place_order`` would send for the
same order, client id and timestamp.

An ``int`` is a mantissa at the template's ``price_scale``/``qty_scale`` and a ``Mantissa(value, scale)``
is rescaled to it exactly (both checked in Rust); ``Decimal``/``str`` are checked against tick and lot
in Python first (the same rules as ``place_order``). A price off the tick or a quantity off the lot raises
:class:`InvalidOrder` (with ``rule`` and ``nearest``) and nothing is written.

Binance spot with an HMAC key (REST and WS API), OKX spot (the ``order`` op on the logged-in order
socket) and Bybit spot (``order.create`` on the authenticated trade socket, its layout cut out of the
slow path's own request rendered with sentinel values, so byte-equal by construction); for the
socket-only ones ``send`` takes ``place_order``'s path while the socket is down. Limit orders, for
now; anything else is ``NotSupported`` (use ``place_order``). A session whose key was rotated
(``tr.rotate``) has its templates' bytes rebuilt for the new key on their next ``send``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import orjson

from tickwire import _core
from tickwire.auth import now_ms
from tickwire.errors import (
    InvalidOrder,
    NotSupported,
    RateLimitError,
    RequestTimeoutError,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.trading.intake import audit_fields
from tickwire.trading.numbers import Mantissa, strip_zeros, to_decimal
from tickwire.trading.orders import Order, OrderEvent, OrderType, Side, Tif
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.wire import RATE_RESENDS

if TYPE_CHECKING:
    from tickwire.trading.session import TradingSession
    from tickwire.trading.stream import OrderSocket

__all__ = ["OrderTemplate"]


def _scale(d: Decimal | None) -> int:
    if not d:
        return 0
    exp = strip_zeros(d).as_tuple().exponent
    assert isinstance(exp, int)
    return max(0, -exp)


def _mantissa(d: Decimal | None, scale: int, rounding: str) -> int:
    """``d`` at ``scale`` decimals as an int (0 for no rule), rounded towards the inside of a bound."""
    if not d:
        return 0
    return int(d.scaleb(scale).to_integral_value(rounding))


class OrderTemplate:
    """One (symbol, side, type, time in force) of a started :class:`TradingSession`, pre-built for
    each transport it may take. Use ``tr.template(...)``."""

    def __init__(
        self,
        session: TradingSession,
        symbol: str,
        side: Side,
        type: OrderType = "limit",
        tif: Tif = "GTC",
        post_only: bool = False,
    ) -> None:
        venue = session.venue
        if type != "limit":
            raise NotSupported(f"{venue}: order templates place limit orders only (use place_order)")
        if side not in ("buy", "sell"):
            raise InvalidOrder(f"side must be 'buy' or 'sell', not {side!r}")
        if tif not in ("GTC", "IOC", "FOK"):
            raise InvalidOrder(f"tif must be 'GTC', 'IOC' or 'FOK', not {tif!r}")
        rules = session.rules.get(symbol)
        if rules is None:
            raise InvalidOrder(f"{venue}: unknown symbol {symbol!r}")
        self.session = session
        self.symbol, self.side, self.type, self.tif, self.post_only = symbol, side, type, tif, post_only
        self.rules: InstrumentRules = rules
        ps = max(_scale(rules.tick_size), _scale(rules.min_price), _scale(rules.max_price))
        qs = max(_scale(rules.lot_size), _scale(rules.min_qty), _scale(rules.max_qty))
        self.price_scale, self.qty_scale = ps, qs
        # time.monotonic_ns() right after the last send wrote its bytes in send() itself (0: none
        # yet): with a book's recv_ns, the in-process tick→order time.
        self.written_ns = 0
        self._build()

    def _build(self) -> None:
        """The request bytes for the session's current signer (built again after a key rotation)."""
        from tickwire.venues import okx
        from tickwire.venues.binance.orders import Orders
        from tickwire.venues.bybit.orders import Orders as BybitOrders

        s, rules, ps, qs = self.session, self.rules, self.price_scale, self.qty_scale
        grammar: Any = s.grammar
        self._okx = _is_spot(grammar, okx.Orders)
        bybit = _is_spot(grammar, BybitOrders)
        self._socket_only = self._okx or bybit
        if not (self._socket_only or _is_spot(grammar, Orders)):
            raise NotSupported(
                f"{s.venue}: order templates are built for Binance, OKX and Bybit spot only (use place_order)"
            )
        http = s.wire.http
        if http is None:
            raise TransportError(f"{s.venue}: trading session is not started")
        signer = self._signer = s.signer
        # The Call place_order would build (a sample order): its rate cost, its usage headers' reader,
        # its audit record's shape.
        sample = Order(
            venue=s.venue, symbol=self.symbol, side=self.side, type="limit", tif=self.tif,
            price=rules.tick_size or Decimal(1), qty=rules.lot_size or Decimal(1), client_id="template",
            post_only=self.post_only,
        )  # fmt: skip
        self._call = grammar.new_order(sample)
        self._path: str = self._call.path
        self._cost: dict[str, int] = grammar.cost(self._call) if hasattr(grammar, "cost") else {}
        self._take = s.budget.taker(self._cost, "order")
        ints: dict[str, Any] = dict(
            price_scale=ps,
            qty_scale=qs,
            tick=_mantissa(rules.tick_size, ps, ROUND_CEILING),
            lot=_mantissa(rules.lot_size, qs, ROUND_CEILING),
            min_price=_mantissa(rules.min_price, ps, ROUND_CEILING),
            max_price=_mantissa(rules.max_price, ps, ROUND_FLOOR),
            min_qty=_mantissa(rules.min_qty, qs, ROUND_CEILING),
            max_qty=_mantissa(rules.max_qty, qs, ROUND_FLOOR),
            min_notional=_mantissa(rules.min_notional, ps + qs, ROUND_CEILING),
            max_notional=_mantissa(rules.max_notional, ps + qs, ROUND_FLOOR),
        )
        self.rest: _core.OrderTemplate | None
        self._ttl_ms = 0
        if bybit:
            # order.create on the authenticated trade socket: unsigned, laid out from the slow path.
            self.rest = None
            self.ws = _core.OrderTemplate.unsigned(_slots(grammar, signer, sample), **ints)
            return
        if self._okx:
            # The order socket's `order` op only (logged in, unsigned); with the socket down, send()
            # takes place_order's path. expTime is the local clock plus the grammar's time to live.
            self._ttl_ms = int(getattr(grammar, "request_ttl_ms", 0) or 0)
            ord_type = orjson.loads(self._call.body)["ordType"]
            self.rest = None
            self.ws = _core.OrderTemplate.okx_ws(
                self.symbol, self.side, ord_type, expires=self._ttl_ms > 0, **ints
            )
            return
        common: dict[str, Any] = dict(
            tif=self.tif,
            post_only=self.post_only,
            resp_type=self._call.params["newOrderRespType"],
            recv_window=getattr(signer, "recv_window", None) or None,
            **ints,
        )
        vside = self.side.upper()
        head, tail = http.request_parts("POST", self._path, signer.headers())
        self.rest = _core.OrderTemplate.binance_spot(
            signer, self.symbol, vside, transport="rest", head=head, tail=tail, **common
        )
        self.ws = _core.OrderTemplate.binance_spot(signer, self.symbol, vside, transport="ws", **common)

    def _mantissas(self, price: object, qty: object) -> tuple[int, int]:
        """``(price, qty)`` as mantissas: ints as they are, anything else checked by the rules."""
        if type(price) is int and type(qty) is int:
            return price, qty
        p, q = _at(price, self.price_scale), _at(qty, self.qty_scale)
        if p is not None and q is not None:  # Mantissas rescaled exactly: checked in Rust
            return p, q
        pd = self._decimal(price, self.price_scale, "price")
        qd = self._decimal(qty, self.qty_scale, "qty")
        self.rules.validate(self.side, "limit", qd, pd)  # off tick or lot: InvalidOrder with nearest
        pm, qm = pd.scaleb(self.price_scale), qd.scaleb(self.qty_scale)
        if pm != pm.to_integral_value() or qm != qm.to_integral_value():
            raise InvalidOrder(
                f"{self.symbol}: price {price} or qty {qty} has more decimals than the template's "
                f"{self.price_scale} and {self.qty_scale}"
            )
        return int(pm), int(qm)

    @staticmethod
    def _decimal(x: object, scale: int, what: str) -> Decimal:
        if type(x) is int:
            return Decimal(x).scaleb(-scale)
        return to_decimal(x, what, positive=True)

    def _explain(self, p: int, q: int) -> None:
        """The rules' own error (rule, nearest valid values) for mantissas Rust refused."""
        pd = Decimal(p).scaleb(-self.price_scale) if p > 0 else p
        qd = Decimal(q).scaleb(-self.qty_scale) if q > 0 else q
        self.rules.validate(self.side, "limit", qd, pd)
        if max(p, q) >= 2**64:
            raise InvalidOrder(f"{self.symbol}: price or qty mantissa out of range")

    def order(self, price: int, qty: int, client_id: str) -> Order:
        """The intent the tracker registers for mantissas ``price`` and ``qty``."""
        s = self.session
        return Order(
            venue=s.venue, symbol=self.symbol, side=self.side, type="limit", tif=self.tif,
            price=Decimal(price).scaleb(-self.price_scale), qty=Decimal(qty).scaleb(-self.qty_scale),
            client_id=client_id, post_only=self.post_only,
        )  # fmt: skip

    def _socket_up(self) -> bool:
        ws = self.session.orders_ws
        return ws is not None and ws.connected

    def _fill(self, p: int, q: int, cid: str) -> tuple[OrderSocket | None, str, bytes]:
        """The request bytes for where the order goes now: the order socket (returned, with the
        request id) when it is up, else REST (None); ``InvalidOrder`` and nothing produced when the
        numbers break the instrument's rules."""
        s = self.session
        ws = s.orders_ws if self._socket_up() else None
        rid = ws.next_id() if ws is not None else ""
        ts = now_ms() + self._ttl_ms if self._okx else s.signer._clock()
        tmpl = self.ws if ws is not None else self.rest
        if tmpl is None:  # a socket-only template with its socket gone: the caller decides
            return None, "", b""
        return ws, rid, self._checked(tmpl, p, q, cid, ts, rid)

    def _checked(
        self, tmpl: _core.OrderTemplate, p: int, q: int, cid: str = "c", ts: int = 0, rid: str = "r"
    ) -> bytes:
        """``tmpl`` filled; the rules' own error (rule, nearest) when Rust refuses the numbers."""
        try:
            return tmpl.fill(p, q, cid, ts, rid)
        except (InvalidOrder, OverflowError):  # OverflowError: a negative or huge int
            self._explain(p, q)
            raise

    def send(self, price: object, qty: object) -> asyncio.Task[Order]:
        """Places one order at ``price`` for ``qty``: the bytes are on the wire when ``send`` returns,
        and the returned task ends with the order as the venue answered it (or as reconciliation found
        it), exactly as ``place_order``'s. Call it straight from ``on_book``; await the task or leave
        it (a rejection also reaches ``on_order``/``events()``, and the task's exception is marked
        retrieved so asyncio does not log it).

        Raised at once, nothing written: :class:`InvalidOrder` (off tick or lot, out of bounds) and
        :class:`TradingHalted`. The write waits, inside the task, only when it must: for the rate
        budget, for the dead-man switch's first arming on the symbol, or for a connection to open
        (none idle); the bytes are then signed anew when it goes.

        The order is registered with the tracker right after the write, in the same step of the
        event loop (no answer or stream event can arrive before it is tracked)."""
        s = self.session
        if s.halted is not None:
            s._refuse_if_halted("template send")
        p, q = self._mantissas(price, qty)
        if s.signer is not self._signer:  # rotated to a new key: its bytes
            self._build()
        loop = asyncio.get_running_loop()
        if self._socket_only and not self._socket_up():  # no REST form pre-built: place_order's path
            self._checked(self.ws, p, q)
            slow = s.place_order(
                self.symbol, self.side, "limit", Decimal(q).scaleb(-self.qty_scale),
                Decimal(p).scaleb(-self.price_scale), tif=self.tif, post_only=self.post_only,
            )  # fmt: skip
            task = loop.create_task(slow)
        else:
            cid = s.client_ids.next()
            ws, rid, data = self._fill(p, q, cid)  # InvalidOrder here: nothing written
            written: Any = None
            order: Order | None = None
            dm, taken = s.dead_man, False
            if (dm is None or dm.covers(self.symbol)) and self._take() <= 0:
                taken = True
                if ws is not None:
                    written = ws.write(data, rid)
                elif s.wire.http is not None and not (s.transport == "ws" and s.orders_ws is not None):
                    written = s.wire.http.write_raw(data)
                if written is not None:
                    self.written_ns = time.monotonic_ns()
                    order = self._track(p, q, cid, ws is not None)
            task = loop.create_task(self._complete(p, q, cid, ws, rid, data, written, order, taken))
        task.add_done_callback(_retrieved)
        return task

    def _track(self, p: int, q: int, cid: str, on_socket: bool) -> Order:
        """Registers the order just written (or about to be settled by reconciliation)."""
        s = self.session
        order = self.order(p, q, cid)
        s.tracker.track(order)
        s._sent_ms[cid] = int(time.time() * 1000)
        if s._audited:
            s.audit.event("order_request", **audit_fields(order))
            s.wire._audit_request(s.grammar.new_order(order), "ws" if on_socket else "rest")
        return order

    async def _complete(
        self,
        p: int,
        q: int,
        cid: str,
        ws: OrderSocket | None,
        rid: str,
        data: bytes,
        written: Any,
        order: Order | None,
        taken: bool,
    ) -> Order:
        """The rest of :meth:`send`: the write when it had to wait (``written`` None), then the answer
        applied, a lost one reconciled. A refusal with a remedy (a venue clock re-measured, a token
        renewed, a fresh nonce) or the venue's rate-limit refusal (after its block) is sent once more
        with the same client id, signed anew, as ``place_order``'s request path does: the venue did not
        take the order. Any other refusal is recorded as the order's rejection and raised."""
        s = self.session
        tracked: list[Order] = [] if order is None else [order]

        def track() -> None:  # right after the write, before anything else runs
            if not tracked:
                tracked.append(self._track(p, q, cid, ws is not None))

        wire = s.wire
        remedied, resends = False, 0
        while True:
            sending = False
            started = time.monotonic()
            try:
                if written is None:
                    if s.dead_man is not None:
                        await s.dead_man.cover(self.symbol)
                    if not taken and s.budget.try_take(self._cost, "order") > 0:
                        await s.budget.acquire(self._cost, "order")
                    ws, rid, data = self._fill(p, q, cid)  # signed anew after the wait, where it goes now
                sending = True
                wire.requests += 1
                body = await self._answer(ws, rid, data, written, track)
                break
            except (UnknownOutcome, RequestTimeoutError, TransportError) as e:
                track()  # tracked as place_order does before sending: the reconciler settles it
                return await s.reconciler.resolve(tracked[0], str(e))
            except TickwireError as e:
                track()
                written, taken = None, False
                if sending and isinstance(e, RateLimitError):  # the venue's: nothing more to that limit
                    code = getattr(e, "code", None)  # until its window passed, from any session
                    named = s.budget.limit_for_code(code)
                    blocked = s.budget.refused(named or None, getattr(e, "retry_after", None), self._cost)
                    e.__dict__["retry_after"] = blocked
                    if resends < RATE_RESENDS and blocked <= s.budget.max_wait_s:
                        resends += 1
                        wire.rate_resends += 1  # the next acquire waits the block out
                        continue
                remedy = None if remedied or not sending else wire.remedies.remedy_for(e)
                if remedy is not None:
                    remedied = True

                    async def resync(rounds: int, since: float = started) -> float:
                        return await wire.measure_clock(rounds, since=since)

                    if await wire.remedies.apply(remedy, e, self._call, s.signer, resync):
                        continue
                s.tracker.apply(
                    OrderEvent(source="rest", client_id=cid, order_id=None, status="rejected", reason=str(e))
                )
                raise
        await s.answered(self.symbol, body)
        got = s.tracker.get(cid)
        assert got is not None
        return got

    async def _answer(
        self, ws: OrderSocket | None, rid: str, data: bytes, written: Any, track: Callable[[], None]
    ) -> Any:
        """The venue's answer to ``data``: on the order socket, or over REST (already written when
        ``written`` is set), read by the grammar."""
        s, wire = self.session, self.session.wire
        if ws is not None:
            if written is not None:
                return await ws.answer(written, rid, wire._ws_usage)
            return await ws.request(data, wire._ws_usage, rid, track)
        if (s.transport == "ws" and s.orders_ws is not None) or self._socket_only:
            raise TransportError(f"{s.venue}: the order socket is down (transport='ws')")
        http = wire.http
        if http is None:
            raise TransportError(f"{s.venue}: trading session is not started")
        r = await http.finish_raw("POST", self._path, data, written, sent=track)
        return wire._read(r.status, r.body, r.headers, self._call)


def _retrieved(task: asyncio.Task[Order]) -> None:
    """Marks a send's exception retrieved: a caller that never awaits the task learns of a refusal
    from the tracker's events, and one that does still gets it raised."""
    if not task.cancelled():
        task.exception()


# Values no real order carries, rendered by the slow path and then cut out of its bytes as slots.
_SENTINELS: dict[str, str] = {
    "price": "97531.8642097531",
    "qty": "86420.9753186421",
    "client_id": "zqxCIDzqx",
    "timestamp": "9876543210123",
    "request_id": "zqxRIDzqx",
}


class _StampAt:
    """The signer as the slow path sees it, its clock reading the timestamp sentinel."""

    def __init__(self, signer: Any) -> None:
        self._signer = signer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._signer, name)

    def ws_header(self, *, timestamp: int | None = None) -> Any:
        return self._signer.ws_header(timestamp=int(_SENTINELS["timestamp"]))


def _slots(grammar: Any, signer: Any, sample: Order) -> list[bytes | str]:
    """The slow path's own socket request for ``sample``, with sentinel values, cut into literal bytes
    and slots: the template is byte-equal to the slow path by construction (each sentinel must appear
    exactly once, else ``NotSupported``)."""
    order = replace(
        sample, price=Decimal(_SENTINELS["price"]), qty=Decimal(_SENTINELS["qty"]),
        client_id=_SENTINELS["client_id"],
    )  # fmt: skip
    data: bytes = grammar.ws_request(grammar.new_order(order), _StampAt(signer), _SENTINELS["request_id"])
    marks = {v.encode(): k for k, v in _SENTINELS.items()}
    if any(data.count(m) != 1 for m in marks):
        raise NotSupported(f"{grammar.venue}: its socket request cannot be laid out as a template")
    parts: list[bytes | str] = []
    rest = data
    while rest:
        found = [(rest.find(m), m) for m in marks if m in rest]
        if not found:
            parts.append(rest)
            break
        at, m = min(found)
        if at:
            parts.append(rest[:at])
        parts.append(marks[m])
        rest = rest[at + len(m) :]
    return parts


def _at(x: object, scale: int) -> int | None:
    """``x`` as a mantissa at ``scale`` without Decimal arithmetic: an int as it is, a ``Mantissa``
    rescaled when exactly possible; None otherwise (the rules' path decides)."""
    if type(x) is int:
        return x
    if isinstance(x, Mantissa) and type(x.value) is int and type(x.scale) is int:
        value: int = x.value
        if x.scale <= scale:
            mul: int = 10 ** (scale - x.scale)
            return value * mul
        div: int = 10 ** (x.scale - scale)
        if value % div == 0:
            return value // div
    return None


def _is_spot(grammar: object, spot: type) -> bool:
    return type(grammar) is spot
