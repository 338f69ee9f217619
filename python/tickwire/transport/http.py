"""A lean HTTP/1.1 client on ``asyncio.Protocol`` for venue REST: pre-connected keep-alive connections
with TCP_NODELAY, one request in flight per connection, nothing else on the path.

Chosen over aiohttp by measurement (``benches/bench_http.py``, README "REST client and clock sync"):
a venue REST call is a small request and a small JSON answer, so per-request client overhead is most
of what the program can still save. It speaks exactly what venue APIs need: ``Content-Length`` and
``chunked`` responses, ``Connection: close``, https through an ``ssl.SSLContext``. No redirects, no
cookies, no compression (none is asked for, so venues answer uncompressed).
"""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from tickwire.errors import RequestTimeoutError, TransportError
from tickwire.loop import after_reads
from tickwire.transport.http_conn import Closed, Conn, HttpResponse, Written
from tickwire.transport.unsent import unsent

log = logging.getLogger("tickwire.http")

# Only these may be sent twice: a POST the server received before closing may have placed an order.
RETRY_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))

OnExchange = Callable[[str, str, int, float], None]


def _check_field(text: str) -> str:
    if "\r" in text or "\n" in text:
        raise ValueError("CR or LF in an HTTP request line or header field")
    return text


class HttpClient:
    """Keep-alive HTTP/1.1 connections to one origin.

    Up to ``pool_size`` idle connections are kept (most recently used first); a burst beyond that
    opens extra connections that are closed after their response. ``connect()`` tops the pool up
    and may be called again at any time (after the server closed idle connections, say). With a
    ``pool_size`` of two or more, a request that takes the last idle connection while fewer than
    ``pool_size`` are open has another opened in the background (``ready()``), so the next request
    finds one ready instead of paying a connect.
    ``on_exchange(method, path, status, elapsed_s)`` runs after each request, status 0 when no
    response came; it never sees headers or bodies.
    """

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        pool_size: int = 1,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
        on_exchange: OnExchange | None = None,
    ) -> None:
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        if pool_size < 1 or timeout <= 0:
            raise ValueError("pool_size must be >= 1 and timeout > 0")
        tls = u.scheme == "https"
        self.base_url = base_url.rstrip("/")
        self.host = u.hostname
        self.port = u.port or (443 if tls else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if tls else None
        self._prefix = u.path.rstrip("/")
        self._pool_size = pool_size
        self._timeout = timeout
        self._on_exchange = on_exchange
        host = u.netloc.rpartition("@")[2]
        fixed = [f"Host: {host}", "User-Agent: tickwire"]
        fixed += [f"{_check_field(k)}: {_check_field(v)}" for k, v in (headers or {}).items()]
        self._fixed = "\r\n".join(fixed) + "\r\n"
        self._idle: deque[Conn] = deque()
        self._conns: set[Conn] = set()
        self._busy: set[Conn] = set()
        # One timer for all requests in flight, at the earliest deadline: a timer per request
        # costs more than the rest of the client's work on the request (measured, uvloop).
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._closed = False
        self._warming: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HttpClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def idle_connections(self) -> int:
        return sum(1 for c in self._idle if c.usable())

    async def connect(self) -> None:
        """Open connections until ``pool_size`` are idle and ready (TCP, TLS handshake done)."""
        self._idle = deque(c for c in self._idle if c.usable())
        missing = self._pool_size - len(self._idle)
        if missing <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        opened = await asyncio.gather(
            *(self._open(loop, deadline) for _ in range(missing)), return_exceptions=True
        )
        self._idle.extend(c for c in opened if isinstance(c, Conn))
        for e in opened:
            if isinstance(e, BaseException):
                raise e

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._warming is not None:
            self._warming.cancel()
        self._idle.clear()
        for c in list(self._conns):
            c.close()
        await asyncio.sleep(0)  # let the transports run connection_lost

    async def get(self, path: str, **kw: Any) -> HttpResponse:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> HttpResponse:
        return await self.request("POST", path, **kw)

    async def delete(self, path: str, **kw: Any) -> HttpResponse:
        return await self.request("DELETE", path, **kw)

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: str | Mapping[str, Any] = "",
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        gate: Callable[[], None] | None = None,
    ) -> HttpResponse:
        """Send one request and read its response. ``query`` goes out exactly as given when it is a
        string (what the caller signed); a mapping is form-encoded in its order. ``gate`` runs right
        before the bytes are written, after any wait for a connection: what it raises, nothing is."""
        if self._closed:
            raise TransportError("HTTP client is closed")
        if not isinstance(query, str):
            query = urlencode(query)
        target = f"{self._prefix}{path}?{query}" if query else self._prefix + path
        parts = [f"{method} {_check_field(target)} HTTP/1.1\r\n", self._fixed]
        if headers:
            parts += [f"{_check_field(k)}: {_check_field(v)}\r\n" for k, v in headers.items()]
        if isinstance(body, str):
            body = body.encode()
        if body or method in BODY_METHODS:
            parts.append(f"Content-Length: {len(body)}\r\n")
        parts.append("\r\n")
        data = "".join(parts).encode()
        if body:
            data += body
        return await self.send_raw(method, path, data, timeout=timeout, gate=gate)

    def request_parts(
        self, method: str, path: str, headers: Mapping[str, str] | None = None
    ) -> tuple[bytes, bytes]:
        """The bytes :meth:`request` writes before a query string (request line up to ``?``) and after
        it (the rest of the request line, the headers, the blank line) for a bodiless request with a
        query: an order template's fixed frame (:mod:`tickwire.trading.template`)."""
        head = f"{method} {_check_field(self._prefix + path)}?"
        parts = [" HTTP/1.1\r\n", self._fixed]
        if headers:
            parts += [f"{_check_field(k)}: {_check_field(v)}\r\n" for k, v in headers.items()]
        if method in BODY_METHODS:
            parts.append("Content-Length: 0\r\n")
        parts.append("\r\n")
        return head.encode(), "".join(parts).encode()

    async def send_raw(
        self,
        method: str,
        path: str,
        data: bytes,
        *,
        timeout: float | None = None,
        sent: Callable[[], None] | None = None,
        gate: Callable[[], None] | None = None,
    ) -> HttpResponse:
        """Sends ``data``, a whole request already built (an order template's), on a kept-alive
        connection as :meth:`request` does, and reads its response; ``method`` and ``path`` name it
        for the retry rule and ``on_exchange``. ``sent`` runs once, right after the bytes were
        written and before anything else can run (an order template tracks its order there);
        ``gate`` as for :meth:`request`."""
        return await self.finish_raw(method, path, data, None, timeout=timeout, sent=sent, gate=gate)

    def idle(self) -> Conn | None:
        """An idle kept-alive connection taken out of the pool, to write on at once (``transport``),
        then :meth:`written` (or :meth:`keep`, nothing written); None when none is idle."""
        while self._idle and not self._closed:
            conn = self._idle.pop()
            if conn.usable():
                self.ready()
                return conn
        return None

    def keep(self, conn: Conn) -> None:
        """``conn`` from :meth:`idle` back in the pool, nothing written on it."""
        self._idle.append(conn)

    @staticmethod
    def written(conn: Conn) -> Written:
        """The handle :meth:`finish_raw` reads the response from, for a request just written on ``conn``
        (from :meth:`idle`)."""
        return Written(conn, conn.expect(False), time.perf_counter())

    def write_raw(self, data: bytes) -> Written | None:
        """Writes ``data``, a whole request already built, at once on an idle kept-alive connection
        and returns the handle :meth:`finish_raw` reads the response from; None, nothing written, when
        no connection is idle (then :meth:`send_raw` opens one)."""
        conn = self.idle()
        if conn is None:
            return None
        return Written(conn, conn.send(data, False), time.perf_counter())

    async def finish_raw(
        self,
        method: str,
        path: str,
        data: bytes,
        written: Written | None,
        *,
        timeout: float | None = None,
        sent: Callable[[], None] | None = None,
        gate: Callable[[], None] | None = None,
    ) -> HttpResponse:
        """The response to ``data``: already on the wire as ``written`` (from :meth:`write_raw`), or
        sent now (``written`` None; ``gate`` as for :meth:`request`). A kept-alive connection the
        server closed as the request went out is retried on a fresh one, as for every request."""
        if self._closed and written is None:
            raise TransportError("HTTP client is closed")
        seconds = self._timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        t0 = written.at if written is not None else time.perf_counter() if self._on_exchange else 0.0
        status = 0
        refused = False  # by the gate: nothing written, no exchange to report

        def gated() -> None:
            nonlocal refused
            assert gate is not None
            try:
                gate()
            except BaseException:
                refused = True
                raise

        try:
            resp = await self._exchange(
                loop, method, data, loop.time() + seconds, seconds, sent, written, gated if gate else None
            )
            status = resp.status
            return resp
        finally:
            if self._on_exchange is not None and not refused:
                try:
                    self._on_exchange(method, path, status, time.perf_counter() - t0)
                except Exception:
                    log.exception("on_exchange hook failed")

    async def _exchange(
        self,
        loop: asyncio.AbstractEventLoop,
        method: str,
        data: bytes,
        deadline: float,
        seconds: float,
        sent: Callable[[], None] | None = None,
        written: Written | None = None,
        gate: Callable[[], None] | None = None,
    ) -> HttpResponse:
        retried = False
        while True:
            if written is not None:  # the first attempt went out already (write_raw)
                conn, fut, written = written.conn, written.fut, None
                reused = conn.uses > 1
            else:
                idle = None
                while self._idle and not retried:
                    c = self._idle.pop()
                    if c.usable():
                        idle = c
                        break
                # None idle, or a retry: that one goes out on a fresh connection.
                if idle is not None:
                    conn = idle
                else:
                    try:
                        conn = await self._open(loop, deadline)
                    except (RequestTimeoutError, TransportError) as e:
                        if not retried:
                            # No connection to write on (refused, timed out, its TLS handshake
                            # failed): not one byte of the request went out — an order is withdrawn,
                            # not reconciled as one the venue may have.
                            unsent(e)
                        raise
                self.ready()
                reused = conn.uses > 0
                if gate is not None:
                    # The connect may have taken a while (a TLS handshake): what the caller must
                    # check right before a write (a kill switch thrown meanwhile) is checked now.
                    try:
                        gate()
                    except BaseException:
                        self._release(conn)
                        raise
                fut = conn.send(data, method == "HEAD")
            if sent is not None:
                sent()
                sent = None
            conn.deadline = deadline
            self._busy.add(conn)
            if deadline < self._timer_at:
                self._arm(loop, deadline)
            try:
                resp = await fut
            except Closed as e:
                # The server closed a kept-alive connection as our request went out (its idle
                # time-out): it saw nothing, so a fresh connection may safely try again.
                if reused and not (e.got_bytes or retried or self._closed) and method in RETRY_METHODS:
                    retried = True
                    log.debug("%s:%d closed an idle connection; resending %s", self.host, self.port, method)
                    continue
                raise TransportError(
                    f"{self.host}:{self.port} closed the connection before answering {method}"
                ) from None
            except RequestTimeoutError:
                raise RequestTimeoutError(
                    f"{method} to {self.host}:{self.port}: no complete response within {seconds:g} s"
                ) from None
            except BaseException:
                # Cancellation or a malformed answer: the connection's state is unknown.
                conn.abort()
                raise
            finally:
                self._busy.discard(conn)
            conn.fut = None
            self._release(conn)
            return resp

    def _release(self, conn: Conn) -> None:
        """``conn``, nothing in flight on it, kept for the next request or closed."""
        if conn.keep_alive and not self._closed and len(self._idle) < self._pool_size and conn.usable():
            self._idle.append(conn)
        else:
            conn.close()

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(at, self._expire, loop)
        self._timer_at = at

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._timer_at = None, math.inf
        # Judged once the sockets were read (``after_reads``): after a stall of the process an answer
        # may be waiting in its connection, and timed out there it was aborted unread — an order's
        # fate made unknown, its answer given up for a reconciliation.
        after_reads(self._expire_due, loop)

    def _expire_due(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        later = math.inf
        for conn in list(self._busy):
            if conn.fut is not None and conn.fut.done():
                # Answered in time, read with the sockets just now: its task (woken after this, on
                # uvloop) takes it off ``_busy`` and keeps the connection — not to be aborted.
                continue
            if conn.deadline <= now:
                conn.time_out()
            else:
                later = min(later, conn.deadline)
        if later < self._timer_at:  # (a request sent meanwhile may have armed it for its own)
            self._arm(loop, later)

    def ready(self) -> None:
        """Keeps a connection ready for the next request: when none is idle and fewer than
        ``pool_size`` (two or more) are open, one is opened in the background. Before 2026-12-07 the
        next request opened its own (a TCP and TLS handshake, milliseconds to a distant venue) while
        one was in flight — a second order of a tick, a cancel beside a loaded quote rule — and it
        was kept only once its answer came."""
        if self._closed or self._warming is not None or self._pool_size < 2:
            return
        if len(self._conns) >= self._pool_size or any(c.usable() for c in self._idle):
            return
        self._warming = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            conn = await self._open(loop, loop.time() + self._timeout)
        except (RequestTimeoutError, TransportError) as e:  # the next request connects itself (and says why)
            log.debug("keeping a connection ready to %s failed: %s", self.host, e)
            return
        finally:
            self._warming = None
        if self._closed or len(self._idle) >= self._pool_size:
            conn.close()
        else:
            self._idle.appendleft(conn)  # taken after the warmer ones (the pool is used from the right)

    async def _open(self, loop: asyncio.AbstractEventLoop, deadline: float) -> Conn:
        where = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout_at(deadline):
                sni = self.host if self._ssl else None
                _, conn = await loop.create_connection(
                    lambda: Conn(self._conns), self.host, self.port, ssl=self._ssl, server_hostname=sni
                )
        except TimeoutError:
            raise RequestTimeoutError(f"connecting to {where} timed out") from None
        except (OSError, ssl.SSLError) as e:
            raise TransportError(f"connecting to {where} failed: {e}") from e
        if self._closed:
            conn.close()
            raise TransportError("HTTP client is closed")
        return conn
