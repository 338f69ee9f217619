"""The one path every trading request takes to the venue: the rate-limit budget first, then the
order socket when it has a form of the request, else signed REST over the kept-alive connection; the
venue's answer decoded by the grammar, its usage headers fed back to the budget, its rate-limit refusal
honoured process-wide (and, when the caller may wait that long, waited out and the request resent —
a refused request was not processed).

A venue whose signed requests also carry a session token (Clarofinlore's JWT) gives a
:class:`TokenHook`: the token is made fresh before each request, and a request the venue refused for
its token is sent once more after a new log-in (an authentication refusal comes before the request is
looked at).

A refusal with a remedy (:mod:`tickwire.trading.remedy`: timestamp outside the receive window, stale
nonce, expired token) is fixed — the venue clock re-measured, the token refreshed — and the request
sent once more, signed anew."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import RateLimitError, RequestTimeoutError, TickwireError, TransportError
from tickwire.limits import Lane, RateBudget
from tickwire.limits.budget import resend_gate
from tickwire.trading.order_socket import OrderSocket
from tickwire.trading.remedy import START_ROUNDS, Remedies, VenueClock
from tickwire.trading.rest_answer import read_answer
from tickwire.trading.unsent import by_entry as by_entry  # importable from here, as before
from tickwire.trading.unsent import unsent as unsent
from tickwire.trading.unsent import was_unsent as was_unsent
from tickwire.trading.venue import Call, OrderGrammar, TokenHook
from tickwire.transport.http import HttpClient

log = logging.getLogger("tickwire.trading")

# A request the venue refused for rate is resent at most this many times (each after its Retry-After,
# when the session's ``rate_wait`` allows that long).
RATE_RESENDS = 3


# How long a reading of a venue's clock serves searches by its time where no refusal re-measures it
# (``Wire.read_clock``): a clock that steps is caught within this, and a burst of searches reads once.
CLOCK_READ_KEEP_S = 60.0


class Wire:
    def __init__(
        self,
        grammar: OrderGrammar,
        signer: Any,
        rest_url: str,
        budget: RateBudget,
        audit: AuditLog | NullAudit,
        *,
        timeout: float,
        transport: str,
        ssl_context: ssl.SSLContext | None = None,
        on_exchange: Callable[[str, str, int, float], None] | None = None,
        rest_connections: int = 2,
    ) -> None:
        if rest_connections < 1:
            raise ValueError(f"rest_connections must be >= 1, not {rest_connections!r}")
        self.rest_connections = rest_connections
        self.venue = grammar.venue
        self.grammar = grammar
        self.signer = signer
        self.rest_url = rest_url
        self.budget = budget
        self.audit = audit
        self.timeout = timeout
        self.transport = transport
        self.ssl_context = ssl_context
        self.on_exchange = on_exchange
        self.http: HttpClient | None = None
        self.orders_ws: OrderSocket | None = None
        make_tokens = getattr(grammar, "token_auth", None)
        self._tokens: TokenHook | None = None
        self.tokens = make_tokens(signer) if make_tokens is not None else None
        # Headers a venue adds to a signed REST call beyond the signature's (``rest_headers``).
        self._rest_headers: Callable[[Any, Any], dict[str, str]] | None = getattr(
            grammar, "rest_headers", None
        )
        # Called before each order-lane write, after the budget wait (the session's halt check): a
        # call parked in the budget when the kill switch was thrown must not go out after it.
        self.order_gate: Callable[[str], None] | None = None
        self.rate_resends = 0  # requests resent after a rate-limit refusal (health)
        self.relogins = 0  # log-ins after a refused token (health)
        self.requests = 0  # requests sent, resends and remedies included (health)
        # The venue's clock the signers use, and the remedies that re-measure it.
        self.clock = VenueClock(self.venue)
        self.remedies = Remedies(self.venue, self.clock, audit)
        self._resync: asyncio.Task[float] | None = None

    async def start(self) -> None:
        self.http = HttpClient(
            self.rest_url, timeout=self.timeout, ssl_context=self.ssl_context, on_exchange=self.on_exchange,
            pool_size=self.rest_connections,
        )  # fmt: skip
        await self.http.connect()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None

    @property
    def tokens(self) -> TokenHook | None:
        """The venue's log-in tokens (Clarofinlore), None where requests carry none."""
        return self._tokens

    @tokens.setter
    def tokens(self, tokens: TokenHook | None) -> None:
        # Its log-ins and refreshes are requests the venue counts like any other: charged here.
        self._tokens = tokens
        if tokens is not None and hasattr(tokens, "charge"):
            tokens.charge = self._charge_auth

    def _resend_charged(
        self, gate: Callable[[], None] | None, cost: dict[str, int], lane: Lane
    ) -> Callable[[], None]:
        """``gate``, run right before each write of one request, after the budget's
        (``resend_gate``: a late first write counted from the write, a resend charged again); what
        the budget's refuses is marked unsent."""
        budget_gate = resend_gate(self.budget, cost, lane)

        def check() -> None:
            try:
                budget_gate()
            except RateLimitError as e:
                raise unsent(e) from None
            if gate is not None:
                gate()

        return check

    def late_gate(self, cost: dict[str, int], lane: Lane) -> Callable[[], None]:
        """The budget's gate (``resend_gate``) for a request whose ``cost`` was just taken (no await
        between): a late first write counted from the write, a resend charged again; what it refuses
        is marked unsent. For requests written outside :meth:`send` (an order template's)."""
        return self._resend_charged(None, cost, lane)

    def cost(self, call: Call) -> dict[str, int]:
        """What ``call`` takes of the budget (nothing where the grammar declares no costs)."""
        return self.grammar.cost(call) if hasattr(self.grammar, "cost") else {}

    async def _charge_auth(self, path: str) -> Callable[[], None]:  # its write may come late (a connect)
        await self.budget.acquire(cost := self.cost(Call("POST", path)), "query")
        return self.late_gate(cost, "query")

    async def send(
        self, call: Call, lane: Lane = "query", *, rest_only: bool = False,
        ready: Callable[[], None] | None = None,
    ) -> Any:  # fmt: skip
        """``call`` once the budget has room (``lane``: ``"order"``, ``"cancel"`` — which may use the
        reserve — or ``"query"``); the decoded answer or the venue's typed error. Transport failures
        (time-out, lost connection) propagate as they are: the caller decides what they mean.
        ``ready``: the caller's check right before each take (what it raises: unsent)."""
        if self.http is None:
            raise unsent(TransportError(f"{self.venue}: trading session is not started"))
        cost = self.cost(call)
        resends = 0
        remedied = False
        what = f"{call.method} {call.path}"

        def writable() -> None:
            # A query (an order's status, the open orders, the fills) changes nothing at the venue:
            # while the socket is down it goes over REST, as under "auto". Refused, the lookup of an
            # order whose answer the cut socket lost would leave it unknown with the venue unasked.
            self._socket_down(call, rest_only or lane == "query")
            if ready is not None:  # e.g. an order checked by rules read anew while it waited
                ready()

        async def charged() -> Callable[[], None]:  # each send's charge: the first, and after a log-in
            return self._resend_charged(await self.cleared(cost, lane, what, ready=writable), cost, lane)

        while True:
            try:
                gate = await charged()
            except asyncio.CancelledError as e:  # while waiting for the budget: no byte of it written
                unsent(e)
                raise
            started = time.monotonic()
            self.requests += 1
            try:
                return await self._once(call, rest_only, cost, gate, charged, lane == "order")
            except RateLimitError as e:
                blocked = getattr(e, "retry_after", None) or 0.0
                per_entry = lane == "order" and by_entry(e)
                if resends >= RATE_RESENDS or blocked > self.budget.max_wait_s or per_entry:
                    raise
                resends += 1
                self.rate_resends += 1  # the next acquire waits the block out
            except TickwireError as e:
                if was_unsent(e):  # refused here before a byte went out: neither lost nor refused
                    raise
                # "lost": no answer (time-out, connection gone); "refused": the venue's error answer.
                lost = isinstance(e, RequestTimeoutError | TransportError)
                self.audit.event(
                    "lost" if lost else "refused", venue=self.venue, method=call.method, path=call.path,
                    params=dict(call.params), body=call.body, error=type(e).__name__,
                    code=getattr(e, "code", None), message=str(e),
                )  # fmt: skip
                # Once per request: a second refusal is the caller's.
                remedy = None if remedied else self.remedies.remedy_for(e)
                if remedy is None:
                    raise
                remedied = True

                async def resync(rounds: int, since: float = started) -> float:
                    return await self.measure_clock(rounds, since=since)

                try:
                    again = await self.remedies.apply(remedy, e, call, self.signer, resync)
                except TickwireError as failed:
                    # The venue's refusal is the answer: a remedy that failed (its clock reading timed
                    # out) did not make the request lost, and an order refused is no order to look for.
                    raise e from failed
                if not again:
                    raise

    async def cleared(
        self,
        cost: dict[str, int],
        lane: Lane,
        what: str,
        *,
        taken: bool = False,
        ready: Callable[[], None] | None = None,
    ) -> Callable[[], None] | None:
        """Right before a write: ``cost`` taken from the budget (unless already ``taken``), then, for an
        order, the session's halt check. What refuses is marked ``unsent`` (nothing went out). The
        check is returned, for the HTTP client to run again after a connect (None: not an order).
        ``ready``: what else must hold for the request to go (the order socket up)."""
        gate = self.gate(lane, what)

        def checks() -> None:
            if ready is not None:
                ready()
            if gate is not None:
                gate()

        if taken:
            checks()
            return gate
        try:
            # Checked right before the weight is taken (in the same step), not after: a request refused
            # here (the kill switch thrown while it waited for room, the order socket down) is never
            # the venue's to count, and its weight would keep the next orders out of the window.
            await self.budget.acquire(cost, lane, ready=checks)
        except TickwireError as e:
            unsent(e)
            raise
        return gate

    def gate(self, lane: Lane, what: str) -> Callable[[], None] | None:
        """For an order, the session's halt check as the HTTP client runs it right before its write
        (again after a fresh connection's connect, which may take a while); what it refuses is marked
        ``unsent``. None for the other lanes."""
        check = self.order_gate
        if lane != "order" or check is None:
            return None

        def gate() -> None:
            try:
                check(what)
            except TickwireError as e:
                unsent(e)
                raise

        return gate

    async def start_clock(self, signer: Any) -> None:
        """Measures the venue clock once at start when ``signer`` signs with it. A venue whose time
        endpoint fails leaves the local clock in use (offset 0) until a refusal asks again: the
        session still starts."""
        if getattr(signer, "clock", None) != self.clock.now_ms:
            return
        try:
            await self.measure_clock(START_ROUNDS)
        except (TickwireError, OSError, ValueError, KeyError, TypeError) as e:
            log.warning("%s: venue clock not measured at start (%s); using the local clock", self.venue, e)

    async def read_clock(self) -> None:
        """Before a search by the venue's time (an order's trades since its send) where no signed
        request carries a time the venue checks (Kraken's nonces): no refusal there ever asks for a
        measurement, so a venue clock off from the start, or stepped since, is read now (one
        reading; one of the last ``CLOCK_READ_KEEP_S`` serves). One that fails leaves the offset as it
        was: the search still runs."""
        if self.clock.server_time is None or self.clock.signs:
            return
        try:
            await self.measure_clock(START_ROUNDS, since=time.monotonic() - CLOCK_READ_KEEP_S, remedy=False)
        except (TickwireError, OSError, ValueError, KeyError, TypeError) as e:
            log.warning("%s: venue clock not read before a search by its time (%s)", self.venue, e)

    async def measure_clock(self, rounds: int, *, since: float | None = None, remedy: bool = True) -> float:
        """The venue clock's offset re-measured (each reading through the budget); requests refused
        together share one measurement, and one made after ``since`` (monotonic s) is reused.
        ``remedy``: counted in ``clock_resyncs`` when ``since`` is given (a refusal's re-measure)."""
        clock = self.clock
        if since is not None and clock.measured_at is not None and clock.measured_at > since:
            return clock.offset_ms
        if self._resync is None or self._resync.done():
            if self.http is None:
                raise unsent(TransportError(f"{self.venue}: trading session is not started"))
            st = clock.server_time
            assert st is not None
            probe = Call("GET", st.path, signed=False)
            cost = self.grammar.cost(probe) if hasattr(self.grammar, "cost") else {}

            async def before() -> Callable[[], None]:
                await self.budget.acquire(cost, "query")
                self.requests += 1
                return self._resend_charged(None, cost, "query")

            async def measured(http: HttpClient) -> float:
                try:
                    return await clock.measure(http, rounds, before)
                except RateLimitError as e:
                    # A reading refused for rate blocks the budget for its Retry-After like any
                    # request's refusal: else the next request went inside it (Binance: a 418 ban).
                    if not was_unsent(e):
                        self.rate_refused(probe, e, cost)
                    raise

            if since is not None and remedy:
                self.remedies.clock_resyncs += 1
            self._resync = asyncio.ensure_future(measured(self.http))
        return await asyncio.shield(self._resync)

    async def _once(
        self,
        call: Call,
        rest_only: bool,
        cost: dict[str, int] | None = None,
        gate: Callable[[], None] | None = None,
        again: Callable[[], Awaitable[Callable[[], None] | None]] | None = None,
        places: bool = False,
    ) -> Any:
        """``places``: ``call`` places orders (a batch of them is answered entry by entry)."""
        ws = None if rest_only else self.orders_ws
        try:
            if ws is not None and call.signed:
                data = ws.offers(call)
                if data is not None:
                    self.audit_request(call, "ws")
                    return await ws.request(data, self.ws_usage)
                # (Down under transport="ws" with a form for ``call``: refused before its weight was
                # taken, in this same step — ``_socket_down``.)
            self.audit_request(call, "rest")
            return await self._rest(call, gate, again)
        except RateLimitError as e:
            # The venue's refusal; one of the budget's own (a resend) blocks nothing, and a batch's
            # entries are learnt each where it was refused (``trading.batch``).
            if not was_unsent(e) and not (places and by_entry(e)):
                self.rate_refused(call, e, cost)
            raise

    def _socket_down(self, call: Call, rest_only: bool) -> None:
        """Raises, marked unsent, when ``call`` can go nowhere: the order socket is down under
        ``transport="ws"`` and the venue takes ``call`` on it (REST would be another path).
        ``rest_only``: ``call`` may go over REST (nothing to refuse)."""
        ws = None if rest_only else self.orders_ws
        if ws is not None and call.signed and self.transport == "ws" and not ws.connected:
            if ws.has_form(call):
                # The venue revoked the socket's session (its key became invalid): refused naming it.
                raise unsent(
                    ws.revocation()
                    or TransportError(f"{self.venue}: the order socket is down (transport='ws')")
                )

    def rate_refused(self, call: Call, e: RateLimitError, cost: dict[str, int] | None = None) -> None:
        """The venue refused ``call`` — or entries of a batch it answered in part (OKX's code "2"
        with 50011 entries) — for rate: nothing more goes to that limit before the venue's window
        has passed, from any session; ``e.retry_after`` says how long."""
        if cost is None:
            cost = self.cost(call)
        code = getattr(e, "code", None)
        named = self.budget.limit_for_code(code)
        blocked = self.budget.refused(named or None, getattr(e, "retry_after", None), cost)
        e.__dict__["retry_after"] = blocked  # the Rust-made class declares no attributes
        self.audit.event(
            "rate_limited", venue=self.venue, code=code, path=call.path, params=dict(call.params),
            body=call.body, retry_after=blocked,
        )  # fmt: skip

    def audit_request(self, call: Call, transport: str) -> None:
        """The request as the caller built it: before signing, so no signature, timestamp, key or
        token is in it (the audit log masks secret-named fields anyway)."""
        self.audit.event(
            "request", venue=self.venue, transport=transport, method=call.method, path=call.path,
            params=dict(call.params), body=call.body, signer=key_hint(self.signer),
        )  # fmt: skip

    async def _rest(
        self,
        call: Call,
        gate: Callable[[], None] | None = None,
        again: Callable[[], Awaitable[Callable[[], None] | None]] | None = None,
    ) -> Any:
        """``call`` over REST; a request refused for its token is sent once more after a log-in,
        charged to the budget again (``again``: the venue counts it like any other)."""
        http = self.http
        assert http is not None
        if not call.signed:
            t0 = time.perf_counter()
            r = await http.request(call.method, call.path, query=dict(call.params), gate=gate)
            return self.read_answer(r.status, r.body, r.headers, call, time.perf_counter() - t0)
        relogged = False
        while True:
            req = self.signer.sign_request(call.method, call.path, dict(call.params), call.body)
            headers = dict(req.headers)
            if self._rest_headers is not None:  # a venue's own, besides the signature's (OKX expTime)
                headers.update(self._rest_headers(call, self.signer))
            if call.body:
                headers.setdefault("Content-Type", "application/json")
            used = ""
            if self.tokens is not None:
                await self.tokens.ensure(http)
                headers.update(self.tokens.header())
                used = self.tokens.token
            q, body = req.query, req.body
            t0 = time.perf_counter()
            r = await http.request(call.method, call.path, query=q, body=body, headers=headers, gate=gate)
            if self.tokens is not None and not relogged and self.tokens.refused(r.status, r.body):
                self.tokens.forget(used)
                relogged = True
                self.relogins += 1
                self.audit.event("relogin", venue=self.venue, path=call.path)
                if again is not None:
                    gate = await again()
                continue
            return self.read_answer(r.status, r.body, r.headers, call, time.perf_counter() - t0)

    def reset_clock(self) -> float:
        """The venue's clock (epoch s) as early as it may read now: the measured offset less its
        error bound and the millisecond a reset time is given in — a rate limit's reset time read
        against it has passed on the venue's clock too when the block ends, so the next request does
        not land in the refused window by the measurement's error (and waits no more than that)."""
        return (self.clock.now_ms() - self.clock.error_ms - 1.0) / 1000

    def ws_usage(self, answer: Any, age: float | None = None) -> None:
        """The usage an order-socket answer states, fed to the budget (``age``: seconds since its
        request was written, see ``RateBudget.observe``)."""
        if hasattr(self.grammar, "read_ws_usage"):
            self.budget.observe(self.grammar.read_ws_usage(answer), age)

    def read_answer(
        self, status: int, body: bytes, headers: dict[str, str], call: Call, age: float | None = None
    ) -> Any:
        """A REST answer to ``call`` decoded (:func:`tickwire.trading.rest_answer.read_answer`)."""
        return read_answer(self.grammar, self.budget, self.reset_clock, status, body, headers, call, age)


def key_hint(signer: Any) -> str | None:
    """Which key signed (its first 4 characters: enough to tell keys apart across a rotation)."""
    key = getattr(signer, "api_key", None) or getattr(signer, "client_id", None)
    return f"{key[:4]}…" if isinstance(key, str) and key else None
