"""A venue server: one venue served on one WebSocket port and one REST port, with its own fault state.

Tests and the control endpoint call it the venue's endpoint (``Simulator.endpoint(venue, i)``); the
class is named apart from the library's ``tickwire.session.adapter.Endpoint``, the client side's
description of where to connect. A venue may have several servers (failover tests); they share the
venue's books, so a client that moves from one to another sees the same market, but each fails on its
own.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from picows import WSUpgradeRequest, WSUpgradeResponse, WSUpgradeResponseWithListener, ws_create_server

from tickwire.sim.http import HttpServer, Request, Response, json_response
from tickwire.sim.ws import Conn

if TYPE_CHECKING:
    from tickwire.sim.venues.base import Venue


class _PicowsServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """picows' server logger (``picows.server``, as before) without its record of the upgrade request
    it read (level 9, "New data: b'GET …'"): the request carries the client's credentials — a Binance
    user data stream's path is its listenKey, Cloud9Trader signs the upgrade in ``x-c9t-signature``,
    Clarofinlore sends ``Authorization: Bearer`` — which no log record may hold, whatever the level.
    An adapter, not a filter, as the client's (``transport.ws._PicowsLog``): picows logs each connection
    on a child of a ``Logger`` it is given, where a filter on the parent never runs."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if isinstance(msg, str) and msg.startswith("New data"):
            return
        super().log(level, msg, *args, **kwargs)


_PICOWS_SERVER_LOG = _PicowsServerLog(logging.getLogger("picows.server"), {})

# Fault names accepted by VenueServer.fault() and the control endpoint.
FAULTS = (
    "drop",
    "stall",
    "unstall",
    "gap",
    "corrupt_checksum",
    "malformed",
    "delay",
    "fail",
    "skew",
    "down",
    "up",
    "server_shutdown",
    "lose_answer",
    "bad_level",
)


