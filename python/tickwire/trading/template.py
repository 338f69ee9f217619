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
sentinel values (``template_forms``: the REST path run up to its write, which is caught, or the socket form;
the venue's signed text read from that request) and proven when built (``proven``: a probe order
filled by the template, with a fixed nonce where it has one, is byte for byte what the slow path
renders, else ``NotSupported``). Anything else is ``NotSupported`` (use ``place_order``). A session
whose key was rotated (``tr.rotate``) has its templates' bytes rebuilt for the new key on their next
``send``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from picows import WSMsgType

from tickwire import _core
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
from tickwire.trading.orders import Order, OrderEvent, OrderType, Side, Tif
from tickwire.trading.remedy import VenueClock
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.template_forms import Target, proven, recipes, rule_ints, scales
from tickwire.trading.template_numbers import Scaled
from tickwire.trading.wire import RATE_RESENDS

if TYPE_CHECKING:
    from tickwire.trading.session import TradingSession
    from tickwire.trading.stream import OrderSocket

__all__ = ["OrderTemplate"]

# Client ids a form is given at a time to spell itself (``ClientIds.reserve``).
IDS_AT_ONCE = 256


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
        self.price_scale, self.qty_scale = scales(rules, type == "market")
        self._numbers = Scaled(symbol, side, type == "market", rules, self.price_scale, self.qty_scale)
        # time.monotonic_ns() right after the last send wrote its bytes in send() itself (0: none
        # yet): with a book's recv_ns, the in-process tick→order time.
        self.written_ns = 0
        self._build()

    def _build(self) -> None:
        """The request bytes for the session's current signer (built again after a key rotation)."""
        s, rules, ps, qs = self.session, self.rules, self.price_scale, self.qty_scale
        grammar: Any = s.grammar
        recipe = recipes().get(type(grammar))
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
        ints = rule_ints(rules, ps, qs, market)
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
            target = Target(s, market, self._call.method, self._path, ps, qs)
            self.rest = None if rest is None else proven(target, ints, rest, sample)
            try:
                self.ws = None if ws is None else proven(target, ints, ws, sample)
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
            self._numbers.explain(p, q)
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
        p, q = self._numbers.mantissas(price, qty)
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
            self._numbers.explain(p, q)
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
