"""The order socket: requests over the venue's order WebSocket (``transport="ws"``), each correlated
by id and awaited with a deadline, on a socket kept connected (``kept_socket.py``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import orjson

from tickwire.errors import AuthError, RateLimitError, RequestTimeoutError, TickwireError, TransportError
from tickwire.loop import after_reads
from tickwire.trading.kept_socket import KeptSocket, LoginGrammar
from tickwire.trading.rest_answer import unreadable, venue_said
from tickwire.trading.venue import Call
from tickwire.transport.http_conn import write_failed

# What reads the usage an answer states: ``(answer, age)``, age the seconds since its request was
# written (None: not known) — see ``RateBudget.observe``.
Observe = Callable[[Any, float | None], object]


@runtime_checkable
class WsOrderGrammar(LoginGrammar, Protocol):
    """What a venue's order grammar adds when it takes orders over a WebSocket."""

    venue: str
    ws_label: str

    def ws_request(self, call: Call, signer: Any, request_id: str) -> bytes | None:
        """The WebSocket form of ``call`` (None: it has none; it goes over REST)."""
        ...

    def ws_answer_id(self, msg: Any) -> str | None: ...

    def read_ws_answer(self, msg: Any) -> Any:
        """The answer's result, or the venue's typed error raised."""
        ...