class VenueServer:
    def __init__(self, venue: Venue, index: int, host: str = "127.0.0.1") -> None:
        self.venue = venue
        self.index = index
        self.host = host
        self.ws_port = 0
        self.ws_server: asyncio.Server | None = None
        self.http = HttpServer(self._on_http, host, tls=venue.config.tls)
        self.conns: dict[int, Conn] = {}
        self.topics: dict[str, set[Conn]] = {}
        # Fault state -----------------------------------------------------------------------------
        self.stalled_until = 0.0
        self.stalled = False
        self.stall_holds = False  # a stall holds what is sent meanwhile (True) or loses it
        self.book_faults: dict[str, list[str]] = {}  # symbol -> pending "gap" / "corrupt"
        self.delay_s = 0.0
        self.fail_left = 0
        self.fail_status = 503
        self.fail_body: dict[str, Any] = {"code": -1001, "msg": "injected failure"}
        self.fail_headers: list[tuple[str, str]] = []
        self.skew_ms = 0
        self.down_until = 0.0
        self.is_down = False
        self.refused = 0
        # lose_answer: operation ("POST /api/v3/order", "order.place") -> answers still to lose
        self.lose_left: dict[str, int] = {}
        # Operation -> what its next answer carries instead of the venue's (``garble_answer``).
        self.garbled: dict[str, bytes | Callable[[bytes], bytes]] = {}
        self.lost: list[str] = []  # the operations whose answer was lost, in order
        # hold_answer: REST operation -> what runs after the venue handled it, before its answer
        self.holds: dict[str, Callable[[], Awaitable[None]]] = {}
        # Every REST exchange as the venue saw it: (arrival, monotonic s; "METHOD /path"; status;
        # Retry-After seconds or None). What rate-limit tests measure clients by.
        self.exchanges: deque[tuple[float, str, int, float | None]] = deque(maxlen=100_000)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handling: dict[object, str] = {}  # requests arrived, not answered yet, oldest first

    # lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._listen_ws()
        await self.http.listen()

    async def _listen_ws(self) -> None:
        self.ws_server = await ws_create_server(
            self._on_upgrade,
            self.host,
            self.ws_port,
            enable_auto_pong=True,
            websocket_handshake_timeout=5,
            reuse_address=True,
            use_aiofastnet=False,
            ssl=self.venue.config.tls,
            logger_name=_PICOWS_SERVER_LOG,
        )
        self.ws_port = self.ws_server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self.ws_server is not None:
            self.ws_server.close()
            self.ws_server = None
        for c in list(self.conns.values()):
            c.abort()
        await self.http.close()

    @property
    def ws_base(self) -> str:
        scheme = "wss" if self.venue.config.tls is not None else "ws"
        return f"{scheme}://{self.host}:{self.ws_port}"

    @property
    def rest_base(self) -> str:
        return self.http.url

    def urls(self) -> dict[str, Any]:
        return {
            "ws": {k: self.ws_base + p for k, p in self.venue.ws_paths.items()},
            "rest": self.rest_base,
        }

    def now_ms(self) -> int:
        """The venue's clock: wall time plus any injected skew."""
        return int(time.time() * 1000) + self.skew_ms

    # connections -------------------------------------------------------------------------------

    def _on_upgrade(self, req: WSUpgradeRequest) -> Any:
        path, _, query = req.path.decode("latin-1").partition("?")
        headers = {k.lower(): v for k, v in req.headers.items()}
        conn = Conn(self, path, query, headers)
        refusal = self.venue.accept(conn)
        if refusal is not None:
            status, body = refusal
            return WSUpgradeResponseWithListener(
                WSUpgradeResponse.create_error_response(status, body, {"Content-Type": "application/json"}),
                None,
            )
        return conn

    def conn_opened(self, conn: Conn) -> None:
        self.conns[conn.id] = conn
        self.venue.on_open(conn)

    def conn_closed(self, conn: Conn) -> None:
        self.conns.pop(conn.id, None)
        for t in list(conn.topics):
            self.unsubscribe(conn, t)

    def subscribe(self, conn: Conn, topic: str) -> None:
        if topic in conn.topics:
            return
        conn.topics.add(topic)
        self.topics.setdefault(topic, set()).add(conn)
        live = self.venue.live
        live[topic] = live.get(topic, 0) + 1

    def unsubscribe(self, conn: Conn, topic: str) -> None:
        if topic not in conn.topics:
            return
        conn.topics.discard(topic)
        subs = self.topics.get(topic)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del self.topics[topic]
        live = self.venue.live
        live[topic] -= 1
        if live[topic] <= 0:
            del live[topic]

    def pending_faults(self) -> dict[str, list[str]]:
        """Book faults injected but not applied yet (symbol -> kinds, oldest first). Each waits for
        the symbol's next book message on this endpoint, so while nobody is subscribed they pile up."""
        return {sym: list(kinds) for sym, kinds in self.book_faults.items() if kinds}

    def take_book_fault(self, symbol: str) -> str | None:
        """The pending book fault for ``symbol`` (consumed), or None. Venues call it per book message."""
        pending = self.book_faults.get(symbol)
        if not pending:
            return None
        kind = pending.pop(0)
        if not pending:
            del self.book_faults[symbol]
        return kind

    # REST --------------------------------------------------------------------------------------

    def handling(self) -> list[str]:
        """The REST operations that arrived and are not answered yet (``"POST /api/v3/order"``), oldest
        first: a request being delayed or held is known to have reached the venue."""
        return list(self._handling.values())

    async def _on_http(self, req: Request) -> Response:
        arrived, op, key = time.monotonic(), f"{req.method} {req.path}", object()
        self._handling[key] = op
        try:
            resp = await self._answer(req)
        finally:
            del self._handling[key]
        retry = next((float(v) for k, v in resp.headers if k.lower() == "retry-after"), None)
        self.exchanges.append((arrived, op, resp.status, retry))
        return resp

    async def _answer(self, req: Request) -> Response:
        if self.fail_left > 0:
            self.fail_left -= 1
            if self.fail_status == 0:
                return Response(hold=-1)
            return json_response(self.fail_body, self.fail_status, headers=list(self.fail_headers))
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        resp = await self.venue.http(self, req)
        meanwhile = self.holds.pop(f"{req.method} {req.path}", None) if self.holds else None
        if meanwhile is not None:
            await meanwhile()
        if self.lose_left and self._take_lost(f"{req.method} {req.path}"):
            resp.lost = True
        if self.garbled and (garble := self.garbled.pop(f"{req.method} {req.path}", None)) is not None:
            resp.body = garble(resp.body) if callable(garble) else garble
        return resp

    # WebSocket ---------------------------------------------------------------------------------

    def on_ws_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        if self.garbled and (garble := self.garbled.pop(self.venue.ws_operation(data) or "", None)):
            # Every text the venue sends on this socket while handling it, garbled (its answer).
            said: list[bytes] = []
            conn.send_text = said.append  # type: ignore[method-assign, assignment]
            try:
                self.venue.on_message(conn, data, binary)
            finally:
                del conn.send_text
            for text in said:
                conn.send_text(garble(text) if callable(garble) else garble)
            return
        if not self.lose_left or not self._take_lost(self.venue.ws_operation(data)):
            self.venue.on_message(conn, data, binary)
            return
        conn.flush()  # what was sent before the request still arrives
        self.venue.on_message(conn, data, binary)
        conn.out.clear()  # the answer (and anything else sent on this socket meanwhile) is lost
        conn.abort()

    def _take_lost(self, operation: str | None) -> bool:
        key = operation or ""
        if key not in self.lose_left:
            key = next((k for k in self.lose_left if k.endswith("*") and key.startswith(k[:-1])), key)
        left = self.lose_left.get(key, 0)
        if left <= 0:
            return False
        assert operation is not None
        if left == 1:
            del self.lose_left[key]
        else:
            self.lose_left[key] = left - 1
        self.lost.append(operation)
        return True

    # periodic ----------------------------------------------------------------------------------

    def housekeeping(self, now: float) -> None:
        if self.stalled and now >= self.stalled_until:
            self.unstall()
        if self.is_down and now >= self.down_until:
            self._spawn(self.up())

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    # faults ------------------------------------------------------------------------------------

    def drop(self, conn_id: int | None = None, graceful: bool = False) -> int:
        """Drop one connection (by id) or all of them; WebSocket and REST alike. Returns how many."""
        victims = [c for c in self.conns.values() if conn_id is None or c.id == conn_id]
        for c in victims:
            if graceful:
                c.close()
            else:
                c.abort()
        if conn_id is None:
            self.http.drop_all()
        return len(victims)

    def stall(self, seconds: float | None = None, hold: bool = False) -> None:
        """Keep sockets open but send nothing (data, pings, heartbeats) for ``seconds`` or until unstall.
        What the venue sends meanwhile is lost — a feed's gap on a connection that stays up — unless
        ``hold``: then it is held and written, in order, when the stall ends (a congested path: TCP
        delivers late, never loses, what an open connection carries)."""
        self.stalled = True
        self.stall_holds = hold
        self.stalled_until = math.inf if seconds is None else time.monotonic() + seconds

    def unstall(self) -> None:
        self.stalled = False
        if self.stall_holds:
            self.stall_holds = False
            for c in list(self.conns.values()):
                c.flush()

    def gap(self, symbol: str) -> None:
        """Skip the next book message for ``symbol``: clients see a sequence gap."""
        self.book_faults.setdefault(symbol, []).append("gap")

    def corrupt_checksum(self, symbol: str) -> None:
        """Send the next book message for ``symbol`` with a wrong checksum (venues that have one)."""
        if not self.venue.has_checksum:
            raise ValueError(f"{self.venue.name} has no book checksum")
        self.book_faults.setdefault(symbol, []).append("corrupt")

    def bad_level(self, symbol: str) -> None:
        """Send the next book message for ``symbol`` with its first level's quantity negative: the
        update happened here (this venue's book has it), but the frame carrying it is one a client's
        book refuses whole."""
        if not self.venue.can_refuse:
            raise ValueError(f"{self.venue.name} cannot send a refused book message")
        self.book_faults.setdefault(symbol, []).append("bad_level")

    def malformed(self) -> int:
        """Send one malformed frame to every WebSocket client. Returns how many got it."""
        n = 0
        for c in list(self.conns.values()):
            self.venue.send_malformed(c)
            n += 1
        return n

    def delay(self, seconds: float) -> None:
        """Delay every REST response by ``seconds`` (0 to stop)."""
        self.delay_s = seconds

    def fail(
        self,
        n: int,
        status: int = 503,
        timeout: bool = False,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Fail the next ``n`` REST requests with ``status``, or never answer them if ``timeout``. The
        answer's ``body`` (default ``{"code": -1001, "msg": "injected failure"}``) and ``Retry-After``
        may be the venue's own, e.g. a Binance 429 — which always names its ``Retry-After`` (venues.md
        §1.2) — so a client reads the refusal as it would the venue's."""
        self.fail_left = n
        self.fail_status = 0 if timeout else status
        self.fail_body = body if body is not None else {"code": -1001, "msg": "injected failure"}
        self.fail_headers = [] if retry_after is None else [("Retry-After", f"{retry_after:g}")]

    def lose_answer(self, operation: str, times: int = 1) -> None:
        """Process the next ``times`` requests of ``operation`` but lose their answers: the venue acts
        on them (an order is placed, a cancel done) and the client never hears. A REST operation is
        ``"METHOD /path"`` (``"POST /api/v3/order"``; ending in ``*``, every path it begins, as
        ``"DELETE /v1/orders/*"`` for a path that names the order): the connection is closed before
        the response is written. A WebSocket operation is the request's ``method`` or ``op``
        (``"order.place"``, OKX ``"order"``, Bybit ``"order.create"``, Kraken ``"add_order"``): the
        socket is cut after the request was handled, without its answer; private streams on other
        sockets still report it.
        ``times=0`` cancels the fault. Unlike ``fail(timeout=True)``, the request reaches the venue."""
        if times > 0:
            self.lose_left[operation] = times
        else:
            self.lose_left.pop(operation, None)

    def garble_answer(self, operation: str, body: bytes | Callable[[bytes], bytes]) -> None:
        """Process the next ``operation`` — REST ``"POST /api/v3/order"``, or a WebSocket request's
        ``method``/``op`` as for ``lose_answer`` — but answer it with ``body`` (or ``body(answer)``),
        the status as the venue's: a proxy's or a cut body that is still JSON (``null``, ``5``), an
        answer of a shape no venue writes."""
        self.garbled[operation] = body

    def hold_answer(self, operation: str, meanwhile: Callable[[], Awaitable[None]]) -> None:
        """Hold the answer to the next REST ``operation`` (``"GET /api/v3/openOrders"``), once the
        venue has handled it, until ``meanwhile()`` returns: what happens at the venue while an answer
        is on its way, which the answer does not tell. In-process only (a coroutine function)."""
        self.holds[operation] = meanwhile

    def skew(self, ms: int) -> None:
        """Shift the venue's clock (timestamps it sends, time endpoints, signature windows)."""
        self.skew_ms = ms

    async def down(self, seconds: float | None = None) -> None:
        """Drop every connection and refuse new ones (TCP RST) for ``seconds`` or until ``up()``."""
        self.is_down = True
        self.down_until = math.inf if seconds is None else time.monotonic() + seconds
        if self.ws_server is not None:
            self.ws_server.close()
            self.ws_server = None
        self.http.stop_listening()
        self.drop()

    async def up(self) -> None:
        if not self.is_down:
            return
        self.is_down = False
        await self._listen_ws()
        await self.http.listen()

    def server_shutdown(self) -> int:
        """Announce a server shutdown the venue's way (Binance ``serverShutdown``)."""
        n = 0
        for c in list(self.conns.values()):
            self.venue.send_server_shutdown(c)
            n += 1
        return n

    async def fault(self, name: str, **kwargs: Any) -> Any:
        """Apply a fault by name (what the control endpoint calls)."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; one of {', '.join(FAULTS)}")
        result = getattr(self, name)(**kwargs)
        if asyncio.iscoroutine(result):
            result = await result
        return result
