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

Limit and market orders (``send(None, qty)`` for a market template): Binance spot and USDⓈ-M with an
HMAC key (REST and WS API), OKX and Bybit spot (REST and their order sockets), HTX spot (REST), Kraken
(the v2 ``add_order`` on its socket; ``place_order``'s path, with the template's type, while the socket
is down), Tradefence (REST with the bearer token), Clarofinlore (REST with the session's access
token, its ``X-Nonce`` drawn fresh in Rust for every order and signed where the signer's composition
puts it) and Coinbase Advanced Trade (REST: its ``Authorization: Bearer`` JWT written and signed in
Rust for every order, ES256 or EdDSA, from the signer's key, the order's time and a fresh nonce).
Binance spot limit orders use the hand-written layouts of
``rust/order/binance.rs``; every other layout is cut out of the slow path's own request rendered with
sentinel values (``_layout``: the REST path run up to its write, which is caught, or the socket form;
the venue's signed text read from that request) and proven when built (``_checked``: a probe order
filled by the template, with a fixed nonce where it has one, is byte for byte what the slow path
renders, else ``NotSupported``). Anything else is ``NotSupported`` (use ``place_order``). A session
whose key was rotated (``tr.rotate``) has its templates' bytes rebuilt for the new key on their next
``send``."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson
from picows import WSMsgType