class OrderSocket(KeptSocket):
    """Requests over the venue's order WebSocket, each correlated by id and awaited with a deadline.
    A socket lost before an answer fails the request with :class:`TransportError` — the caller treats
    that as an unknown outcome and reconciles."""

    name = "order socket"

    def __init__(self, grammar: WsOrderGrammar, signer: Any, url: str, *, timeout: float = 5.0) -> None:
        super().__init__(grammar.venue, url, connect_timeout=timeout, grammar=grammar)
        self.grammar = grammar
        self.signer = signer
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[Any]] = {}
        # When each awaited request was written (perf_counter): the usage its answer states is as of
        # then, and what was taken since is added to it (``RateBudget.observe``'s ``age``).
        self._written_at: dict[str, float] = {}
        self._rid = 0
        self._cut_when_answered = False  # the venue said it will close: cut once nothing awaits
        # The venue's clock as measured (epoch s; ``Wire.reset_clock``): what a rate-limit refusal's
        # reset time is read against (set by the session; the local clock until then).
        self.reset_clock: Callable[[], float] = time.time

    async def on_connected(self) -> None:
        self._cut_when_answered = False
        await self.log_in(self.grammar, self.signer)

    def on_message(self, msg: Any) -> None:
        rid = self.grammar.ws_answer_id(msg)
        fut = self._pending.pop(rid, None) if rid is not None else None
        if fut is not None and not fut.done():
            fut.set_result(msg)
        if self._cut_when_answered and not self._pending:
            self.drop()

    def venue_closing(self) -> None:
        """No new request goes on a connection the venue is about to close (they go where a socket
        that is down sends them); those awaiting their answers keep it until answered — cut then, or
        by their time-out — so no answer is lost to the venue's cut, and the loop connects anew."""
        self.connected = False
        if self._pending:
            self._cut_when_answered = True
        else:
            super().venue_closing()

    def on_revoked(self, e: TickwireError) -> None:
        """The requests awaiting their answers on the revoked connection fail at once (not at their
        time-out): their outcome is unknown — the venue may have acted on them before it revoked the
        session — so their callers reconcile them, as after a socket lost before the answer."""
        pending, self._pending = self._pending, {}
        self._written_at.clear()
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(
                    TransportError(f"{self.venue}: order socket's session revoked before the answer ({e})")
                )

    def on_disconnected(self) -> None:
        pending, self._pending = self._pending, {}
        self._written_at.clear()
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(TransportError(f"{self.venue}: order socket lost before the answer"))

    @property
    def awaiting(self) -> int:
        """How many requests written on this socket await their answer."""
        return len(self._pending)

    def has_form(self, call: Call) -> bool:
        """Whether the venue takes ``call`` on its order socket at all (else it goes over REST)."""
        # A request id of the socket's own form: a venue whose socket ids are numbers (Kraken v2's
        # integer ``req_id``) refuses any other with a ValueError.
        return self.grammar.ws_request(call, self.signer, "tw0") is not None

    def offers(self, call: Call) -> bytes | None:
        """The request bytes for ``call`` when the socket is up and the venue has a WS form of it."""
        if not self.connected:
            return None
        return self.grammar.ws_request(call, self.signer, self.next_id())

    def next_id(self) -> str:
        """A fresh request id (what :meth:`offers` puts in a request; order templates take one)."""
        self._rid += 1
        return f"tw{self._rid}"

    def give_back(self, rid: str) -> None:
        """``rid``, the last :meth:`next_id` returned, went into no request written: the next takes it."""
        if rid == f"tw{self._rid}":
            self._rid -= 1

    async def request(
        self,
        data: bytes,
        observe: Observe | None = None,
        rid: str | None = None,
        sent: Callable[[], None] | None = None,
    ) -> Any:
        """The answer to ``data``, read by the grammar; ``observe`` sees the raw answer first (the
        venue's usage counts it carries: Binance WS API ``rateLimits``). ``rid``: the request id
        ``data`` carries, when the caller knows it (else it is read from ``data``); ``sent`` runs right
        after the bytes were written, before anything else can run."""
        if rid is None:
            rid = self.grammar.ws_answer_id(orjson.loads(data))
            assert rid is not None
        fut = self.write(data, rid)
        if fut is None:
            raise TransportError(f"{self.venue}: order socket is down")
        if sent is not None:
            sent()
        return await self.answer(fut, rid, observe)

    def write(self, data: bytes, rid: str) -> asyncio.Future[Any] | None:
        """Writes ``data`` (request id ``rid``) now and returns the future its answer settles; None,
        and nothing written, when the socket is down. :meth:`answer` waits for it."""
        fut = self.expect(rid)
        try:
            sent = self.send(data)
        except BaseException as e:
            self._pending.pop(rid, None)  # no one can await it: not left counted as awaiting
            self._written_at.pop(rid, None)
            if isinstance(e, Exception):
                raise write_failed(e) from e
            raise
        if not sent:
            self._pending.pop(rid, None)
            self._written_at.pop(rid, None)
            return None
        return fut

    def forget(self, rid: str, fut: asyncio.Future[Any]) -> None:
        """Request ``rid``'s answer is no longer awaited (``fut``: unless another request took the id)."""
        if self._pending.get(rid) is fut:
            del self._pending[rid]
            self._written_at.pop(rid, None)
            if self._cut_when_answered and not self._pending:
                # The venue is closing this connection and the last request it was kept for is given
                # up (its time-out timer gone with it): cut now, as an answer would have it cut —
                # else it stays up taking no request until the venue's own cut.
                self.drop()

    def awaited_by(self, rid: str, fut: asyncio.Future[Any], task: asyncio.Task[Any]) -> None:
        """The answer ``fut`` to request ``rid`` is for ``task`` to read (an order template's send): a
        task cancelled before it awaited it — its coroutine never ran — no longer awaits it either."""
        task.add_done_callback(lambda t: self.forget(rid, fut) if t.cancelled() else None)

    def _time_out(self, fut: asyncio.Future[Any], rid: str) -> None:
        # Judged once the socket was read: after a stall of the process its answer may be waiting
        # there, and taken for lost the order went unknown, was reconciled, and the socket was cut
        # with every other answer in it unread (``after_reads``).
        after_reads(self._timed_out, fut, rid)

    def _timed_out(self, fut: asyncio.Future[Any], rid: str) -> None:
        if not fut.done():
            self._pending.pop(rid, None)
            fut.set_exception(
                RequestTimeoutError(f"{self.venue}: no answer on the order socket in {self.timeout} s")
            )
            # A connection that left a request unanswered for the whole time-out (gone silent, its
            # pings still answered) is not trusted with the next: it is cut, and taken as down from
            # this step on — else the lost order's lookup, the caller's next step, would go over it
            # (Binance's ``order.status``), be left unanswered too, and the order left unknown
            # though REST could tell. The loop reconnects it; meanwhile queries go over REST.
            self.connected = False
            self.drop()

    def expect(self, rid: str) -> asyncio.Future[Any]:
        """The future the answer to request ``rid`` settles (written, or about to be, in this step of
        the event loop)."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._written_at[rid] = time.perf_counter()
        return fut

    async def answer(self, fut: asyncio.Future[Any], rid: str, observe: Observe | None = None) -> Any:
        """The answer to a request :meth:`write` wrote, read by the grammar, within the time-out;
        ``observe(answer, age)`` sees it first (``age``: seconds since the request was written)."""
        # The time-out settles ``fut`` itself: ``asyncio.wait_for`` would wake this task through a
        # future of its own, one step of the event loop after the answer (~4 µs an order).
        timer = asyncio.get_running_loop().call_later(self.timeout, self._time_out, fut, rid)
        try:
            answer = await fut
        finally:
            timer.cancel()
            written_at = self._written_at.pop(rid, None)
            if fut.cancelled():
                # Its caller gave up (the session settles the order by reconciliation): nobody can
                # read this answer now, so it is not awaited — with the timer gone nothing else would
                # drop it, and a rotation would wait out the time-out for it before closing the socket.
                self.forget(rid, fut)
        if observe is not None:
            observe(answer, None if written_at is None else time.perf_counter() - written_at)
        try:
            return self.grammar.read_ws_answer(answer)
        except RateLimitError as e:
            # The venue's reset time the answer carries (Bybit's header ``X-Bapi-Limit-Reset-Timestamp``,
            # venues.md §3.4), read on its clock as a REST answer's is: the budget blocks the limit
            # until then — not for a default that sent the next order into the refused window, or
            # held it past the reset.
            reset = getattr(self.grammar, "read_ws_reset", None)
            if getattr(e, "retry_after", None) is None and reset is not None:
                e.__dict__["retry_after"] = reset(answer, self.reset_clock())
            raise
        except AuthError:
            if getattr(self.grammar, "login_stale", False):
                # The log-in rides on what a REST call fetched (Kraken's token), which a reconnect may
                # reuse and no set-up message checks: refused for it, the connection is cut so the next
                # one fetches it anew — kept, every order over it was refused for as long as it lasted.
                # Refused for another reason (a key without the trading permission) it is kept: a
                # reconnect would fetch a token and be refused again, order after order.
                self.drop()
            raise
        except TickwireError as e:
            # An answer naming no venue code (its reader found none): unread, as a REST one's — the
            # caller reconciles, where a code-less error was taken for a refusal.
            if venue_said(e):
                raise
            raise unreadable(self.venue, "an order socket request", e) from e
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, ArithmeticError) as e:
            # A shape the grammar does not know: typed, never a bare error out of the order path.
            raise unreadable(self.venue, "an order socket request", e) from e
