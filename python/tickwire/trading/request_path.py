"""A trading session's side of its one request path (:mod:`tickwire.trading.wire`): the rate budget
scoped to the venue server and key, the wire, the venue clock installed on the signer, and the calls
the session and its parts send through them — by lane, over REST only, the order socket's connect
cost and usage, a batch's entries refused for rate, the venue clock read before a search by its time.

:class:`RequestPath` is what :class:`~tickwire.trading.session.TradingSession` is built on: apart
because it holds nothing of orders; the session adds the tracker, the channels and the order calls."""

from __future__ import annotations

import logging
import math
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tickwire.audit import NULL_AUDIT, AuditLog
from tickwire.errors import RateLimitError, TickwireError
from tickwire.limits import Lane, RateBudget
from tickwire.streams import Endpoint
from tickwire.trading import sent
from tickwire.trading.remedy import RESYNC_ROUNDS, START_ROUNDS
from tickwire.trading.venue import Call, OrderGrammar
from tickwire.trading.wire import Wire, unsent, was_unsent

__all__ = ["RequestPath"]

log = logging.getLogger("tickwire.trading")

# How long a lost order with no trace at the venue is waited for before it is called absent, where the
# venue bounds no request's life (``lost_order_wait_s`` unless set): Binance's default ``recvWindow``,
# the one bound a venue names that a request may be queued within and then taken.
LOST_ORDER_WAIT_S = 5.0