from tickwire import _core
from tickwire.errors import (
    AuthError,
    InvalidOrder,
    NotSupported,
    RateLimitError,
    RequestTimeoutError,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.trading.codes import invalid_order
from tickwire.trading.intake import audit_fields
from tickwire.trading.numbers import Mantissa, strip_zeros, to_decimal
from tickwire.trading.orders import Order, OrderEvent, OrderType, Side, Tif
from tickwire.trading.remedy import VenueClock
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.wire import RATE_RESENDS

if TYPE_CHECKING:
    from tickwire.trading.session import TradingSession
    from tickwire.trading.stream import OrderSocket

__all__ = ["OrderTemplate"]

# Client ids a form is given at a time to spell itself (``ClientIds.reserve``).
IDS_AT_ONCE = 256


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
        if type not in ("limit", "market"):
            raise InvalidOrder(f"type must be 'limit' or 'market', not {type!r}")
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
        if type == "market":  # its own lot and bounds where the venue has them (Binance, OKX)
            qs = max(
                qs, _scale(rules.market_lot_size), _scale(rules.market_min_qty), _scale(rules.market_max_qty)
            )
        self.price_scale, self.qty_scale = ps, qs
        # time.monotonic_ns() right after the last send wrote its bytes in send() itself (0: none
        # yet): with a book's recv_ns, the in-process tick→order time.
        self.written_ns = 0
        self._build()

    def _build(self) -> None:
        """The request bytes for the session's current signer (built again after a key rotation)."""
        s, rules, ps, qs = self.session, self.rules, self.price_scale, self.qty_scale
        grammar: Any = s.grammar
        recipe = _recipes().get(type(grammar))
        if recipe is None:
            raise NotSupported(
                f"{s.venue}: order templates are built for Binance spot and USDⓈ-M, OKX, Bybit, HTX, "
                "Kraken, Tradefence, Clarofinlore and Coinbase only (use place_order)"
            )
        http = s.wire.http
        if http is None:
            raise TransportError(f"{s.venue}: trading session is not started")
        # ``self._signer`` is set once the forms are built: a build that fails (Clarofinlore's new
        # session not logged in yet after a rotation) is tried again on the next send.
        signer = s.signer
        market = self.type == "market"
        # The Call place_order would build (a sample order): its rate cost, its usage headers' reader,
        # its audit record's shape.
        sample = Order(
            venue=s.venue, symbol=self.symbol, side=self.side, type=self.type, tif=self.tif,
            price=None if market else rules.tick_size or Decimal(1), qty=rules.lot_size or Decimal(1),
            client_id="template", post_only=self.post_only,
        )  # fmt: skip
        self._call = grammar.new_order(sample)
        self._path: str = self._call.path
        self._cost: dict[str, int] = grammar.cost(self._call) if hasattr(grammar, "cost") else {}
        self._take = s.budget.taker(self._cost, "order")
        lot = (rules.market_lot_size or rules.lot_size) if market else rules.lot_size
        min_qty = max(rules.market_min_qty or Decimal(0), rules.min_qty) if market else rules.min_qty
        max_qty = (rules.market_max_qty or rules.max_qty) if market else rules.max_qty
        ints: dict[str, Any] = dict(
            price_scale=ps,
            qty_scale=qs,
            tick=_mantissa(rules.tick_size, ps, ROUND_CEILING),
            lot=_mantissa(lot, qs, ROUND_CEILING),
            min_price=_mantissa(rules.min_price, ps, ROUND_CEILING),
            max_price=_mantissa(rules.max_price, ps, ROUND_FLOOR),
            min_qty=_mantissa(min_qty, qs, ROUND_CEILING),
            max_qty=_mantissa(max_qty, qs, ROUND_FLOOR),
            # A market order's notional needs a reference price the template does not have: as in
            # place_order without one, the venue checks it.
            min_notional=0 if market else _mantissa(rules.min_notional, ps + qs, ROUND_CEILING),
            max_notional=0 if market else _mantissa(rules.max_notional, ps + qs, ROUND_FLOOR),
        )
        # The timestamp every form is filled with is the signer's clock (``_fill``); OKX's expTime adds
        # its time to live in Rust ("expiry"), so nothing is offset here.
        rest, ws, hand_written, self._baked_of = recipe
        # What the forms carry besides the key, read before they are rendered with it (Clarofinlore's
        # log-in or renewal starts here when due).
        baked = None if self._baked_of is None else self._baked_of(s)
        if hand_written and not market:
            # The hand-written Rust layouts (rust/order/binance.rs) of the spot limit order.
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
        else:
            self.rest = None if rest is None else _checked(self, ints, rest, sample)
            try:
                self.ws = None if ws is None else _checked(self, ints, ws, sample)
            except NotSupported:
                if s.orders_ws is not None:
                    raise
                self.ws = None  # no order socket in this session: its form is never used
        self._baked = baked
        self._signer = signer
        # The one-call path (``fire``): forms that spell their own client ids; not for requests that
        # carry a token renewed under them (Kraken, Tradefence, Clarofinlore: ``_fresh`` runs first).
        self._fast = self._baked_of is None
        self._stamps(signer)
        self._market = market
        for form in (self.rest, self.ws):
            if form is not None:
                form.give_ids(*s.client_ids.reserve(IDS_AT_ONCE))
        # Without a REST form, send() takes place_order's path while the socket is down.
        self._socket_only = self._rest is None
        if self._rest is None and (self._ws is None or s.orders_ws is None):
            raise NotSupported(f"{s.venue}: order templates need its order socket (transport 'ws'/'auto')")

    def _fresh(self) -> None:
        """Rebuilt when what the bytes carry besides the key changed (Kraken's socket token,
        Tradefence's and Clarofinlore's access tokens)."""
        if self._baked_of is not None:
            now = self._baked_of(self.session)
            if now and now != self._baked:
                self._build()

    @property
    def rest(self) -> _core.OrderTemplate | None:
        """The REST form (the whole HTTP/1.1 request), None where the venue has none laid out."""
        self._fresh()
        return self._rest

    @rest.setter
    def rest(self, t: _core.OrderTemplate | None) -> None:
        self._rest = t

    @property
    def ws(self) -> _core.OrderTemplate | None:
        """The order socket's form, None where the venue has none laid out."""
        self._fresh()
        return self._ws

    @ws.setter
    def ws(self, t: _core.OrderTemplate | None) -> None:
        self._ws = t

    def _mantissas(self, price: object, qty: object) -> tuple[int, int]:
        """``(price, qty)`` as mantissas: ints as they are, anything else checked by the rules. A market
        template takes ``None`` for the price (its mantissa is 0: the request has no price)."""
        if self.type == "market":
            if price is not None:
                raise invalid_order(
                    f"{self.symbol}: a market order takes no price (send(None, qty))", rule="price"
                )
            q = _at(qty, self.qty_scale)
            if q is None:
                qd = self._decimal(qty, self.qty_scale, "qty")
                self.rules.validate(self.side, "market", qd)
                q = self._exact(qd, qty, self.qty_scale)
            return 0, q
        if type(price) is int and type(qty) is int:
            return price, qty
        p, q = _at(price, self.price_scale), _at(qty, self.qty_scale)
        if p is not None and q is not None:  # Mantissas rescaled exactly: checked in Rust
            return p, q
        pd = self._decimal(price, self.price_scale, "price")
        qd = self._decimal(qty, self.qty_scale, "qty")
        self.rules.validate(self.side, "limit", qd, pd)  # off tick or lot: InvalidOrder with nearest
        return self._exact(pd, price, self.price_scale), self._exact(qd, qty, self.qty_scale)

    def _exact(self, d: Decimal, given: object, scale: int) -> int:
        m = d.scaleb(scale)
        if m != m.to_integral_value():
            raise InvalidOrder(f"{self.symbol}: {given} has more decimals than the template's {scale}")
        return int(m)

    @staticmethod
    def _decimal(x: object, scale: int, what: str) -> Decimal:
        if type(x) is int:
            return Decimal(x).scaleb(-scale)
        return to_decimal(x, what, positive=True)

    def _explain(self, p: int, q: int) -> None:
        """The rules' own error (rule, nearest valid values) for mantissas Rust refused."""
        pd = Decimal(p).scaleb(-self.price_scale) if p > 0 else p
        qd = Decimal(q).scaleb(-self.qty_scale) if q > 0 else q
        self.rules.validate(self.side, self.type, qd, None if self.type == "market" else pd)
        if max(p, q) >= 2**64:
            raise InvalidOrder(f"{self.symbol}: price or qty mantissa out of range")

    def order(self, price: int, qty: int, client_id: str) -> Order:
        """The intent the tracker registers for mantissas ``price`` and ``qty``."""
        s = self.session
        return Order(
            venue=s.venue, symbol=self.symbol, side=self.side, type=self.type, tif=self.tif,
            price=None if self.type == "market" else Decimal(price).scaleb(-self.price_scale),
            qty=Decimal(qty).scaleb(-self.qty_scale), client_id=client_id, post_only=self.post_only,
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
        ts = s.signer._clock()
        if self._baked_of is not None:
            self._fresh()
        tmpl = self._ws if ws is not None else self._rest
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
        if self._fast and type(qty) is int and s.halted is None:
            if price is None if self._market else type(price) is int:
                task = self._fire(s, price or 0, qty)  # type: ignore[arg-type]  # int, or None: market
                if task is not None:
                    return task
        if s.halted is not None:
            s._refuse_if_halted("template send")
        p, q = self._mantissas(price, qty)
        if s.signer is not self._signer:  # rotated to a new key: its bytes
            self._build()
        loop = asyncio.get_running_loop()
        if self._socket_only and not self._socket_up():  # no REST form pre-built: place_order's path
            form = self.ws
            assert form is not None  # socket-only: the socket's form is all it has
            self._checked(form, p, q)
            slow = s.place_order(
                self.symbol, self.side, self.type, Decimal(q).scaleb(-self.qty_scale),
                None if self._market else Decimal(p).scaleb(-self.price_scale), tif=self.tif,
                post_only=self.post_only,
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

    def _stamps(self, signer: Any) -> None:
        """What ``fire`` stamps requests with: the venue clock's estimate, read in Rust, when the signer
        signs with its session's venue clock on the local wall clock; else the signer's clock."""
        self._clock_fn = clock = signer._clock
        vc = getattr(clock, "__self__", None)
        sync = vc.sync if isinstance(vc, VenueClock) else None
        self._stamp: Any = sync.linear if sync is not None and sync.clock_ns is time.time_ns else clock

    def _fire(self, s: TradingSession, p: int, q: int) -> asyncio.Task[Order] | None:
        """:meth:`send` in one Rust call where nothing needs Python first (the form's client id, the
        rate budget, the fill, the signature, the write: ``OrderTemplate.fire``); None, nothing written,
        when something does (no form for where the order goes now, no idle connection, the budget has
        to wait, the dead-man switch is not armed on the symbol yet, the key was rotated): ``send``
        goes its way then."""
        if s.signer is not self._signer or not (s.dead_man is None or s.dead_man.covers(self.symbol)):
            return None
        if s.signer._clock is not self._clock_fn:  # a venue clock installed since
            self._stamps(s.signer)
        ws, conn, http = s.orders_ws, None, s.wire.http
        if ws is not None and ws.connected:
            form, t = self._ws, ws.transport
            if form is None or t is None:
                return None
            rid, head = ws.next_id(), WSMsgType.TEXT
            write: Callable[..., object] = t.send
        else:
            form, ws, rid, head = self._rest, None, "", None
            if form is None or http is None or (s.orders_ws is not None and s.transport == "ws"):
                return None
            conn = http.idle()
            if conn is None:
                return None
            assert conn.transport is not None  # usable
            write = conn.transport.write
        try:
            got = form.fire(p, q, self._stamp, rid, write, head, self._take)
            if got is None and not form.ids_left:
                form.give_ids(*s.client_ids.reserve(IDS_AT_ONCE))
                got = form.fire(p, q, self._stamp, rid, write, head, self._take)
        except (InvalidOrder, OverflowError):  # OverflowError: a negative or huge int
            if conn is not None:
                http.keep(conn)  # type: ignore[union-attr]
            self._explain(p, q)
            raise
        if got is None:  # the budget has to wait
            if conn is not None:
                http.keep(conn)  # type: ignore[union-attr]
            return None
        self.written_ns = time.monotonic_ns()
        written: Any = ws.expect(rid) if ws is not None else http.written(conn)  # type: ignore[union-attr,arg-type]
        cid, data = got
        order = self._track(p, q, cid, ws is not None)
        task = asyncio.get_running_loop().create_task(
            self._complete(p, q, cid, ws, rid, data, written, order, True)
        )
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
        remedied, resends, relogged = False, 0, False
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
                body = await self._answer(ws, rid, data, written, track, relogin=not relogged)
                break
            except _TokenRefused as e:  # the venue forgot its token (a restart): log in, send anew
                track()
                relogged, written, taken = True, None, False
                tokens = wire.tokens
                assert tokens is not None and wire.http is not None
                tokens.forget(e.token)
                wire.relogins += 1
                wire.audit.event("relogin", venue=s.venue, path=self._path)
                await tokens.ensure(wire.http)
                continue
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
        self,
        ws: OrderSocket | None,
        rid: str,
        data: bytes,
        written: Any,
        track: Callable[[], None],
        relogin: bool = False,
    ) -> Any:
        """The venue's answer to ``data``: on the order socket, or over REST (already written when
        ``written`` is set), read by the grammar. With ``relogin``, the venue's refusal of the session
        token the bytes carry raises ``_TokenRefused`` (the caller logs in and sends anew, as
        ``place_order``'s request path does once)."""
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
        tokens = wire.tokens
        if relogin and tokens is not None and tokens.refused(r.status, r.body):
            raise _TokenRefused(self._baked)
        return wire._read(r.status, r.body, r.headers, self._call)


class _TokenRefused(Exception):
    """The venue refused the session token a template's request carried (``token``)."""

    def __init__(self, token: Any) -> None:
        super().__init__("session token refused")
        self.token = token


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
    "request_id": "tw5550123777",  # the order socket's form (tw<n>): Kraken writes n as its req_id
    "nonce": "deadbeefcafef00d5eed0ddba11c0de5",  # 32 hex characters as a real one (Clarofinlore)
}


_PROBE = (123_456_789, 987_654_321, "tw0probe0", 1_700_000_000_123, "tw0")
# The probe's nonce: fixed so that the template's bytes can equal the slow path's (``fill(nonce=)``).
_PROBE_NONCE = "0123456789abcdef0f1e2d3c4b5a6978"
# A JWT's (Coinbase's): 64 hex characters as a real one.
_PROBE_JWT_NONCE = _PROBE_NONCE + "fedcba98765432100f1e2d3c4b5a6978"


def _iso(ms: int, millis: bool) -> str:
    """``ms`` as OKX's ``OK-ACCESS-TIMESTAMP`` (``millis``) or HTX's form-encoded ``Timestamp``."""
    t = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{t}.{ms % 1000:03d}Z" if millis else t.replace(":", "%3A")


class _StampAt:
    """The signer as the slow path sees it, every clock reading and timestamp ``ts`` (and every
    nonce ``nonce`` when given: Clarofinlore's signer draws one per request)."""

    def __init__(self, signer: Any, ts: int, nonce: str | None = None) -> None:
        self._signer, self._ts, self._nonce = signer, ts, nonce

    def __getattr__(self, name: str) -> Any:
        return getattr(self._signer, name)

    def _clock(self) -> int:
        return self._ts

    def sign_request(self, *args: Any, timestamp: int | None = None, **kw: Any) -> Any:
        if self._nonce is not None:
            kw["nonce"] = self._nonce
        return self._signer.sign_request(*args, timestamp=self._ts, **kw)

    def ws_signed_params(self, params: Any, *, timestamp: int | None = None) -> Any:
        return self._signer.ws_signed_params(params, timestamp=self._ts)

    def ws_header(self, *, timestamp: int | None = None) -> Any:
        return self._signer.ws_header(timestamp=self._ts)


class _Rendered(Exception):
    """The bytes the slow path hands its transport, caught there: nothing is written."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class _CaptureHttp:
    """The session's HTTP client whose write is caught (``request`` builds the bytes as it does)."""

    def __init__(self, http: Any) -> None:
        self._http = http

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)

    def request(self, *args: Any, **kw: Any) -> Any:
        return type(self._http).request(self, *args, **kw)

    async def send_raw(self, method: str, path: str, data: bytes, **kw: Any) -> Any:
        raise _Rendered(data)


