"""What follows an order template's write: the answer read and applied, a lost one reconciled, a
refusal with a remedy sent once more (``Answering``, the part of
:class:`tickwire.trading.template.OrderTemplate` that runs in the task ``send`` returns)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickwire.errors import (
    DecodeError,
    RateLimitError,
    RequestTimeoutError,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.trading.intake import audit_fields
from tickwire.trading.orders import Order
from tickwire.trading.place import refused, withdraw
from tickwire.trading.wire import RATE_RESENDS, unsent, was_unsent

if TYPE_CHECKING:
    from tickwire.trading.order_socket import OrderSocket
    from tickwire.trading.session import TradingSession

__all__ = ["Answering", "retrieved"]


class Answering:
    """The answer half of an order template; the attributes below are the template's."""

    session: TradingSession
    symbol: str
    _baked: Any
    _call: Any
    _cost: dict[str, int]
    _path: str
    _socket_only: bool
    _rules_map: Any
    _rest: Any
    _ws: Any

    if TYPE_CHECKING:

        def _track(self, p: int, q: int, cid: str, on_socket: bool) -> Order: ...

        def _refresh_rules(self) -> None: ...

        def _checked(self, tmpl: Any, p: int, q: int) -> bytes: ...

        def _fill(self, p: int, q: int, cid: str) -> tuple[OrderSocket | None, str, bytes]: ...

        def order(self, price: int, qty: int, client_id: str) -> Order: ...

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
        answered: Callable[[], None] | None = None,
        resend: bool = True,
        late: Callable[[], None] | None = None,
    ) -> Order:
        """The rest of :meth:`send`: the write when it had to wait (``written`` None), then the answer
        applied (``answered()`` called as soon as the venue's answer is read, before it is applied),
        a lost one reconciled. A refusal with a remedy (a venue clock re-measured, a token
        renewed, a fresh nonce) or the venue's rate-limit refusal (after its block) is sent once more
        with the same client id, signed anew, as ``place_order``'s request path does: the venue did not
        take the order (not with ``resend`` False: a quote rule's order would go out late at an old
        price; its remedy is still applied and its block still counted). Any other refusal is recorded
        as the order's rejection and raised. ``late``: the budget's gate of a weight ``taken`` in
        ``send`` (``Wire.late_gate``) for a write that had to wait (a connect)."""
        try:
            with self.session.reconciler.call(cid):
                s = self.session
                tracked: list[Order] = [] if order is None else [order]

                def track() -> None:  # right after the write, before anything else runs
                    if not tracked:
                        tracked.append(self._track(p, q, cid, ws is not None))

                wire = s.wire
                remedied, resends, relogged = False, 0, False
                gate: Callable[[], None] | None = None  # the halt check, for a write that had to wait
                while True:
                    sending = False
                    started = time.monotonic()
                    try:
                        if written is None:
                            if wire.http is None:  # closed: as place_order, refused before the budget
                                raise unsent(TransportError(f"{s.venue}: trading session is not started"))
                            if s.dead_man is not None:
                                await s.dead_man.cover(self.symbol)  # unsent when it fails
                            # The order socket down under transport="ws": refused before its weight
                            # is taken, as place_order's is (the venue counts no order never written).
                            halt = await wire.cleared(
                                self._cost, "order", "template send", taken=taken, ready=self._goes(p, q)
                            )
                            # Written only after a connect: counted from the write, as ``Wire.send``'s
                            # requests are (the budget's gate made right after the take: send's, or
                            # this acquire's, no await between).
                            if not taken or late is None:
                                late = wire.late_gate(self._cost, "order")
                            gate = _both(late, halt)
                            ws, rid, data = self._fill(
                                p, q, cid
                            )  # signed anew after the wait, where it goes now
                        sending = True
                        wire.requests += 1
                        body = await self._answer(ws, rid, data, written, track, gate, relogin=not relogged)
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
                    except TickwireError as e:
                        if was_unsent(e):  # nothing of it went out: no order to track or reconcile
                            if tracked:
                                withdraw(s, cid, e)
                            else:  # never registered: this line is all the audit file has of it
                                fields = audit_fields(self.order(p, q, cid))
                                s.audit.event("order_withdrawn", **fields, error=type(e).__name__)
                            raise
                        track()  # tracked as place_order does before sending: the reconciler settles it
                        if isinstance(e, UnknownOutcome | RequestTimeoutError | TransportError):
                            if answered is not None:  # a quote rule: let go at a guess's wait
                                s.reconciler.on_guess_wait[cid] = answered
                            return await s.reconciler.resolve(tracked[0], str(e))
                        written, taken = None, False
                        if sending and isinstance(
                            e, RateLimitError
                        ):  # the venue's: nothing more to that limit
                            code = getattr(e, "code", None)  # until its window passed, from any session
                            named = s.budget.limit_for_code(code)
                            blocked = s.budget.refused(
                                named or None, getattr(e, "retry_after", None), self._cost
                            )
                            e.__dict__["retry_after"] = blocked
                            if resend and resends < RATE_RESENDS and blocked <= s.budget.max_wait_s:
                                resends += 1
                                wire.rate_resends += 1  # the next acquire waits the block out
                                continue
                        remedy = None if remedied or not sending else wire.remedies.remedy_for(e)
                        if remedy is not None:
                            remedied = True

                            async def resync(rounds: int, since: float = started) -> float:
                                return await wire.measure_clock(rounds, since=since)

                            try:
                                again = await wire.remedies.apply(remedy, e, self._call, s.signer, resync)
                            except TickwireError:
                                # The remedy failed (its clock reading timed out): the venue's refusal
                                # stands, the order recorded rejected below, as ``Wire.send`` has it.
                                again = False
                            if again and resend:
                                continue
                        refused(s, cid, e)
                        raise
                if answered is not None:  # outside the request's error handling: the venue has answered
                    answered()
                try:
                    await s.answered(self.symbol, body)
                except DecodeError as e:  # as ``place.send_order``: asked of the venue
                    track()
                    return await s.reconciler.resolve(tracked[0], f"answer unreadable: {e}")
                got = s.tracker.get(cid)
                assert got is not None
                return got
        finally:
            self.session.risk.release(cid)  # tracked once written (the count moved there); unsent, no more

    def _goes(self, p: int, q: int) -> Callable[[], None]:
        """The check right before a waiting order's weight is taken (``Wire.cleared``'s ``ready``): the
        order socket up where only it may take the order, and the numbers within rules read anew
        while it waited (``load_rules``, the periodic read) — the venue's grid changed, an order
        checked by the old one only is refused by the venue; here, by the rules' own error, unsent."""

        def ready() -> None:
            self._writable()
            if self.session.rules is not self._rules_map:
                self._refresh_rules()
                self._checked(self._rest if self._rest is not None else self._ws, p, q)

        return ready

    def _writable(self) -> None:
        """Raises, marked unsent, when the order can go nowhere now: only the order socket may take
        it (``transport="ws"``, or a template with no REST form) and it is down."""
        s = self.session
        ws = s.orders_ws
        socket_only = (s.transport == "ws" and ws is not None) or self._socket_only
        if socket_only and (ws is None or not ws.connected):
            revoked = None if ws is None else ws.revocation()  # the venue revoked its session
            raise unsent(revoked or TransportError(f"{s.venue}: the order socket is down (transport='ws')"))

    async def _answer(
        self,
        ws: OrderSocket | None,
        rid: str,
        data: bytes,
        written: Any,
        track: Callable[[], None],
        gate: Callable[[], None] | None = None,
        relogin: bool = False,
    ) -> Any:
        """The venue's answer to ``data``: on the order socket, or over REST (already written when
        ``written`` is set; else ``gate``, the halt check, runs again right before the write, after
        any connect), read by the grammar. With ``relogin``, the venue's refusal of the session
        token the bytes carry raises ``_TokenRefused`` (the caller logs in and sends anew, as
        ``place_order``'s request path does once)."""
        s, wire = self.session, self.session.wire
        if ws is not None:
            if written is not None:
                return await ws.answer(written, rid, wire.ws_usage)
            return await ws.request(data, wire.ws_usage, rid, track)
        if (s.transport == "ws" and s.orders_ws is not None) or self._socket_only:
            raise unsent(TransportError(f"{s.venue}: the order socket is down (transport='ws')"))
        http = wire.http
        if http is None:
            raise unsent(TransportError(f"{s.venue}: trading session is not started"))
        t0 = written.at if written is not None else time.perf_counter()
        r = await http.finish_raw("POST", self._path, data, written, sent=track, gate=gate)
        tokens = wire.tokens
        if relogin and tokens is not None and tokens.refused(r.status, r.body):
            raise _TokenRefused(self._baked)
        return wire.read_answer(r.status, r.body, r.headers, self._call, time.perf_counter() - t0)


def _both(first: Callable[[], None], then: Callable[[], None] | None) -> Callable[[], None]:
    def check() -> None:
        first()
        if then is not None:
            then()

    return check


class _TokenRefused(Exception):
    """The venue refused the session token a template's request carried (``token``)."""

    def __init__(self, token: Any) -> None:
        super().__init__("session token refused")
        self.token = token


def retrieved(task: asyncio.Task[Order]) -> None:
    """Marks a send's exception retrieved: a caller that never awaits the task learns of a refusal
    from the tracker's events, and one that does still gets it raised."""
    if not task.cancelled():
        task.exception()
