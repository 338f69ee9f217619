"""A trading session's sockets, kept connected: the private stream (the venue's own report of every
order event) and, where the venue offers it, the order socket (requests correlated by id).

Events go to the same tracker ``apply`` as REST answers and reconciliation, so a fill reported by the
order's answer, by the stream and by a reconciliation query is still counted once. After every
reconnect the stream subscribes again and the session reconciles every order that was open or in
flight, so what changed while the stream was down is reported too.

Private streams carry a few messages per order, not a market's worth per second: plain orjson is fine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport

from tickwire.errors import DecodeError, RequestTimeoutError, TickwireError, TransportError
from tickwire.recovery.backoff import Backoff, connect_slot, settled
from tickwire.trading.answers import read_events
from tickwire.trading.orders import OrderEvent
from tickwire.trading.remedy import refused_for_good
from tickwire.trading.venue import Call
from tickwire.transport.http_conn import write_failed
from tickwire.transport.ws import open_ws

log = logging.getLogger("tickwire.trading")

# How long a close waits for the socket's loop to end before cancelling it again.
CLOSE_POLL_S = 0.1

# What reads the usage an answer states: ``(answer, age)``, age the seconds since its request was
# written (None: not known) — see ``RateBudget.observe``.
Observe = Callable[[Any, float | None], object]


@runtime_checkable
class LoginGrammar(Protocol):
    """A socket's log-in step, for venues that authenticate the connection (OKX's ``login`` op) before
    subscribing or taking orders on it; venues that sign each request instead (Binance) have none."""

    def login(self, signer: Any) -> bytes | None:
        """The log-in request sent first on each connection; None: this socket needs none."""
        ...

    def login_ack(self, msg: Any) -> bool:
        """True for the venue's answer accepting ``login``; raises the venue's typed error for a
        refusal (the socket retries with back-off)."""
        ...


@runtime_checkable
class StreamGrammar(LoginGrammar, Protocol):
    """What a venue's order grammar adds when it has a private order stream."""

    venue: str
    stream_label: str  # which of the endpoint's WebSocket URLs carries it

    def stream_subscribe(self, signer: Any) -> bytes: ...

    def stream_ack(self, msg: Any) -> bool:
        """True for the venue's answer accepting ``stream_subscribe``."""
        ...

    def read_stream(self, msg: Any) -> Sequence[OrderEvent]: ...


async def _slot(venue: str, url: str) -> Callable[[], None]:
    """A slot of the venue's connection-rate limit (its market adapter's: OKX 3 a second per IP),
    from the limiter its market-data lines dialling the same host share — a private stream and an
    order socket reconnecting beside them count as the venue counts them."""
    from tickwire.venues import adapter_class

    try:
        adapter = adapter_class(venue)
    except ValueError:
        return settled
    return await connect_slot(adapter.venue, url.split("/")[2], adapter.connect_limit)


class _Listener(WSListener):
    def __init__(self, on_text: Callable[[bytes], None], down: asyncio.Event) -> None:
        self.on_text = on_text
        self.down = down

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.on_text(frame.get_payload_as_bytes())
        elif frame.msg_type is WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.down.set()


