"""A socket a trading session keeps connected (``KeptSocket``): connected and logged in again after
every loss, with back-off and the venue's connection-rate slot, until the session closes it. The
private stream (``stream.py``) and the order socket (``order_socket.py``) are the two kinds."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport

from tickwire.errors import RateLimitError, TickwireError, TransportError
from tickwire.recovery.backoff import Backoff, connect_slot, settled
from tickwire.trading.remedy import refused_for_good
from tickwire.trading.venue import Call
from tickwire.transport.ws import open_ws

log = logging.getLogger("tickwire.trading")


# How long a close waits for the socket's loop to end before cancelling it again.
CLOSE_POLL_S = 0.1


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


# How long before the end of a venue's connection lifetime (``socket_lifetime_s``) a socket renews
# its connection (a tenth of the lifetime where that is shorter).
LIFETIME_MARGIN_S = 300.0

# How long a socket may be idle before it pings (the venue's application ping where its grammar has
# one, else a WebSocket ping frame): under OKX's 30 s ("N < 30") and Bybit's recommended 20 s.
PING_IDLE_S = 20.0


class Keepalive(NamedTuple):
    """A venue's application-level heartbeat on its trading sockets, where pings and data alone do
    not keep a connection (OKX cuts one that pushed nothing for 30 s and expects the text ``ping``;
    Bybit cuts private and trade connections after 10 minutes without its ``{"op":"ping"}``): what a
    socket idle for ``idle_s`` sends, and how its pong is told (it is not a message for the
    grammar). A grammar declares one with ``socket_ping()``, ``is_socket_pong(payload)`` and
    optionally ``socket_ping_s`` and ``socket_ping_periodic``: True where the venue counts what the
    client sends (Bybit: a busy private stream hears pushes all the time and would never be idle, so
    an idle-only ping never went out and the venue cut it every 10 minutes) — sent every ``idle_s``."""

    ping: bytes
    is_pong: Callable[[bytes], bool]
    idle_s: float
    periodic: bool = False


def keepalive_of(grammar: Any) -> Keepalive | None:
    ping = getattr(grammar, "socket_ping", None)
    if ping is None:
        return None
    idle = float(getattr(grammar, "socket_ping_s", PING_IDLE_S))
    return Keepalive(
        ping(), grammar.is_socket_pong, idle, bool(getattr(grammar, "socket_ping_periodic", False))
    )


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
    def __init__(
        self,
        on_text: Callable[[bytes], None],
        down: asyncio.Event,
        keepalive: Keepalive | None,
        binary_text: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.on_text = on_text
        self.down = down
        self.keepalive = keepalive
        # The grammar's ``binary_frame_text``: a binary frame's JSON text (HTX's /ws/v2 may send
        # gzip-compressed binary frames as well as text ones), else binary frames are not the venue's.
        self.binary_text = binary_text

    def send_user_specific_ping(self, transport: WSTransport) -> None:
        # picows' idle ping: the venue's own where it has one, a ping frame otherwise.
        if self.keepalive is None:
            transport.send_ping()
        else:
            transport.send(WSMsgType.TEXT, self.keepalive.ping)

    def is_user_specific_pong(self, frame: WSFrame) -> bool:
        # An application pong is a text frame, told in ``on_ws_frame`` (which notifies picows).
        return self.keepalive is None and frame.msg_type is WSMsgType.PONG

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            payload = frame.get_payload_as_bytes()
            k = self.keepalive
            if k is not None and k.is_pong(payload):
                transport.notify_user_specific_pong_received()
                return
            self.on_text(payload)
        elif frame.msg_type is WSMsgType.BINARY and self.binary_text is not None:
            try:
                text = self.binary_text(frame.get_payload_as_bytes())
            except (OSError, EOFError, ValueError, zlib.error) as e:
                log.warning("undecodable binary frame: %s", e)
                return
            k = self.keepalive
            if k is not None and k.is_pong(text):
                transport.notify_user_specific_pong_received()
                return
            self.on_text(text)
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

    def __init__(self, venue: str, url: str, *, connect_timeout: float = 5.0, grammar: Any = None) -> None:
        self.venue = venue
        self.url = url
        self.connect_timeout = connect_timeout
        self.backoff = Backoff(base=0.05, cap=5.0)
        self.connected = False
        self.connects = 0
        # The venue's application heartbeat (its grammar's), else ping frames.
        self.keepalive = keepalive_of(grammar)
        # The grammar's ``closing_notice(msg)``: the venue's word that it will close this connection
        # soon (Binance's ``serverShutdown``) — see ``venue_closing``.
        self._notice: Callable[[Any], bool] | None = getattr(grammar, "closing_notice", None)
        # The grammar's ``session_revoked(msg)``: the venue's word that it revoked the connection's
        # log-in (Binance's id-less 401 -2015, the key become invalid) — see ``session_revoked``.
        self._revoked: Callable[[Any], TickwireError | None] | None = getattr(
            grammar, "session_revoked", None
        )
        # The venue's revocation, while no log-in has succeeded since (None: not revoked): what is
        # refused for the socket meanwhile is refused naming it (``revocation``); ``health()`` shows it.
        self.revoked: TickwireError | None = None
        # How long the venue keeps a connection (Binance: 24 h) before it cuts it: renewed first.
        self._lifetime: float | None = getattr(grammar, "socket_lifetime_s", None)
        # The grammar's ``binary_frame_text(payload) -> bytes``: how a binary frame of the venue reads
        # as JSON text (HTX /ws/v2: gzip); without one, binary frames are dropped.
        self._binary_text: Callable[[bytes], bytes] | None = getattr(grammar, "binary_frame_text", None)
        # The picows transport while connected, else None (order templates write on it directly).
        self.transport: WSTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        # Set when a connect or set-up before the first success was the venue refusing the
        # credentials themselves (``refused_for_good``): ``start`` raises it at once.
        self._refused = asyncio.Event()
        self._closing = False
        self._login: tuple[LoginGrammar, asyncio.Future[None]] | None = None
        # When the log-in awaited was written (perf_counter): its answer's usage is as of then, and
        # what was taken since (other requests on their way) must be added to it — taken as the
        # count now, it let a burst sent meanwhile go over the venue's limit.
        self._login_written: float | None = None
        self.last_error: BaseException | None = None  # why the last connect or set-up failed
        # Signed REST for a grammar's ``login_call`` (Kraken's WebSocket token); set by the session.
        self.rest: Callable[[Call], Awaitable[Any]] | None = None
        # The grammar whose REST step ran for the last log-in: told when a set-up failed after it,
        # so that the next connect fetches afresh what the venue may have stopped taking.
        self._rest_login: Any = None
        # Set by the session: waits for the rate budget's room for a connect (Binance's WS API
        # charges 2 weight each), and reads the usage a log-in answer states (its ``rateLimits``),
        # with the seconds since the log-in was written (``RateBudget.observe``'s ``age``).
        self.before_connect: Callable[[], Awaitable[None]] | None = None
        self.observe: Callable[[Any, float | None], object] | None = None
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
        """Runs ``grammar``'s REST step first where it has one and it asks for one
        (``login_call``/``read_login_call``: Kraken's token, fetched again once it is too old for a
        new connection, for a new key, or after the venue refused it), then sends its log-in request
        (if it has one) and waits for its acceptance."""
        pre = getattr(grammar, "login_call", None)
        if pre is not None:
            self._rest_login = grammar
            call = pre(signer)  # None: what the grammar fetched last still serves a new connection
            if call is not None:
                if self.rest is None:
                    raise TransportError(f"{self.venue} {self.name}: needs a REST call to log in")
                grammar.read_login_call(await self.rest(call), signer)  # type: ignore[attr-defined]
        data = grammar.login(signer)
        if data is None:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._login = (grammar, fut)
        try:
            self._login_written = time.perf_counter()
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

    def _renew(self, transport: WSTransport) -> None:
        if self.transport is transport and not self._closing:
            log.info("%s %s: renewed before the venue's connection lifetime ends", self.venue, self.name)
            self.venue_closing()

    def venue_closing(self) -> None:
        """The venue said it will close this connection ("On receipt, reconnect"): cut now and
        connected anew, not left to be cut by the venue at a moment of its choosing."""
        log.info("%s %s: the venue is closing the connection; reconnecting", self.venue, self.name)
        self.connected = False
        self.drop()

    def session_revoked(self, e: TickwireError) -> None:
        """The venue revoked this connection's log-in (``e``, its ``AuthError``): the socket is down
        from this step on — nothing more is written on a connection the venue no longer takes
        requests on (``transport="auto"`` sends them over REST; ``"ws"`` refuses them at once naming
        the revocation) — and cut; the loop connects and logs in anew with back-off, which the venue
        refuses while the key stays invalid and takes once it is valid again (or rotated)."""
        log.error("%s %s: %s", self.venue, self.name, e)
        self.revoked = e
        self.last_error = e
        self.connected = False
        self.on_revoked(e)
        self.drop()

    def on_revoked(self, e: TickwireError) -> None:
        pass

    def revocation(self) -> TickwireError | None:
        """A fresh copy of the venue's revocation while it stands (None: not revoked)."""
        e = self.revoked
        if e is None:
            return None
        fresh = type(e)(*e.args)
        fresh.__dict__.update(e.__dict__)
        return fresh

    def _on_text(self, payload: bytes) -> None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("%s %s: undecodable frame", self.venue, self.name)
            return
        notice = self._notice
        if notice is not None and notice(msg):
            self.venue_closing()
            return
        revoked = self._revoked(msg) if self._revoked is not None else None
        if revoked is not None:
            self.session_revoked(revoked)
            return
        if self._login is not None:
            grammar, fut = self._login
            if self.observe is not None:
                at = self._login_written
                self.observe(msg, None if at is None else time.perf_counter() - at)
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
                    k = self.keepalive
                    transport, _ = await open_ws(
                        self.url,
                        # A partial, not a lambda with defaults: picows hands a factory that takes
                        # two parameters the upgrade's request and response.
                        functools.partial(_Listener, self._on_text, down, k, self._binary_text),
                        handshake_timeout=self.connect_timeout,
                        ping_idle=PING_IDLE_S if k is None else k.idle_s,
                        ping_periodic=k is not None and k.periodic,
                    )
                finally:
                    settle()
            except (TickwireError, OSError) as e:
                self._failed(e)
                log.warning("%s %s: connect failed: %s", self.venue, self.name, _why(e))
                if isinstance(e, RateLimitError):
                    # The upgrade refused for rate: the address's budget blocked for it (the next
                    # connect, and every request there, waits it out) — retried after the back-off
                    # alone, the reconnects went on inside the venue's window and it banned the address.
                    await self._cured(e)
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
                log.warning("%s %s: set-up failed: %s", self.venue, self.name, _why(e))
                if self._rest_login is not None:
                    self._rest_login.forget_login()
                transport.disconnect()
                await down.wait()
                self.transport = None
                await self._cured(e)
                await asyncio.sleep(self.backoff.next_delay() or 0.05)
                continue
            self.connected = True
            self.revoked = None  # logged in again: whatever was revoked is valid now
            self.connects += 1
            self.backoff.reset()
            self._up.set()
            renew = None
            if self._lifetime is not None:
                # Renewed before the venue's own cut ends the connection's lifetime, as on its notice.
                at = self._lifetime - min(LIFETIME_MARGIN_S, self._lifetime / 10)
                renew = asyncio.get_running_loop().call_later(at, self._renew, transport)
            try:
                await down.wait()
            finally:
                if renew is not None:
                    renew.cancel()
            self.connected = False
            self.transport = None
            self.on_disconnected()
            if not self._closing:
                log.warning("%s %s lost; reconnecting", self.venue, self.name)
                await asyncio.sleep(self.backoff.next_delay() or 0.0)


def _why(e: BaseException) -> str:
    """What a failure says, for a log line: a bare ``TimeoutError`` (a set-up's wait for the venue's
    answer) says nothing of itself, so its type names it."""
    return str(e) or type(e).__name__
