"""Order templates: the fast path from a price to a signed order on the wire.

    tmpl = tr.template("BTCUSDT", "buy")            # built once: limit GTC, REST and WS API forms
    order = await tmpl.send(4_325_012, 1_000)       # ints at the instrument's scale: 43250.12 x 0.01

``send`` fills the pre-built request bytes in Rust in one call (:class:`tickwire._core.OrderTemplate`:
price, quantity, client id, timestamp and signature written into their slots, the instrument's tick,
lot and bounds checked as integers, the pre-keyed HMAC), then does what ``place_order`` does around
the request: the rate budget taken, the bytes written on the order socket when it is up (transport
``"ws"``/``"auto"``) or on the session's kept-alive HTTP connection, the order tracked under its
client id right after the write, in the same step of the event loop (no answer can be read before
it is tracked), the answer applied like ``place_order``'s and a lost answer reconciled by
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
sentinel values (``template_render``: the REST path run up to its write, which is caught, or the socket form;
the venue's signed text read from that request) and proven when built (``proven``: a probe order
filled by the template, with a fixed nonce where it has one, is byte for byte what the slow path
renders, else ``NotSupported``). Anything else is ``NotSupported`` (use ``place_order``). A session
whose key was rotated (``tr.rotate``) has its templates' bytes rebuilt for the new key on their next
``send``."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire import _core
from tickwire.errors import (
    InvalidOrder,
    NotSupported,
    TransportError,
)
from tickwire.trading.intake import check_terms
from tickwire.trading.numbers import from_mantissa
from tickwire.trading.orders import Order, OrderType, Side, Tif
from tickwire.trading.remedy import VenueClock
from tickwire.trading.risk import needs_check
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.stale_rules import rules_may_be_stale
from tickwire.trading.template_answer import retrieved
from tickwire.trading.template_forms import Target, proven, recipes, rule_ints, scales
from tickwire.trading.template_numbers import Scaled
from tickwire.trading.template_write import Writing

if TYPE_CHECKING:
    from tickwire.trading.order_socket import OrderSocket
    from tickwire.trading.quote import Quote
    from tickwire.trading.session import TradingSession

__all__ = ["OrderTemplate"]


class OrderTemplate(Writing):
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
        check_terms(side, type, tif, post_only)  # as place_order's
        rules = session.rules.get(symbol)
        if rules is None:
            raise InvalidOrder(f"{venue}: unknown symbol {symbol!r}")
        # The user's per-order caps folded into the venue's rules (a post-only order's own, if any).
        rules = session.risk.capped(rules.for_post_only(post_only))
        self.session = session
        self.symbol, self.side, self.type, self.tif, self.post_only = symbol, side, type, tif, post_only
        self.rules: InstrumentRules = rules
        # The session's rules map this template's were read from: ``load_rules`` replaces the map,
        # so one identity check per send (not a lookup) sees a refresh.
        self._rules_map = session.rules
        self.price_scale, self.qty_scale = scales(rules, type == "market")
        self._numbers = Scaled(symbol, side, type == "market", rules, self.price_scale, self.qty_scale)
        self._risk = session.risk.state(symbol)  # its counters, read by send without a lookup
        # A market order under a notional cap is priced from the book at each send (the gate's
        # ``market_cost``), on the Python path: there is no price for the one call to check.
        caps = session.risk.limits(symbol)
        self._priced = type == "market" and caps is not None and caps.max_order_notional is not None
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
        self.take = s.budget.taker(self._cost, "order")
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
        self._ids_left = {}
        self._rest_dests = {}
        for form in (self.rest, self.ws):
            if form is not None:
                self.give_ids(form)
        # Without a REST form, send() takes place_order's path while the socket is down.
        self._socket_only = self._rest is None
        if self._rest is None and (self._ws is None or s.orders_ws is None):
            raise NotSupported(f"{s.venue}: order templates need its order socket (transport 'ws'/'auto')")

    def _refresh_rules(self) -> None:
        """The session's rules were fetched anew (``load_rules``): where this symbol's changed, the
        forms are rebuilt to check them. The template's scales stay (its ints keep their meaning);
        rules finer than them refuse every order (``NotSupported``: build a new template)."""
        rules = self.session.rules.get(self.symbol)
        if rules is None:
            raise InvalidOrder(f"{self.session.venue}: unknown symbol {self.symbol!r}")
        rules = self.session.risk.capped(rules.for_post_only(self.post_only))
        if rules != self.rules:
            ps, qs = scales(rules, self.type == "market")
            if ps > self.price_scale or qs > self.qty_scale:
                raise NotSupported(
                    f"{self.symbol}: the refreshed rules need finer scales than the template's "
                    f"({ps}/{qs} > {self.price_scale}/{self.qty_scale}): build a new template"
                )
            before = self.rules, self._numbers
            self.rules = rules
            self._numbers = Scaled(
                self.symbol, self.side, self.type == "market", rules, self.price_scale, self.qty_scale
            )
            try:
                self._build()
            except BaseException:  # tried again on the next send: nothing goes out on the old forms
                self.rules, self._numbers = before
                raise
        self._rules_map = self.session.rules

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
            price=None if self.type == "market" else from_mantissa(price, self.price_scale),
            qty=from_mantissa(qty, self.qty_scale), client_id=client_id, post_only=self.post_only,
        )  # fmt: skip

    def _socket_up(self) -> bool:
        ws = self.session.orders_ws
        return ws is not None and ws.connected

    def _fill(self, p: int, q: int, cid: str, fresh: bool = False) -> tuple[OrderSocket | None, str, bytes]:
        """The request bytes for where the order goes now: the order socket (returned, with the
        request id) when it is up, else REST (None); ``InvalidOrder`` and nothing produced when the
        numbers break the instrument's rules — then, for a ``fresh`` order (``cid`` just taken, never
        written), its client id and request id go back. A resend's ``cid`` was written: never given
        back, or another order could carry it."""
        s = self.session
        if s.signer is not self._signer:  # rotated since the send began (a budget wait, a resend)
            self._build()
        ws = s.orders_ws if self._socket_up() else None
        rid = ws.next_id() if ws is not None else ""
        ts = s.signer.clock()
        if self._baked_of is not None:
            self._fresh()
        tmpl = self._ws if ws is not None else self._rest
        if tmpl is None:  # a socket-only template with its socket gone: the caller decides
            return None, "", b""
        try:
            return ws, rid, self._checked(tmpl, p, q, cid, ts, rid)
        except (InvalidOrder, OverflowError):
            if fresh:
                s.client_ids.give_back(cid)
            if ws is not None:
                ws.give_back(rid)
            raise

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

        Raised at once, nothing written: :class:`InvalidOrder` (off tick or lot, out of bounds: by a
        grid rule, the instrument list is read again soon — the venue may have changed it) and
        :class:`TradingHalted`. The write waits, inside the task, only when it must: for the rate
        budget, for the dead-man switch's first arming on the symbol, or for a connection to open
        (none idle); the bytes are then signed anew when it goes.

        The order is registered with the tracker right after the write, in the same step of the
        event loop (no answer or stream event can arrive before it is tracked)."""
        try:
            s = self.session
            if s.rules is not self._rules_map:  # refreshed (load_rules): checked by the new ones
                self._refresh_rules()
            if self._fast and type(qty) is int and s.halted is None and not s.closing and not self._priced:
                if price is None if self._market else type(price) is int:
                    # Tracked in this same call: no order can come between the check and the count.
                    if s.risk.active and needs_check(s.risk, self._risk):
                        s.risk.check(self.symbol, self.side, from_mantissa(qty, self.qty_scale), caps=False)
                    task = self._fire(s, price or 0, qty)  # type: ignore[arg-type]  # int, or None: market
                    if task is not None:
                        return task
            if s.halted is not None or s.closing:
                s.refuse_if_halted("template send")
            if not self.rules.trading:  # by the venue's instrument list: read again soon
                s.rules_recheck.soon()
                raise self.rules.closed()
            p, q = self._numbers.mantissas(price, qty)
            if self._priced:
                s.risk.check_market_notional(self.symbol, self.side, from_mantissa(q, self.qty_scale))
            if s.signer is not self._signer:  # rotated to a new key: its bytes
                self._build()
            loop = asyncio.get_running_loop()
            if self._socket_only and not self._socket_up():  # no REST form pre-built: place_order's path
                form = self.ws
                assert form is not None  # socket-only: the socket's form is all it has
                self._checked(form, p, q)
                slow = s.place_order(
                    self.symbol, self.side, self.type, from_mantissa(q, self.qty_scale),
                    None if self._market else from_mantissa(p, self.price_scale), tif=self.tif,
                    post_only=self.post_only,
                )  # fmt: skip
                task = loop.create_task(slow)
            else:
                cid = s.client_ids.next()
                ws, rid, data = self._fill(p, q, cid, fresh=True)  # InvalidOrder: nothing written, ids back
                reserved = s.risk.active
                if reserved:  # counted from now: the write may wait (the task releases it)
                    s.risk.reserve(cid, self.symbol, self.side, from_mantissa(q, self.qty_scale))
                written: Any = None
                order: Order | None = None
                dm, taken = s.dead_man, False
                ws_only = s.transport == "ws" and s.orders_ws is not None
                http = s.wire.http if ws is None and not ws_only else None
                # Charged only where the bytes can go now (a closed session's send is refused unsent).
                somewhere = ws is not None or http is not None
                late: Any = None
                # Taken by ``try_take`` (not the one-call taker): its clock reading is the budget's
                # ``taken_at``, which the late-write gate below restamps from.
                if (
                    somewhere
                    and (dm is None or dm.covers(self.symbol))
                    and s.budget.try_take(self._cost, "order") <= 0
                ):
                    taken = True
                    # Written only after a connect when no connection is idle: counted from the write
                    # (``resend_gate``), made right after the take, as ``Wire.send``'s.
                    late = s.wire.late_gate(self._cost, "order")
                    try:
                        if ws is not None:
                            written = ws.write(data, rid)
                        elif http is not None:
                            written = http.write_raw(data)
                    except TransportError as e:  # the write raised: the bytes may be out
                        return self._unsure(self._track(p, q, cid, ws is not None), e)
                    if written is not None:
                        self.written_ns = time.monotonic_ns()
                        order = self._track(p, q, cid, ws is not None)
                task = loop.create_task(
                    self._complete(p, q, cid, ws, rid, data, written, order, taken, late=late)
                )
                if order is not None:  # written: settled even if its task never runs
                    s.reconciler.settled_by(cid, task)
                    if ws is not None:
                        ws.awaited_by(rid, written, task)
                if reserved and order is None:
                    # Released by the task's ``finally`` too, but a task cancelled before its first step
                    # never runs its coroutine: the reservation would stay for the session's life.
                    task.add_done_callback(lambda _: s.risk.release(cid))
            task.add_done_callback(retrieved)
            return task
        except InvalidOrder as e:
            if self.venue_grid_refused(e):  # off the grid read: the venue may have changed it
                self.session.rules_recheck.soon()
            raise

    def venue_grid_refused(self, e: BaseException) -> bool:
        """Whether refusal ``e`` here is by the venue's grid (``stale_rules``), not by the user's own
        ``max_order_qty`` folded into the template's rules (``RiskGate.capped``): a read of the list
        cannot lift that one."""
        if not rules_may_be_stale(e):
            return False
        if getattr(e, "rule", None) != "max_qty":
            return True
        venue = self.session.rules.get(self.symbol)
        if venue is None:
            return True
        own = venue.for_post_only(self.post_only)
        return (own.max_qty, own.market_max_qty) == (self.rules.max_qty, self.rules.market_max_qty)

    def quote(self, md: Any, qty: int, **rule: Any) -> Quote:
        """A quote rule on ``md``'s book of this symbol: orders fired from the frame route, in Rust
        (see :mod:`tickwire.trading.quote`)."""
        from tickwire.trading.quote import Quote

        return Quote(self, md, qty, **rule)

    def _stamps(self, signer: Any) -> None:
        """What ``fire`` stamps requests with: the venue clock's estimate, read in Rust, when the signer
        signs with its session's venue clock on the local wall clock; else the signer's clock."""
        self._clock_fn = clock = signer.clock
        vc = getattr(clock, "__self__", None)
        sync = vc.sync if isinstance(vc, VenueClock) else None
        self.stamp: Any = sync.linear if sync is not None and sync.clock_ns is time.time_ns else clock