class RequestPath:
    """The venue account's requests: ``budget``, ``wire`` and ``clock``, and the sends over them."""

    def __init__(
        self,
        grammar: OrderGrammar,
        signer: Any,
        endpoint: Endpoint,
        *,
        timeout: float,
        audit: AuditLog | str | None,
        transport: str,
        rate_wait: float | None,
        ssl_context: ssl.SSLContext | None,
        rest_connections: int = 2,
        lost_order_wait_s: float | None = None,
    ) -> None:
        if transport not in ("rest", "ws", "auto"):
            raise ValueError(f"transport is 'rest', 'ws' or 'auto', not {transport!r}")
        if not endpoint.rest:
            raise ValueError(f"{grammar.venue}: endpoint {endpoint.name} has no REST URL")
        self.venue = grammar.venue
        self.grammar = grammar
        self.signer = signer
        self.endpoint = endpoint
        self.timeout = timeout
        wait = LOST_ORDER_WAIT_S if lost_order_wait_s is None else float(lost_order_wait_s)
        if not 0.0 <= wait < math.inf:  # NaN too: the wait's end would never come, or come at once
            raise ValueError(f"lost_order_wait_s is seconds, 0 or more, not {lost_order_wait_s!r}")
        # How long a lost order is waited for before it is called absent where the venue bounds no
        # request's life (``Reconciler.lost_order_window_s``).
        self.lost_order_wait_s = wait
        # A path is this session's own log, closed with it (every event on disk when it ends).
        self.audit = AuditLog(audit) if isinstance(audit, str) else audit or NULL_AUDIT
        self.owns_audit = isinstance(audit, str)
        # The venue's limits, shared process-wide by address and by key. ``rate_wait``: the longest a
        # request waits for room, or for a venue's Retry-After, before ``RateLimitError`` (0: never
        # wait; default: the request time-out).
        # Scoped by the venue server that counts them (production and testnet do not share).
        server = urlsplit(endpoint.rest).netloc or endpoint.rest
        self.budget = RateBudget(
            self.venue,
            getattr(grammar, "limits", ()),
            ip=server,
            account=f"{getattr(signer, 'api_key', None) or id(signer)}@{server}",
            max_wait_s=timeout if rate_wait is None else rate_wait,
        )
        self.wire = Wire(
            grammar, signer, endpoint.rest, self.budget, self.audit, timeout=timeout, transport=transport,
            ssl_context=ssl_context, on_exchange=self._on_exchange, rest_connections=rest_connections,
        )  # fmt: skip
        # The venue's clock (offset from its server-time endpoint, measured at start and again when a
        # request is refused for its timestamp), signing every request unless the signer has its own.
        self.clock = self.wire.clock
        self.clock.install(signer)
        # The venue's windows reset on its own clock (Binance's on its minute): the budget lapses a
        # count the venue reported on that clock as measured, not on ours.
        self.budget.wall = self._venue_wall

    async def ws_connecting(self) -> None:
        """Before each connect of the order socket or private stream: the weight the venue charges
        for it (``ws_connect_cost``) taken from the budget, waiting for room as a request would."""
        cost = getattr(self.grammar, "ws_connect_cost", None)
        if cost:
            try:
                await self.budget.acquire(cost, "query")
            except RateLimitError as e:
                raise unsent(e) from None  # the budget's own: no refusal of the venue's to block for

    def ws_usage(self, answer: Any, age: float | None = None) -> None:
        self.wire.ws_usage(answer, age)

    async def socket_refused(self, error: BaseException) -> None:
        """After a socket's connect or log-in failed with ``error``: a log-in refused for its
        timestamp (a ``clock`` remedy, or a ``signature`` one where the venue refuses a stale
        timestamp so) has the venue clock measured again before the socket's next connect — shared
        with any measurement under way, as requests refused together share one. A socket is not
        resent anything: its next log-in is signed anew on the offset measured. A connect or log-in
        refused for rate (429/418) blocks the budget for it, as a request's refusal does: the next
        connect, and every request of the address or key, waits it out."""
        if isinstance(error, RateLimitError):
            if was_unsent(error):
                return  # the budget's own refusal of the connect (its room): nothing to block anew
            named = self.budget.limit_for_code(getattr(error, "code", None))
            cost = dict(getattr(self.grammar, "ws_connect_cost", None) or {})
            blocked = self.budget.refused(named or None, getattr(error, "retry_after", None), cost)
            error.__dict__["retry_after"] = blocked
            self.audit.event(
                "rate_limited", venue=self.venue, code=getattr(error, "code", None), path="(socket)",
                params={}, body=None, retry_after=blocked,
            )  # fmt: skip
            return
        remedy = self.wire.remedies.remedy_for(error)
        if remedy not in ("clock", "signature") or not self.clock.available:
            return
        before = self.clock.offset_ms
        after = await self.wire.measure_clock(RESYNC_ROUNDS, since=time.monotonic())
        code = getattr(error, "code", None)
        log.warning("%s: a socket log-in refused with %s; venue clock measured again", self.venue, code)
        self.audit.event(
            "remedy", venue=self.venue, remedy="clock", code=code, socket=True,
            offset_ms=round(after, 3), moved_ms=round(after - before, 3),
        )  # fmt: skip

    def _venue_wall(self) -> float:
        """The venue's clock as measured (local time until a measurement), in seconds."""
        return self.clock.sync.now_ms() / 1000

    def reset_clock(self) -> float:
        """What the venue's rate-limit reset times are read against (``Wire.reset_clock``)."""
        return self.wire.reset_clock()

    async def send(self, call: Call, lane: Lane = "query", *, ready: Callable[[], None] | None = None) -> Any:
        """Signs and sends ``call`` on the session's one request path (:mod:`tickwire.trading.wire`):
        ``lane`` ``"order"`` for new orders, ``"cancel"`` for cancels (they may use the budget's
        reserve), ``"query"`` else; ``ready``: see ``Wire.send``. The decoded answer, or the venue's
        typed error."""
        return await self.wire.send(call, lane, ready=ready)

    async def send_lane(self, call: Call, lane: Lane) -> Any:
        """``send`` over REST only, on ``lane`` (the kill switch, the dead-man switch)."""
        return await self.wire.send(call, lane, rest_only=True)

    async def send_rest(self, call: Call) -> Any:
        """``send`` over REST only, whatever the transport (the sockets' own set-up calls: Kraken's
        WebSocket token). In the cancel lane: the socket it sets up is what cancels go over, so it is
        not kept waiting behind the queries that fill the rest of the budget (six lost orders'
        lookups held a Kraken token ~46 s, the socket down meanwhile)."""
        return await self.wire.send(call, "cancel", rest_only=True)

    def rate_refused(self, call: Call, e: Any) -> None:
        """Entries of ``call``'s batch refused for rate (see ``Wire.rate_refused``)."""
        self.wire.rate_refused(call, e)

    def _on_exchange(self, method: str, path: str, status: int, elapsed: float) -> None:
        self.audit.event(
            "rest", venue=self.venue, method=method, path=path, status=status, elapsed_ms=elapsed * 1e3
        )

    def request_window_s(self) -> float | None:
        """How long the venue may act on a lost order request (:func:`.sent.request_window_s`)."""
        return sent.request_window_s(self.grammar, self.signer, self.clock.sync.now_ms(), self.clock.error_ms)

    def signing_offset_ms(self) -> float:
        """The venue clock's offset the signer stamps requests with now."""
        return self.clock.offset_ms

    async def lost_request_window_s(self, offset_ms: float, since: float) -> float | None:
        """:meth:`request_window_s` for a request stamped on the venue-clock offset ``offset_ms`` and
        lost at ``since`` (monotonic s): lengthened by how far the venue's clock, measured again, fell
        behind that offset — the window runs on the venue's clock, and one stepped back by less than
        the second ahead it takes was refused for nothing and measured by nothing else. None where the
        venue bounds nothing."""
        window = self.request_window_s()
        if window is None:
            return None
        return window + await self._clock_fell_back_ms(offset_ms, since) / 1000

    async def clock_fell_back_s(self, offset_ms: float, since: float) -> float:
        """How far behind ``offset_ms`` the venue's clock is now (s): what ``lost_request_window_s``
        adds to the window of a request stamped on that offset (a gateway taking an account over
        adds it to the window of a request its predecessor stamped)."""
        return await self._clock_fell_back_ms(offset_ms, since) / 1000

    async def _clock_fell_back_ms(self, offset_ms: float, since: float) -> float:
        """How far behind ``offset_ms`` the venue's clock is now (one measurement made after ``since``
        serves); 0.0 where the signer does not stamp with the venue clock, or the measurement fails
        (the window as it was)."""
        if not self.clock.available or getattr(self.signer, "clock", None) != self.clock.now_ms:
            return 0.0
        try:
            after = await self.wire.measure_clock(START_ROUNDS, since=since, remedy=False)
        except (TickwireError, OSError, ValueError, KeyError, TypeError) as e:
            log.warning("%s: venue clock not measured before calling an order absent (%s)", self.venue, e)
            return 0.0
        return max(0.0, offset_ms - after)

    async def read_venue_clock(self) -> None:
        """The venue clock read before a search by its time, where no refusal measures it
        (:meth:`.wire.Wire.read_clock`)."""
        await self.wire.read_clock()