class _HeldTokens:
    """The session's access token as it is now (Clarofinlore's): rendering never logs in or renews;
    a renewed token rebuilds the template (``_baked_of``)."""

    def __init__(self, tokens: Any) -> None:
        self._tokens = tokens

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokens, name)

    async def ensure(self, http: Any) -> None:
        return None


class _CaptureWire:
    """The session's wire as its REST path sees it: the capturing HTTP client, a stamped signer, the
    token held."""

    def __init__(self, wire: Any, signer: Any) -> None:
        self._wire, self.signer, self.http = wire, signer, _CaptureHttp(wire.http)
        self.tokens = None if wire.tokens is None else _HeldTokens(wire.tokens)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wire, name)


def _render_rest(s: TradingSession, signer: Any, order: Order, rid: str) -> bytes:
    """The whole HTTP/1.1 request ``place_order`` writes for ``order`` (``Wire._rest`` run up to the
    write, which is caught)."""
    wire: Any = s.wire
    if wire.tokens is not None and not wire.tokens.token:  # its log-in started by ``_baked_of``
        raise AuthError(f"{s.venue}: the session is not logged in yet; its templates carry its token")
    call = s.grammar.new_order(order)
    coro = type(wire)._rest(_CaptureWire(wire, signer), call)
    try:
        coro.send(None)
    except _Rendered as r:
        data: bytes = r.data
        # The order's own request, not another the REST path wrote first (a log-in).
        method, target = data.split(b" ", 2)[:2]
        if method == call.method.encode() and target.split(b"?")[0].endswith(call.path.encode()):
            return data
        raise NotSupported(f"{s.venue}: its REST path wrote another request first; no template") from None
    finally:
        coro.close()
    raise NotSupported(f"{s.venue}: its REST request is not written in one step; no template")