class KeptSocket:
    """One WebSocket, reconnected with back-off until closed. ``on_message`` gets each decoded text
    frame; ``on_connected`` runs after each connect (log in, subscribe; raise to retry);
    ``on_disconnected`` after each loss."""

    name = "socket"

    def __init__(self, venue: str, url: str, *, connect_timeout: float = 5.0) -> None:
        self.venue = venue
        self.url = url
        self.connect_timeout = connect_timeout
        self.backoff = Backoff(base=0.05, cap=5.0)
        self.connected = False
        self.connects = 0
        # The picows transport while connected, else None (order templates write on it directly).
        self.transport: WSTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        # Set when a connect or set-up before the first success was the venue refusing the
        # credentials themselves (``refused_for_good``): ``start`` raises it at once.
        self._refused = asyncio.Event()
        self._closing = False
        self._login: tuple[LoginGrammar, asyncio.Future[None]] | None = None
        self.last_error: BaseException | None = None  # why the last connect or set-up failed
        # Signed REST for a grammar's ``login_call`` (Kraken's WebSocket token); set by the session.
        self.rest: Callable[[Call], Awaitable[Any]] | None = None
        # Set by the session: waits for the rate budget's room for a connect (Binance's WS API
        # charges 2 weight each), and reads the usage a log-in answer states (its ``rateLimits``).
        self.before_connect: Callable[[], Awaitable[None]] | None = None
        self.observe: Callable[[Any], None] | None = None
        # Set by the session: what a failed connect or set-up has a remedy for fixed before the next
        # one (a log-in refused for its timestamp: the venue clock measured again), as a REST
        # request's is before it is resent; else every log-in signed on the stale offset is refused.
        self.cure: Callable[[BaseException], Awaitable[None]] | None = None

    async def on_connected(self) -> None:
        pass

    def on_disconnected(self) -> None:
        pass

    def on_message(self, msg: Any) -> None:
        pass

    async def log_in(self, grammar: LoginGrammar, signer: Any) -> None:
        """Runs ``grammar``'s REST step first where it has one (``login_call``/``read_login_call``:
        Kraken's token, fresh for each connect), then sends its log-in request (if it has one) and
        waits for its acceptance."""
        pre = getattr(grammar, "login_call", None)
        if pre is not None:
            if self.rest is None:
                raise TransportError(f"{self.venue} {self.name}: needs a REST call to log in")
            grammar.read_login_call(await self.rest(pre()))  # type: ignore[attr-defined]
        data = grammar.login(signer)
        if data is None:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._login = (grammar, fut)
        try:
            if not self.send(data):
                raise TransportError(f"{self.venue} {self.name}: lost before logging in")
            await asyncio.wait_for(fut, self.connect_timeout)
        finally:
            self._login = None

    def send(self, data: bytes) -> bool:
        t = self.transport
        if t is None:
            return False
        t.send(WSMsgType.TEXT, data)
        return True

    async def start(self, timeout: float = 5.0) -> None:
        """Connects; returns once ``on_connected`` succeeded the first time. Not up within ``timeout``:
        the set-up's last error when it was the venue's refusal (a wrong key's ``AuthError``), else a
        ``TransportError``; the socket is closed."""
        self._task = asyncio.create_task(self._run(), name=f"tickwire-{self.venue}-{self.name}")
        up = asyncio.ensure_future(self._up.wait())
        refused = asyncio.ensure_future(self._refused.wait())
        try:
            await asyncio.wait((up, refused), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for f in (up, refused):
                f.cancel()
        if self._up.is_set():
            return
        await self.close()
        last = self.last_error
        if isinstance(last, TickwireError) and not isinstance(last, TransportError):
            # A wrong key is raised at its first refusal: retrying it would only be refused again
            # (and count against the venue's limits) until the time-out.
            raise last from None
        raise TransportError(
            f"{self.venue} {self.name}: not up within {timeout:g} s (last: {last or 'no answer'})"
        ) from None

    async def close(self) -> None:
        self._closing = True
        while self._task is not None and not self._task.done():
            # Again until the loop ends: a cancel can be lost in an await that completed as it came
            # (see ``_run``), and a connection made meanwhile is cut on the next pass.
            if self.transport is not None:
                self.transport.disconnect()
            self._task.cancel()
            await asyncio.wait((self._task,), timeout=CLOSE_POLL_S)
        if self._task is not None and not self._task.cancelled():
            self._task.exception()  # retrieved (it ended raising): not logged as never retrieved
        if self.transport is not None:
            self.transport.disconnect()
        self.connected = False  # the loop was cancelled before it could say so

    def drop(self) -> None:
        """Cuts the connection (the loop reconnects)."""
        if self.transport is not None:
            self.transport.disconnect()

    def _on_text(self, payload: bytes) -> None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("%s %s: undecodable frame", self.venue, self.name)
            return
        if self._login is not None:
            grammar, fut = self._login
            if self.observe is not None:
                self.observe(msg)
            try:
                accepted = grammar.login_ack(msg)
            except TickwireError as e:
                if not fut.done():
                    fut.set_exception(e)
                return
            if accepted:
                if not fut.done():
                    fut.set_result(None)
                return
        self.on_message(msg)

    async def _cured(self, e: BaseException) -> None:
        if self.cure is None or self._refused.is_set():
            return
        try:
            await self.cure(e)
        except (TickwireError, OSError) as failed:  # the next connect is tried all the same
            log.warning("%s %s: remedy for %s failed: %s", self.venue, self.name, e, failed)

    def _failed(self, e: BaseException) -> None:
        self.last_error = e
        if self.connects == 0 and refused_for_good(self.venue, e):
            self._refused.set()

    async def _run(self) -> None:
        while not self._closing:
            down = asyncio.Event()
            try:
                if self.before_connect is not None:
                    await self.before_connect()
                settle = await _slot(self.venue, self.url)
                try:
                    transport, _ = await open_ws(
                        self.url,
                        lambda down=down: _Listener(self._on_text, down),  # type: ignore[misc]
                        handshake_timeout=self.connect_timeout,
                        ping_idle=20.0,
                    )
                finally:
                    settle()
            except (TickwireError, OSError) as e:
                self._failed(e)
                log.warning("%s %s: connect failed: %s", self.venue, self.name, e)
                await asyncio.sleep(self.backoff.next_delay() or 0.05)
                continue
            if self._closing:
                # Closed while connecting, the cancel lost (3.11's ``wait_for`` returns what completed
                # as its task was cancelled; ``open_ws`` shields its own connect, a guard here for any
                # other): the connection is not kept.
                transport.disconnect()
                return
            self.transport = transport
            # Requests go to the socket as they are written, not at the end of the loop iteration
            # (uvloop's default under its high-water mark): see transport/http.py.
            transport.underlying_transport.set_write_buffer_limits(high=0)
            try:
                await self.on_connected()
            except (TickwireError, OSError, TimeoutError) as e:
                self._failed(e)
                log.warning("%s %s: set-up failed: %s", self.venue, self.name, e)
                transport.disconnect()
                await down.wait()
                self.transport = None
                await self._cured(e)
                await asyncio.sleep(self.backoff.next_delay() or 0.05)
                continue
            self.connected = True
            self.connects += 1
            self.backoff.reset()
            self._up.set()
            await down.wait()
            self.connected = False
            self.transport = None
            self.on_disconnected()
            if not self._closing:
                log.warning("%s %s lost; reconnecting", self.venue, self.name)
                await asyncio.sleep(self.backoff.next_delay() or 0.0)


class PrivateStream(KeptSocket):
    """Keeps the venue's private order stream subscribed; each event goes to ``apply``;
    ``on_resubscribed`` (the session's reconciliation) runs after every reconnect."""

    name = "private stream"

    def __init__(
        self,
        grammar: StreamGrammar,
        signer: Any,
        url: str,
        apply: Callable[[OrderEvent], object],
        on_resubscribed: Callable[[], Awaitable[None]],
        *,
        connect_timeout: float = 5.0,
    ) -> None:
        super().__init__(grammar.venue, url, connect_timeout=connect_timeout)
        self.grammar = grammar
        self.signer = signer
        self.apply = apply
        self.on_resubscribed = on_resubscribed
        self.events = 0
        self.malformed = 0  # messages not of the venue's form: refused, logged, reconciled after
        self._acked = asyncio.Event()
        self._reconciling: asyncio.Task[None] | None = None

    async def on_connected(self) -> None:
        self._acked.clear()
        await self.log_in(self.grammar, self.signer)
        self.send(self.grammar.stream_subscribe(self.signer))
        await asyncio.wait_for(self._acked.wait(), self.connect_timeout)
        if self.connects >= 1 and (self._reconciling is None or self._reconciling.done()):
            # Orders may have changed while the stream was away: ask the venue about each — in a task
            # of its own, so the stream is up (its events applied, a watchdog seeing it) while the
            # queries, which may take rounds of time-outs, run.
            self._reconciling = asyncio.get_running_loop().create_task(self._reconcile())

    async def _reconcile(self) -> None:
        try:
            await self.on_resubscribed()
        except (TickwireError, OSError) as e:
            log.warning("%s: reconciliation after reconnect failed: %s", self.venue, e)

    async def close(self) -> None:
        if self._reconciling is not None:
            self._reconciling.cancel()
            await asyncio.gather(self._reconciling, return_exceptions=True)
        await super().close()

    def on_message(self, msg: Any) -> None:
        pong = getattr(self.grammar, "pong", None)  # a venue that pings in JSON (HTX's /ws/v2)
        answer = pong(msg) if pong is not None else None
        if answer is not None:
            self.send(answer)
            return
        if self.grammar.stream_ack(msg):
            self._acked.set()
            return
        try:
            events = read_events(self.grammar.read_stream, msg)
        except DecodeError as e:
            # Kept inside the frame handler (raised out of it, picows would drop the connection);
            # what the message may have reported (a fill, an end) is asked of the venue instead.
            self.malformed += 1
            log.warning("%s %s: %s", self.venue, self.name, e)
            if self._reconciling is None or self._reconciling.done():
                self._reconciling = asyncio.get_running_loop().create_task(self._reconcile())
            return
        for ev in events:
            self.events += 1
            self.apply(ev)


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
        super().__init__(grammar.venue, url, connect_timeout=timeout)
        self.grammar = grammar
        self.signer = signer
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[Any]] = {}
        # When each awaited request was written (perf_counter): the usage its answer states is as of
        # then, and what was taken since is added to it (``RateBudget.observe``'s ``age``).
        self._written_at: dict[str, float] = {}
        self._rid = 0

    async def on_connected(self) -> None:
        await self.log_in(self.grammar, self.signer)

    def on_message(self, msg: Any) -> None:
        rid = self.grammar.ws_answer_id(msg)
        fut = self._pending.pop(rid, None) if rid is not None else None
        if fut is not None and not fut.done():
            fut.set_result(msg)

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
        return self.grammar.ws_request(call, self.signer, "probe") is not None

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

    def awaited_by(self, rid: str, fut: asyncio.Future[Any], task: asyncio.Task[Any]) -> None:
        """The answer ``fut`` to request ``rid`` is for ``task`` to read (an order template's send): a
        task cancelled before it awaited it — its coroutine never ran — no longer awaits it either."""
        task.add_done_callback(lambda t: self.forget(rid, fut) if t.cancelled() else None)

    def _time_out(self, fut: asyncio.Future[Any], rid: str) -> None:
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
        return self.grammar.read_ws_answer(answer)
