"""The Clarofinlore trading session: :class:`~tickwire.trading.session.TradingSession` plus the calls
this venue documents and the shared session has no method for — :meth:`Session.account` (and a
pre-send margin check, ``margin_check=True``), :meth:`Session.kill_switch`, :meth:`Session.twap` and
friends, :meth:`Session.security_logs` and :meth:`Session.resend`.

What the document asks of every request runs on the shared request path (``tickwire.trading.wire``):
the JWT log-in and refresh (the grammar's ``token_auth``), the pause-and-retry on 429 ("handle HTTP
429 by pausing and retrying after the ``Retry-After`` header value": the session's ``rate_wait``
bounds the pause), mutual TLS 1.3 (``ssl_context=tickwire.transport.ws.tls_context(client_cert=...,
tls13_only=True)``).

**Resending.** Elsewhere tickwire never resends an order whose answer was lost: it reconciles (status
by client id, open orders, fills). Clarofinlore documents that a retried ``POST /v1/orders`` with the
same client order id returns the order that id already made and creates no second one, so here, and
only because of that, an order left *unknown* (reconciliation itself failed) may be resent with the
same client id (:meth:`Session.resend`): the answer is the one order, placed now or earlier. The TWAP
request has no status-by-client-id query, so a lost TWAP answer is resolved the same way, at once.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from tickwire.errors import (
    InvalidOrder,
    OrderNotFound,
    RequestTimeoutError,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.streams import Endpoint
from tickwire.trading import tracker
from tickwire.trading.codes import unknown_outcome
from tickwire.trading.intake import audit_fields, untracked
from tickwire.trading.orders import Order, OrderType, Side
from tickwire.trading.session import TradingSession
from tickwire.trading.unsent import was_unsent
from tickwire.venues.clarofinlore.orders import Account, Orders
from tickwire.venues.clarofinlore.security import SecurityWatch
from tickwire.venues.clarofinlore.signer import Signer
from tickwire.venues.clarofinlore.tokens import TokenAuth
from tickwire.venues.clarofinlore.twap import Twap, checked_twap, slice_bounds

__all__ = ["Session"]

log = logging.getLogger("tickwire.trading")

TWAP_ATTEMPTS = 3


class Session(TradingSession):
    """``tickwire.trade("clarofinlore", credentials=clarofinlore.Signer(key, secret))`` builds one.
    Options beyond :class:`TradingSession`'s: ``margin_check`` (False)."""

    grammar: Orders
    signer: Signer

    def __init__(
        self,
        grammar: Orders,
        signer: Signer,
        endpoint: Endpoint,
        *,
        margin_check: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(grammar, signer, endpoint, **options)
        self.margin_check = margin_check
        # TWAPs counted by the risk limits until a status read says they ended: (symbol, side) by
        # client id.
        self._twaps: dict[str, tuple[str, Side]] = {}
        # The client ids TWAPs of this session were started under, oldest first: the venue answers a
        # TWAP request naming one with the TWAP it started (its idempotency), so a second TWAP under it
        # never runs. The newest ``tracker.MAX_GONE`` are kept, as the tracker keeps forgotten orders'
        # ids against their reuse (every one, for the session's life, before 2026-12-07).
        self._twap_ids: dict[str, None] = {}

    @property
    def auth(self) -> TokenAuth:
        """The session's JWT (e.g. the market-data ``Adapter``'s ``token_provider=lambda:
        tr.auth.token``)."""
        assert isinstance(self.wire.tokens, TokenAuth)
        return self.wire.tokens

    # account -----------------------------------------------------------------------------------------

    async def account(self) -> Account:
        """``GET /v1/account`` (documented): margin, leverage, balances, positions."""
        return self.grammar.read_account(await self.send(self.grammar.account()))

    async def security_logs(self, since_ms: int | None = None) -> list[dict[str, Any]]:
        """The key's security log (documented: "monitor failed login attempts via the security logs
        endpoint — set alerts for more than three failures per minute"), entries as the venue gives
        them (the simulator's: ``ts``, ``event`` — ``login_failed`` or ``request_denied`` —, ``code``,
        ``reason``, ``ip``, ``path``)."""
        logs: list[dict[str, Any]] = await self.send(self.grammar.security_logs(since_ms))
        return logs

    def watch_security(self, every_s: float = 10.0, max_failures: int = 3) -> SecurityWatch:
        """Polls :meth:`security_logs` every ``every_s`` seconds and puts ``("alert", SecurityAlert)``
        on ``events()`` when a minute holds more than ``max_failures`` failed log-ins (the document's
        advice); ``.stop()`` ends it (closing the session does too)."""
        watch = SecurityWatch(self.security_logs, self.emit, every_s=every_s, max_failures=max_failures)
        self._spawned_watch = watch.start()
        return watch

    async def close(self, *, disarm: bool = True, settle_s: float | None = None) -> None:
        watch = getattr(self, "_spawned_watch", None)
        if watch is not None:
            watch.stop()
        await super().close(disarm=disarm, settle_s=settle_s)

    async def place_order(
        self, symbol: str, side: Side, type: OrderType, qty: Any, price: Any = None, **kw: Any
    ) -> Order:
        """As :meth:`TradingSession.place_order`; with ``margin_check`` a limit order is first checked
        against the account's free margin (``GET /v1/account``, one request more) and refused with
        ``InsufficientFunds`` without being sent when it does not fit."""
        if self.margin_check and type == "limit":
            order = self.prepare(symbol, side, type, qty, price, **kw)
            assert order.price is not None
            (await self.account()).check(symbol, side, order.qty, order.price)
        return await super().place_order(symbol, side, type, qty, price, **kw)

    async def resend(self, client_id: str) -> Order:
        """Sends an order left *unknown* again, unchanged and with the same client id: Clarofinlore
        answers a client order id it has seen with that order and creates no second one (see the
        module docstring). Returns the order as the venue answered."""
        self.refuse_if_halted("resend")
        order = self.tracker.get(client_id)
        if order is None:
            raise OrderNotFound(f"{self.venue}: order {client_id} is not tracked by this session")
        if order.status not in ("unknown", "pending"):
            raise InvalidOrder(
                f"{self.venue}: order {client_id} is {order.status}; only an unknown one is resent"
            )
        self.audit.event("order_resend", **audit_fields(order))
        # The order lane: the halt is checked again right before the write (after a budget wait).
        # Counted in flight meanwhile (``Reconciler.call``), as ``place_order``'s call is: a kill thrown
        # while it runs waits for it and cancels what it placed.
        with self.reconciler.call(client_id):
            body = await self.send(self.grammar.new_order(order), lane="order")
            await self.answered(order.symbol, body)
        return self._current(client_id)

    async def kill_switch(self) -> tuple[list[Order], list[Order]]:
        """The documented kill switch: every open order cancelled and every position closed with market
        orders (``POST /v1/positions/close-all``, a default path). Returns (cancelled, closing
        orders); running TWAPs stop too."""
        body = await self.send(self.grammar.kill_switch())
        cancelled = [self._known(item) for item in body.get("cancelled") or ()]
        closing = [self._known(item) for item in body.get("closing_orders") or ()]
        for o in closing:  # the venue's orders: what they filled moves the position counted
            self.risk.count_untracked(self.tracker, o)
        return cancelled, closing

    def _known(self, item: Any) -> Order:
        events = self.grammar.read_order(item)
        self._apply(events)
        tracked = self.tracker.get(events[0].client_id)
        return tracked if tracked is not None else untracked(self.venue, events[0])

    # TWAP --------------------------------------------------------------------------------------------

    async def twap(
        self, symbol: str, side: Side, qty: Any, *, duration_s: Any, slices: int, client_id: str | None = None
    ) -> Twap:
        """Starts a TWAP parent: ``slices`` market orders over ``duration_s`` seconds (``twap.py``).
        Checked before sending (lot grid, each slice a valid order); a lost answer is resolved by
        resending the same request with the same client id (the venue answers the TWAP that id
        started, or starts it once)."""
        self.refuse_if_halted("twap")
        q, d, n = checked_twap(self.rules.get(symbol), symbol, side, qty, duration_s, slices)
        cid = self.client_ids.check(client_id) if client_id is not None else self.client_ids.next()
        if cid in self._twap_ids:
            raise InvalidOrder(f"{self.venue}: client id {cid!r} was already used by a TWAP in this session")
        # The risk limits, as place_order's (its slices are market orders this session does not
        # track): the largest slice against the per-order caps, the whole quantity against the
        # position and open-order limits, counted as one order until a status read says it ended.
        self.risk.check(symbol, side, slice_bounds(q, self.rules[symbol].lot_size, n)[1], client_id=cid)
        self.risk.reserve(cid, symbol, side, q)
        self._twaps[cid] = (symbol, side)
        self._twap_ids[cid] = None
        if len(self._twap_ids) > tracker.MAX_GONE:
            del self._twap_ids[next(iter(self._twap_ids))]
        # In flight from here to its answer (``placing``): a kill thrown meanwhile waits for it, then
        # stops what it started (else the TWAP reached the venue after the kill and traded there).
        self.placing.add(cid)
        try:
            return self._twap_seen(await self._start_twap(symbol, side, q, d, n, cid))
        except TickwireError as e:
            if not isinstance(e, UnknownOutcome):  # refused, or never written: nothing runs
                self._twap_ended(cid, Decimal(0))
            raise
        finally:
            self.placing.discard(cid)

    async def _start_twap(self, symbol: str, side: Side, q: Decimal, d: float, n: int, cid: str) -> Twap:
        call = self.grammar.twap(symbol, side, q, d, n, cid)
        self.audit.event(
            "twap_request", venue=self.venue, symbol=symbol, side=side, qty=str(q), duration_s=d, slices=n,
            client_id=cid,
        )  # fmt: skip
        why = ""
        went = False  # an attempt may have reached the venue
        for _ in range(TWAP_ATTEMPTS):
            try:
                return self.grammar.read_twap(await self.send(call, lane="order"))
            except (UnknownOutcome, RequestTimeoutError, TransportError) as e:
                if was_unsent(e) and not went:
                    # Nothing of it went out (a connection none could open): refused, as any order
                    # call's — asked "again", it ended unknown and reserved for nothing.
                    raise
                went = went or not was_unsent(e)
                why = str(e)
                log.warning(
                    "%s: TWAP %s answer lost (%s); asking again with the same client id", self.venue, cid, e
                )
        raise unknown_outcome(
            cid, f"TWAP outcome unknown after {TWAP_ATTEMPTS} attempts: {why}", venue=self.venue
        )

    async def twap_status(self, twap_id: str) -> Twap:
        return self._twap_seen(self.grammar.read_twap(await self.send(self.grammar.twap_status(twap_id))))

    async def cancel_twap(self, twap_id: str) -> Twap:
        """Stops a running TWAP (slices already sent stay as they are)."""
        return self._twap_seen(self.grammar.read_twap(await self.send(self.grammar.cancel_twap(twap_id))))

    def _twap_seen(self, t: Twap) -> Twap:
        if not t.running:
            self._twap_ended(t.client_id, t.filled)
        return t

    def _twap_ended(self, cid: str, filled: Decimal) -> None:
        """The TWAP ``cid`` ended having filled ``filled``: no longer counted open, its fills held."""
        got = self._twaps.pop(cid, None)
        if got is not None:
            self.risk.release(cid)
            self.risk.count_filled(got[0], got[1], filled)