def _render_ws(s: TradingSession, signer: Any, order: Order, rid: str) -> bytes:
    grammar: Any = s.grammar
    data: bytes | None = grammar.ws_request(grammar.new_order(order), signer, rid)
    if data is None:
        raise NotSupported(f"{s.venue}: its order socket has no form of a new order")
    return data


def _head(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def _body(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[1]


def _header(data: bytes, name: bytes) -> bytes:
    m = re.search(b"\r\n" + name + b": ([^\r]*)\r\n", _head(data) + b"\r\n")
    if m is None:
        raise NotSupported(f"no {name.decode()} header in the request")
    return m.group(1)


def _query(data: bytes, sig_param: bytes) -> bytes:
    """The request line's query up to the signature parameter (what the venue signs)."""
    target = data.split(b" ", 2)[1]
    return target.split(b"?", 1)[1].split(b"&" + sig_param + b"=", 1)[0]


# The text each venue's scheme MACs, read from the request the slow path rendered.
def _binance_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    return _query(data, b"signature") + _body(data)


def _binance_ws_signed(signer: Any, path: str, data: bytes) -> bytes:
    params = orjson.loads(data)["params"]
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature").encode()


def _okx_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    return _header(data, b"OK-ACCESS-TIMESTAMP") + b"POST" + path.encode() + _body(data)


def _bybit_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    ts, window = _header(data, b"X-BAPI-TIMESTAMP"), _header(data, b"X-BAPI-RECV-WINDOW")
    key: str = signer.api_key
    return ts + key.encode() + window + _body(data)


def _htx_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    return b"\n".join((b"POST", signer.host.lower().encode(), path.encode(), _query(data, b"Signature")))


def _claro_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    """The signer's composition (``parts``, ``separator``) of the request as sent."""
    target = data.split(b" ", 2)[1]
    values = {
        "method": b"POST", "path": path.encode(), "query": target.partition(b"?")[2], "body": _body(data),
        "timestamp": _header(data, b"X-Timestamp"), "nonce": _header(data, b"X-Nonce"),
    }  # fmt: skip
    sep: str = signer.separator
    return sep.encode().join(values[p] for p in signer.parts)


@dataclass(frozen=True)
class _Form:
    """One transport's request: how the slow path renders it and, when it is signed, the text the
    venue MACs, the signature's form and where it sits in the request (group 1)."""

    render: Callable[[TradingSession, Any, Order, str], bytes]
    signed: Callable[[Any, str, bytes], bytes] | None = None
    sig: str = "hex"
    sig_at: bytes = b""
    # A nonce drawn per request by the signer (a ``"nonce"`` slot, filled in Rust).
    nonce: bool = False
    # The request carries a JWT (at ``sig_at``) the signer makes per request (Coinbase's): a ``"jwt"``
    # slot written and signed in Rust from the signer's key; its nonce is inside the token.
    jwt: bool = False


_SOCKET = _Form(_render_ws)


def _kraken_token(s: TradingSession) -> object:
    return getattr(s.grammar, "token", None)


def _bearer(s: TradingSession) -> object:
    """Tradefence's current access token, as its signer gives it to the slow path: ``AuthError``
    without a valid one, a refresh started when it is old (the signer's own rules)."""
    signer: Any = s.signer
    return signer.sign_request("POST", "/v1/orders").headers["Authorization"]


def _claro_token(s: TradingSession) -> object:
    """Clarofinlore's access token: its renewal (or log-in, without one) started in the background
    when due, as the slow path's ``ensure`` would before a request."""
    wire: Any = s.wire
    return wire.tokens.current(wire.http)


_Baked = Callable[["TradingSession"], object]


@cache
def _recipes() -> dict[type, tuple[_Form | None, _Form | None, bool, _Baked | None]]:
    """Per grammar: its REST form, its socket form, whether its limit orders use the hand-written
    Binance spot layouts (``rust/order/binance.rs``), and what its bytes carry besides the key that
    can change under a running session (the template is rebuilt when it does; a falsy value, as
    Kraken's token while its socket is down, is not a change)."""
    from tickwire.venues import okx
    from tickwire.venues.binance.orders import Orders as BinanceSpot
    from tickwire.venues.binance.usdm import UsdmOrders
    from tickwire.venues.bybit.orders import Orders as BybitOrders
    from tickwire.venues.clarofinlore.orders import Orders as ClarofinloreOrders
    from tickwire.venues.coinbase.orders import Orders as CoinbaseOrders
    from tickwire.venues.htx.orders import Orders as HtxOrders
    from tickwire.venues.kraken.ws import SocketOrders as KrakenOrders
    from tickwire.venues.tradefence.orders import Orders as TradefenceOrders

    binance_rest = _Form(_render_rest, _binance_rest_signed, "hex", rb"[?&]signature=([0-9a-f]{64})[& ]")
    binance_ws = _Form(_render_ws, _binance_ws_signed, "hex", rb'"signature":"([0-9a-f]{64})"')
    return {
        BinanceSpot: (binance_rest, binance_ws, True, None),
        UsdmOrders: (binance_rest, binance_ws, False, None),
        okx.Orders: (
            _Form(_render_rest, _okx_rest_signed, "base64", rb"\r\nOK-ACCESS-SIGN: ([A-Za-z0-9+/=]+)\r\n"),
            _SOCKET,
            False,
            None,
        ),
        BybitOrders: (
            _Form(_render_rest, _bybit_rest_signed, "hex", rb"\r\nX-BAPI-SIGN: ([0-9a-f]{64})\r\n"),
            _SOCKET,
            False,
            None,
        ),
        HtxOrders: (
            _Form(
                _render_rest, _htx_rest_signed, "base64_form", rb"&Signature=([A-Za-z0-9%]+) HTTP/1\.1\r\n"
            ),
            None,
            False,
            None,
        ),
        KrakenOrders: (None, _SOCKET, False, _kraken_token),
        # Nothing signed: the bearer token is a header like any other.
        TradefenceOrders: (_Form(_render_rest), None, False, _bearer),
        ClarofinloreOrders: (
            _Form(
                _render_rest, _claro_rest_signed, "hex", rb"\r\nX-Signature: ([0-9a-f]{64})\r\n", nonce=True
            ),
            None,
            False,
            _claro_token,
        ),
        CoinbaseOrders: (
            _Form(
                _render_rest, sig_at=rb"\r\nAuthorization: Bearer ([A-Za-z0-9_.-]+)\r\n", nonce=True, jwt=True
            ),
            None,
            False,
            None,
        ),
    }


def _cut(data: bytes, marks: dict[bytes, str], spans: list[tuple[int, int, str]]) -> list[bytes | str]:
    """``data`` as literal bytes and slots: every occurrence of a mark, and the given ``(start, end,
    slot)`` spans (``start == end``: a zero-width marker such as ``"body"``)."""
    found = list(spans)
    for m, slot in marks.items():
        at = data.find(m)
        while at >= 0:
            found.append((at, at + len(m), slot))
            at = data.find(m, at + len(m))
    found.sort()
    parts: list[bytes | str] = []
    pos = 0
    for start, end, slot in found:
        if start < pos:
            raise NotSupported("the request cannot be laid out as a template (overlapping slots)")
        if start > pos:
            parts.append(data[pos:start])
        parts.append(slot)
        pos = end
    if pos < len(data):
        parts.append(data[pos:])
    return parts


def _layout(
    t: OrderTemplate, form: _Form, sample: Order, ttl: int
) -> tuple[list[bytes | str], list[bytes | str] | None]:
    """The request (and the signed text) of ``form`` cut into literal bytes and slots: the slow path's
    own bytes for ``sample`` with sentinel values."""
    s, market = t.session, t.type == "market"
    v = _SENTINELS
    order = replace(
        sample, price=None if market else Decimal(v["price"]), qty=Decimal(v["qty"]), client_id=v["client_id"]
    )
    ts = int(v["timestamp"])
    data = form.render(s, _StampAt(s.signer, ts, v["nonce"] if form.nonce else None), order, v["request_id"])
    marks = {v[k].encode(): k for k in ("price", "qty", "client_id", "request_id", "timestamp")}
    if form.nonce and not form.jwt:  # a JWT's nonce is inside the token's base64
        marks[v["nonce"].encode()] = "nonce"
    if v["request_id"].encode() not in data:  # an integer request id (Kraken's req_id)
        marks[v["request_id"].removeprefix("tw").encode()] = "request_num"
    marks[_iso(ts, True).encode()] = "iso_ms"
    marks[_iso(ts, False).encode()] = "iso_s_form"
    if ttl:
        marks[str(ts + ttl).encode()] = "expiry"
    # Each sentinel at most once (else a literal could hold one); the order's own values as the type has.
    need = {"qty": 1, "client_id": 1, "price": 0 if market else 1, "nonce": 1}
    for m, k in marks.items():
        n = data.count(m)
        if n > 1 or n != need.get(k, n):
            raise NotSupported(f"{s.venue}: its request cannot be laid out as a template ({k} x{n})")
    spans: list[tuple[int, int, str]] = []
    if form.render is _render_rest:
        at = data.index(b"\r\n\r\n") + 4
        spans.append((at, at, "body"))
        length = re.search(rb"\r\nContent-Length: (\d+)\r\n", data[:at])
        if length is not None:
            spans.append((length.start(1), length.end(1), "body_len"))
    if form.signed is not None or form.jwt:
        sig = re.search(form.sig_at, data)
        if sig is None:
            raise NotSupported(f"{s.venue}: no signature where the template expects it")
        spans.append((sig.start(1), sig.end(1), "jwt" if form.jwt else "signature"))
    if form.signed is None:
        return _cut(data, marks, spans), None
    return _cut(data, marks, spans), _cut(form.signed(s.signer, t._path, data), marks, [])


def _checked(t: OrderTemplate, ints: dict[str, Any], form: _Form, sample: Order) -> _core.OrderTemplate:
    """The template of ``form``, proven at build: a probe order filled by it is byte for byte what the
    slow path renders for the same order, client id, timestamp and request id (else
    ``NotSupported``: place_order still works)."""
    s = t.session
    ttl = int(getattr(s.grammar, "request_ttl_ms", 0) or 0)  # OKX's expTime
    parts, signed = _layout(t, form, sample, ttl)

    def make(**rules: Any) -> _core.OrderTemplate:
        if form.jwt:  # the token's uri: the request's method, the signer's host, the path
            signer: Any = s.signer
            m, host = t._call.method, signer.host
            return _core.OrderTemplate.jwt(signer, parts, method=m, host=host, path=t._path, **rules)
        if signed is None:
            return _core.OrderTemplate.unsigned(parts, expiry_ms=ttl, **rules)
        return _core.OrderTemplate.signed(s.signer, parts, signed, sig=form.sig, expiry_ms=ttl, **rules)

    tmpl = make(**ints)
    ps, qs = t.price_scale, t.qty_scale
    p, q, cid, ts, rid = _PROBE
    probe = make(price_scale=ps, qty_scale=qs, tick=1, lot=1)
    order = replace(
        sample, price=None if t.type == "market" else Decimal(p).scaleb(-ps), qty=Decimal(q).scaleb(-qs),
        client_id=cid,
    )  # fmt: skip
    nonce = (_PROBE_JWT_NONCE if form.jwt else _PROBE_NONCE) if form.nonce else None
    if probe.fill(p, q, cid, ts, rid, nonce=nonce) != form.render(
        s, _StampAt(s.signer, ts, nonce), order, rid
    ):
        raise NotSupported(f"{s.venue}: its template does not reproduce the slow path's request")
    return tmpl


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
