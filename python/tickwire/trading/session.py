"""A trading session: one venue account's orders, exactly once.

    async with tickwire.trade("binance", credentials=binance.Signer(key, secret)) as tr:
        order = await tr.place_order("BTCUSDT", "buy", "limit", "0.01", "60000")

Every order is validated against the venue's instrument rules before anything is sent, registered with
the tracker under a fresh client id, and only then sent. An answer that never comes (time-out, 5xx,
lost connection, the venue's own "status unknown") leaves the order **unknown**, not failed: it is
reconciled — status by client id, then the open orders, and once found its fills — before the
call returns, and never blindly resent. Every answer, reconciliation result and (later) private-stream
event goes through the tracker's one idempotent ``apply``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from tickwire.audit import AuditLog
from tickwire.clock import Stamp
from tickwire.errors import InvalidOrder, MarketClosed, TickwireError, TransportError
from tickwire.streams import Endpoint
from tickwire.trading import account, amend, batch, cancel, lifecycle, place, sent
from tickwire.trading.adopt import adoptable, session_closed, session_opened
from tickwire.trading.answers import answered
from tickwire.trading.cancel_all import cancel_all
from tickwire.trading.channels import Channels
from tickwire.trading.client_ids import FORMATS, ClientIds
from tickwire.trading.deadman import DeadMan
from tickwire.trading.delivery import Delivery, EventFeed
from tickwire.trading.halting import Halting
from tickwire.trading.health import session_health
from tickwire.trading.intake import checked_order
from tickwire.trading.kill import Kill, KillReport
from tickwire.trading.open_audit import AUDIT_S, OpenAudit
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Tif
from tickwire.trading.reconcile import Reconciler
from tickwire.trading.request_path import RequestPath
from tickwire.trading.risk import RiskGate, RiskSpec
from tickwire.trading.rotation import rotate
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.rules_recheck import REFRESH_S, RulesRecheck
from tickwire.trading.template import OrderTemplate
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Balance, OrderGrammar, Position
from tickwire.trading.wire import unsent, was_unsent

log = logging.getLogger("tickwire.trading")

DEFAULT_STRATEGY = "tw"  # the client-id prefix when ``strategy`` is not named


class TradingSession(Halting, RequestPath):
    """Orders of one venue account. Use :func:`tickwire.trade` to build one."""

    def __init__(
        self,
        grammar: OrderGrammar,
        signer: Any,
        endpoint: Endpoint,
        *,
        strategy: str | None = None,
        on_order: Callable[[Order], None] | None = None,
        on_fill: Callable[[Fill], None] | None = None,
        timeout: float = 5.0,
        audit: AuditLog | str | None = None,
        private_stream: bool = True,
        transport: str = "rest",
        rate_wait: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        webhook: tuple[str, int] | None = None,
        webhook_secret: str | None = None,
        webhook_url: str = "",
        dead_man: float | None = None,
        adopt: bool | Callable[[str], bool] | None = None,
        risk: RiskSpec = None,
        rest_connections: int = 2,
        lost_order_wait_s: float | None = None,
        rules_refresh_s: float | None = REFRESH_S,
        open_audit_s: float | None = AUDIT_S,
    ) -> None:
        super().__init__(
            grammar, signer, endpoint, timeout=timeout, audit=audit, transport=transport, rate_wait=rate_wait,
            ssl_context=ssl_context, rest_connections=rest_connections, lost_order_wait_s=lost_order_wait_s,
        )  # fmt: skip
        self._events = EventFeed()
        self._delivery = Delivery(self, self._events)
        # Whether requests and order changes are written to a real audit log (decided once, from the
        # log the session was made with).
        self.audited = self._delivery.audited
        self.wire.order_gate = self.refuse_if_halted
        self.rotations = 0
        self.client_ids = ClientIds(FORMATS[self.venue], DEFAULT_STRATEGY if strategy is None else strategy)
        session_opened(self.client_ids)
        self._user_on_order = on_order
        self._user_on_fill = on_fill
        # Orders an earlier run of this strategy left open (a restart): tracked again, by client id
        # (``adopt``: True, this strategy's ids; a predicate; False, none; None, the default: True
        # when ``strategy`` is named — the default prefix may be every script's on the key), at start
        # and whenever the venue speaks of one.
        if adopt is None:
            adopt = bool(strategy)
        owns = self.client_ids.owns if adopt is True else adopt or None
        self.tracker = OrderTracker(
            on_order=self._on_order, on_fill=self._on_fill, on_forget=self._forgotten,
            adopt=None if owns is None else functools.partial(adoptable, self.client_ids, owns),
        )  # fmt: skip
        # Pre-trade limits (trading/risk.py), counted from the tracker's orders.
        self.risk = self.tracker.exposure = RiskGate(risk)
        self.risk.on_refused = self._delivery.risk_refused  # audited: ``risk_refused``
        # Every order is stamped: the ClockSync's own method, one call.
        self.stamp = self.tracker.stamp = self.clock.sync.stamp
        self._adopting = owns is not None
        self.rules: dict[str, InstrumentRules] = {}
        # A market closed or reopened, a grid changed or announced to (on the venue's clock), and
        # every ``rules_refresh_s`` (None: never): the instrument list read again (none once the
        # session closes).
        now_ms, every = self.clock.sync.now_ms, rules_refresh_s
        self.rules_recheck = RulesRecheck(self.load_rules, self._spawn, lambda: self.closing, now_ms, every)
        # When each order was sent (``clock.Stamp``) by client id, kept by ``place.register``; read
        # with ``sent_ms``.
        self.sent_at: dict[str, Stamp] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.reconciler = Reconciler(self)
        self.amends = amend.OneAtATime()
        self.reconciler.spawn = self._spawn
        # Every ``open_audit_s`` (None: never) the venue's open orders listed and the orders open here
        # it does not name asked about: their ending words lost on a stream that stayed up.
        self.open_audit = OpenAudit(self, self.reconciler, self._spawn, lambda: self.closing, open_audit_s)
        # "ws": every call the venue offers on its order socket goes there; "auto": there while it is
        # up, over REST while it is down; "rest": REST only.
        self.transport = transport
        self.channels = Channels(
            self, private_stream=private_stream, transport=transport, webhook=webhook,
            webhook_secret=webhook_secret, webhook_url=webhook_url,
        )  # fmt: skip
        self.stream = self.channels.stream
        self.orders_ws = self.wire.orders_ws = self.channels.orders_ws
        # Kill switch (trading/kill.py): the reason new orders are refused, None while trading.
        self.halted: str | None = None
        # How many kills are running: resume() is refused meanwhile (an order let through would go to
        # the venue behind the kill's listing and outlive a report that says the account is flat).
        self.killing = 0
        # A venue's own calls that may start trading at the venue with no order tracked for it (a
        # Clarofinlore TWAP parent), by name, while their request runs: a kill thrown meanwhile waits
        # for them, then cancels and closes once more (``Kill.landed_calls``).
        self.placing: set[str] = set()
        # close() has begun: no new order is written (it could be neither answered nor reconciled).
        self.closing = False
        # close() is past waiting for the kills running: a kill is refused unrun from then on (its
        # requests would go out on a wire being closed).
        self.kills_closed = False
        # The task running start() while it does, and how many times a close cancelled it.
        self.starting: asyncio.Task[Any] | None = None
        self.start_cancels = 0
        # A key rotation's socket swap while it runs, and the sockets it retires (trading/rotation.py).
        self.rotating: asyncio.Future[None] | None = None
        self.retiring: list[Any] = []
        # Orders still pending or unknown when close() gave up waiting for them (see ``close``).
        self.unsettled: list[Order] = []
        # Quote rules armed on market data for this session's templates (trading/quote.py).
        self.quotes: list[Any] = []
        # The venue's dead-man switch, armed for the session's life (trading/deadman.py).
        self.dead_man = (
            DeadMan(self, dead_man, account=lambda: self.budget.account) if dead_man is not None else None
        )

    # lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> TradingSession:
        """Connects, loads the instrument rules, starts the sockets; a start that fails leaves nothing
        open behind it — and the venue's dead-man countdown as it found it, armed or not (an earlier
        run's, killed, still to cancel its orders). A close while it runs stops it
        (``TransportError``); after one, it is refused."""
        if self.closing:
            raise unsent(TransportError(f"{self.venue}: the trading session is closed"))
        task = self.starting = asyncio.current_task()
        try:
            await lifecycle.start(self, self._adopting)
            if self.closing:  # the close's cancel lost as the last step ended
                raise unsent(TransportError(f"{self.venue}: the session was closed while it started"))
        except BaseException as e:
            self.starting = None
            stopped = self.closing  # by a close under way (another task's), not by its own failure
            # A start that failed disarms nothing: the venue's countdown may be an earlier run's, the
            # one thing left to cancel the orders it died with (this run armed none, or may have
            # armed it in a request whose answer was lost); a close's own stop disarms as it says.
            await self.close(disarm=stopped)
            raise lifecycle.start_error(self, task, e, stopped) from None
        self.starting = None
        return self

    async def close(self, *, disarm: bool = True, settle_s: float | None = None) -> None:
        """Ends the session. First, no new order is written and the orders still being settled — a
        place call awaiting its answer, an order whose answer was lost being reconciled, one whose
        caller cancelled its call (``in_flight``), and the orders a running cancel, amend, cancel-all
        or kill is changing (``settling``) — are waited for, up to ``settle_s`` seconds (default:
        until each can have its verdict, ``settle_bound_s``; 0: not at all), so their fate is learnt
        while the session can still ask, not dropped with its tasks (an order still waiting for the
        rate budget is refused unsent at once: it would never be written). Any order still pending or
        unknown after that, or whose cancel or amend still runs, is logged, audited (``closed_unsettled``)
        and left in ``unsettled``.
        ``disarm=False`` (the exit after an exception) waits for nothing and leaves the venue's
        dead-man countdown running (no more refreshes): the venue cancels the open orders when it
        runs out, as if the process had died."""
        try:
            await lifecycle.close(self, disarm, settle_s, self._tasks, self._events)
        finally:
            session_closed(self.client_ids)

    def health(self) -> dict[str, Any]:
        """Counts and states for a monitor (:mod:`tickwire.trading.health`): requests, rate-limit
        resends, re-logins, clock re-syncs, unknown outcomes, open orders, sockets connected."""
        return session_health(self)

    async def rotate(self, credentials: Any) -> None:
        """Switches this live session to ``credentials`` (a new signer of the same account) without
        stopping: see :mod:`tickwire.trading.rotation`. The old key may be revoked once it returns."""
        held = object()  # this rotation's hold: let go after it, a user's pause() kept
        for q in self.quotes:  # nothing fired mid-rotation
            q.pause(held)
        try:
            await rotate(self, credentials)
        finally:
            for q in list(self.quotes):
                q.resume(held)

    async def __aenter__(self) -> TradingSession:
        return await self.start()

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        # Left by an exception (the strategy crashed, the task was cancelled): no clean close — the
        # process is about to die with its orders open, which is what the dead-man switch is for.
        await self.close(disarm=exc_type is None)

    # events ------------------------------------------------------------------------------------------

    def _on_order(self, order: Order) -> None:
        self._delivery.order(order, self._user_on_order)

    def _on_fill(self, fill: Fill) -> None:
        self._delivery.fill(fill, self._user_on_fill)

    def events(self) -> AsyncIterator[tuple[str, Any]]:
        """``async for kind, value in tr.events()``: ("order", Order) on every change, ("fill", Fill)
        once per execution, from the first call on (nothing is queued before it: see
        :class:`~tickwire.trading.delivery.EventFeed`)."""
        return self._events.events()

    # requests ----------------------------------------------------------------------------------------

    def emit(self, kind: str, value: Any) -> None:
        """Puts a venue-specific event on ``events()`` (Tradefence webhooks: ``("position", …)``,
        ``("alert", …)``)."""
        self._events.put(kind, value)

    def stream_event(self, ev: OrderEvent) -> Order | None:
        """A private-stream event into the tracker. Where the stream states only cumulative fills
        (Coinbase's ``user`` channel: ``stream_fills`` False), each new execution is fetched from the
        venue's trade history, so ``on_fill`` still reports it once with its trade id."""
        before = self.tracker.get(ev.client_id) if ev.client_id else None
        got = self.tracker.apply(ev)
        if not getattr(self.grammar, "stream_fills", True):
            self.reconciler.after_cumulative(before, got)
        else:
            self.reconciler.after_listed(got)
        return got

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def load_rules(self) -> dict[str, InstrumentRules]:
        """The venue's instrument metadata (tick, lot, min/max quantity, min notional, whether each
        symbol trades), fetched at the start and again as ``rules_recheck`` has it."""
        rules = await lifecycle.load_rules(self)
        for q in list(self.quotes):  # a loaded rule's next order checked by these, not the old ones
            q.reload()
        return rules

    def _apply(self, events: Sequence[OrderEvent]) -> Order | None:
        return account.apply_events(self.tracker, events)

    async def answered(self, symbol: str, body: Any) -> Order | None:
        """Applies the venue's answer to a place, cancel or amend (:mod:`tickwire.trading.answers`)."""
        return await answered(self, symbol, body)

    async def settle_fills(self, client_id: str) -> None:
        await self.reconciler.settle_fills(client_id)

    def stream_up(self) -> bool:
        return self.stream is not None and self.stream.connected

    # kill switch -------------------------------------------------------------------------------------

    async def kill(self, reason: str) -> KillReport:
        """Stops trading: new orders and amends are refused with :class:`TradingHalted` (nothing sent)
        until :meth:`resume`, every open order of the account is cancelled and every position closed
        (see :mod:`tickwire.trading.kill`). Works over REST with the order socket and market data down,
        and while new orders are rate-limited (cancels use the budget's reserve). Returns what was
        confirmed and what was not. A kill thrown while the session closes runs, and the close waits
        for it (before it closes the wire); once the close is past that, it raises
        ``TransportError`` (unsent: nothing was cancelled) — see :meth:`ensure_killable`."""
        self.ensure_killable(reason)
        self.halted = reason or "kill switch"
        for q in list(self.quotes):  # before anything is cancelled: nothing new fired after
            q.stop()
        self.killing += 1
        try:
            with self.reconciler.changing("kill"):
                return await Kill(self, self.halted).run()
        finally:
            self.killing -= 1

    def in_flight(self) -> set[str]:
        """Client ids of the orders being settled now — their own place call still running, their
        reconciliation, or the task that took over a call its caller cancelled (the kill waits for
        them)."""
        return self.reconciler.busy()

    def settling(self) -> set[str]:
        """What ``close`` waits for: :meth:`in_flight`, the orders a running cancel or amend is changing
        (a cancel-all and the kill under names of their own), and those whose cancel, given up by its
        caller, is being asked about (``Reconciler.settling``)."""
        return self.reconciler.settling()

    # orders ------------------------------------------------------------------------------------------

    def prepare(
        self,
        symbol: str,
        side: Side,
        type: OrderType,
        qty: Any,
        price: Any = None,
        *,
        tif: Tif = "GTC",
        post_only: bool = False,
        reduce_only: bool = False,
        client_id: str | None = None,
    ) -> Order:
        """The order as it will be sent, checked against the venue's rules; nothing is sent. Raises
        :class:`InvalidOrder` naming the rule and the nearest valid values, :class:`MarketClosed`
        where the venue's instrument list says the symbol takes no new orders; either, for a grid
        rule or a closed market, has the list read again soon (the venue may have changed it)."""
        try:
            return checked_order(
                self.venue, self.rules, self.client_ids, self.tracker.used, symbol, side, type, qty, price,
                tif=tif, post_only=post_only, reduce_only=reduce_only, client_id=client_id,
            )  # fmt: skip
        except (InvalidOrder, MarketClosed) as e:
            self.rules_recheck.after(e)  # closed, or off a grid the venue may have changed: read again
            raise

    async def place_order(
        self, symbol: str, side: Side, type: OrderType, qty: Any, price: Any = None, **kw: Any
    ) -> Order:
        """Places one order and returns it as the venue answered (or as reconciliation found it).

        Raises :class:`InvalidOrder` before sending anything for bad input; the venue's refusal as its
        typed error (``OrderRejected``, ``InsufficientFunds``…); :class:`UnknownOutcome` only when the
        order's fate could not be established even by reconciliation (it stays tracked as unknown);
        :class:`TradingHalted` after :meth:`kill` until :meth:`resume`."""
        if self.halted is not None or self.closing:  # the refused order's terms in its audit line
            self.refuse_if_halted(
                "place_order",
                symbol=symbol,
                side=side,
                qty=str(qty),
                price=None if price is None else str(price),
            )
        order = self.prepare(symbol, side, type, qty, price, **kw)
        return await place.place_order(self, order)

    async def place_orders(self, orders: Sequence[Order]) -> list[Order | TickwireError]:
        """Places orders made by :meth:`prepare`, in the venue's batch request where it has one
        (OKX ``batch-orders``, USDⓈ-M ``batchOrders``, Bybit ``create-batch``), else each as
        :meth:`place_order` does, all at once. Returns one result per order, in their order: the order
        as the venue answered (or as reconciliation found it), or the typed error that refused it
        (``OrderRejected``, ``RateLimitError``…).

        Raises with nothing sent: :class:`TradingHalted` after :meth:`kill`; :class:`InvalidOrder` for
        an order given twice, already placed, or changed since :meth:`prepare` to break the rules;
        :class:`RiskLimitExceeded` when the orders together would cross a limit (see
        :mod:`tickwire.trading.batch`)."""
        self.refuse_if_halted("place_orders")
        return await batch.place_open(self, orders)

    def template(
        self, symbol: str, side: Side, type: OrderType = "limit", tif: Tif = "GTC", post_only: bool = False
    ) -> OrderTemplate:
        """A pre-built order whose ``await send(price, qty)`` fills, signs and writes it in one Rust call
        and then goes on as ``place_order`` (see :mod:`tickwire.trading.template`)."""
        return OrderTemplate(self, symbol, side, type, tif, post_only)

    def _current(self, client_id: str) -> Order:
        o = self.tracker.get(client_id)
        assert o is not None
        return o

    async def reconcile(self, client_id: str) -> Order | None:
        """What the venue knows of ``client_id`` (see :mod:`tickwire.trading.reconcile`); None when it
        has no trace of it."""
        return await self.reconciler.reconcile(client_id)

    async def reconcile_open(self) -> None:
        """Reconciles every order that was open or in flight (after the private stream came back)."""
        await self.reconciler.reconcile_open()

    def _forgotten(self, client_id: str) -> None:
        """The tracker forgot an order that ended ``tracker.retain_s`` ago: so does the session."""
        self.sent_at.pop(client_id, None)

    def sent_ms(self, client_id: str) -> int | None:
        """Where ``client_id``'s fills search starts (:func:`tickwire.trading.sent.fills_since_ms`). An
        earlier run's order: from when this session counts its fills (``tracker.adopted_at``: the
        adopting listing's request, or the stream word's arrival) — what the search finds of the
        earlier run's fills (summed in the quantity filled it was adopted with) is not counted again
        (``Reconciler.catch_up_fills``)."""
        at = self.sent_at.get(client_id) or self.tracker.adopted_at(client_id)
        return sent.fills_since_ms(at, self.clock.sync.venue_ms_at)

    async def cancel_order(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        """Cancels one order (see :mod:`tickwire.trading.cancel`) and returns it as the venue left it."""
        found = cancel.find(self.tracker, client_id, order_id)
        with self.reconciler.changing(found.client_id if found is not None else client_id or order_id or ""):
            return await cancel.cancel_order(self, symbol, client_id, order_id)

    async def amend_order(
        self,
        symbol: str,
        *,
        client_id: str | None = None,
        order_id: str | None = None,
        qty: Any = None,
        price: Any = None,
    ) -> Order:
        """Changes a working limit order in place — its total quantity (filled part included, as every
        venue counts it) and/or its price — keeping its ids; returns the order with its new terms.

        The venue's own amend is used (``NotSupported`` where it has none: cancel and place anew). The
        new terms are checked against the instrument's rules before anything is sent. An amend whose
        answer is lost is reconciled like a lost order: the order's state at the venue says whether it
        took effect (if not, ``TransportError`` — only once the venue's bound on applying the request,
        Binance spot's ``recvWindow``, else ``lost_order_wait_s``, has passed; nothing is resent;
        ``UnknownOutcome`` when even that state could not be asked). A venue whose amend is narrower
        (Binance spot: a lower quantity only) raises ``NotSupported`` for the rest, before anything
        is sent."""
        if self.halted is not None or self.closing:  # the order named in the refusal's audit line
            self.refuse_if_halted("amend_order", symbol=symbol, client_id=client_id, order_id=order_id)
        current = cancel.tracked(self.venue, self.tracker, client_id, order_id)
        with self.reconciler.changing(current.client_id):
            return await amend.amend_order(self, symbol, current, qty, price)

    async def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """Cancels every open order (of ``symbol``, else of every symbol with open orders); see
        :mod:`tickwire.trading.cancel_all`."""
        try:
            with self.reconciler.changing(f"cancel_all {symbol or '*'}"):
                return await cancel_all(self, symbol)
        except asyncio.CancelledError as e:
            # Given up by its caller: what it had sent may have ended any open order (see cancel_order).
            if not was_unsent(e):
                for o in self.tracker.open_orders():
                    if symbol is None or o.symbol == symbol:
                        self.reconciler.recheck(o.client_id)
            raise

    # account (trading/account.py) --------------------------------------------------------------------

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        return await account.order_status(self, symbol, client_id, order_id)

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        return await account.open_orders(self, symbol)

    async def balances(self) -> Mapping[str, Balance]:
        return await account.balances(self)

    async def positions(self) -> Mapping[str, Position]:
        """Open positions by symbol (margin and derivatives venues; ``NotSupported`` on spot ones)."""
        return await account.positions(self)

    async def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        """The account's executions on ``symbol`` (since ``since_ms``), client ids filled in where the
        order is tracked."""
        return await account.fills(self, symbol, since_ms)
