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
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import orjson

from tickwire.errors import AuthError, RateLimitError, RequestTimeoutError, TransportError, VenueError

log = logging.getLogger("tickwire.http")

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
# Only these may be sent twice: a POST the server received before closing may have placed an order.
RETRY_METHODS = frozenset(("GET", "HEAD", "DELETE", "OPTIONS"))
BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
EXCERPT = 200

OnExchange = Callable[[str, str, int, float], None]


class Written:
    """A request :meth:`HttpClient.write_raw` put on the wire, its response still to read."""

    __slots__ = ("at", "conn", "fut")

    def __init__(self, conn: _Conn, fut: asyncio.Future[HttpResponse], at: float) -> None:
        self.conn, self.fut, self.at = conn, fut, at


class HttpResponse:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers  # lower-case names; repeated fields joined with ", "
        self.body = body

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} {len(self.body)} bytes>"

    def json(self) -> Any:
        return orjson.loads(self.body)

    def raise_for_status(self, venue: str = "") -> HttpResponse:
        status = self.status
        if status < 400:
            return self
        code: Any = None
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            for key in ("code", "retCode", "err-code"):
                if key in data:
                    code = data[key]
                    break
        # The body only: request headers carry keys and signatures and never reach a message.
        excerpt = " ".join(self.body[:EXCERPT].decode("utf-8", "replace").split())
        if len(self.body) > EXCERPT:
            excerpt += "…"
        cls = RateLimitError if status in (429, 418) else AuthError if status in (401, 403) else VenueError
        err = cls(f"{venue or 'venue'} answered HTTP {status}: {excerpt}")
        # The classes come from the Rust core without declared attributes: set them on the instance.
        retry_after = retry_after_s(self.headers.get("retry-after"))
        err.__dict__.update(status=status, venue=venue, code=code, retry_after=retry_after)
        raise err


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` field (delta-seconds or an HTTP date), None if absent."""
    if not value:
        return None
    try:
        s = float(value)
        return max(0.0, s) if math.isfinite(s) else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class _Closed(Exception):
    """The connection ended before the response was complete."""

    def __init__(self, got_bytes: bool) -> None:
        super().__init__("connection closed")
        self.got_bytes = got_bytes


class _Conn(asyncio.Protocol):
    """One connection: parses one response at a time into ``fut``."""

    def __init__(self, live: set[_Conn]) -> None:
        self.live = live  # the client's open connections, for close()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.fut: asyncio.Future[HttpResponse] | None = None
        self.closed = False
        self.deadline = 0.0  # loop time by which the response in flight must be complete
        self.uses = 0
        self.head_only = self.got_bytes = False
        self.status = self.mode = self.remaining = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()  # chunked bodies are assembled here
        self.keep_alive = True

    # asyncio callbacks ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they implement its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.live.add(self)
        # uvloop keeps a write under its high-water mark for the end of the loop iteration, so a
        # request written from a callback would wait for all the callback does after it; at 0 every
        # write goes to the socket at once (what is left over, if the kernel takes less, is buffered).
        self.transport.set_write_buffer_limits(high=0)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # asyncio sets it already; uvloop and TLS transports are not guaranteed to.
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, AttributeError):
                pass

    def data_received(self, data: bytes) -> None:
        fut = self.fut
        if fut is None or fut.done():
            # Bytes nobody asked for: this connection can no longer be trusted to frame responses.
            self.abort()
            return
        self.got_bytes = True
        self.buf += data
        try:
            resp = self._parse()
        except (ValueError, IndexError) as e:
            self.abort()
            fut.set_exception(TransportError(f"malformed HTTP response: {e}"))
            return
        if resp is not None:
            fut.set_result(resp)

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost settles any pending response

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.live.discard(self)
        fut = self.fut
        if fut is None or fut.done():
            return
        if self.mode == 3 and exc is None:  # the close ends the body; a reset may have cut it
            self.keep_alive = False
            fut.set_result(HttpResponse(self.status, self.headers, bytes(self.buf)))
        else:
            fut.set_exception(_Closed(self.got_bytes))

    # used by the client --------------------------------------------------------------------------

    def send(self, data: bytes, head_only: bool) -> asyncio.Future[HttpResponse]:
        assert self.transport is not None
        # Written first: nothing below can run before the loop polls again, so the answer cannot
        # arrive before this connection is ready to parse it.
        self.transport.write(data)
        return self.expect(head_only)

    def expect(self, head_only: bool) -> asyncio.Future[HttpResponse]:
        """Ready for the response to a request just written (an order template writes its own)."""
        self.head_only = head_only
        self.got_bytes = False
        self.status = 0  # 0: waiting for the status line and header fields
        self.mode = 0  # 1 content-length, 2 chunked, 3 until the server closes
        self.remaining = 0
        self.body.clear()
        self.buf.clear()
        self.uses += 1
        fut = self.fut = asyncio.get_running_loop().create_future()
        return fut

    def time_out(self) -> None:
        fut = self.fut
        self.abort()
        if fut is not None and not fut.done():
            fut.set_exception(RequestTimeoutError("no complete HTTP response in time"))

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def close(self, abort: bool = False) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort() if abort else self.transport.close()

    def abort(self) -> None:
        self.close(True)

    # parsing -------------------------------------------------------------------------------------

    def _parse(self) -> HttpResponse | None:
        buf = self.buf
        while self.status == 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise ValueError("response head too large")
                return None
            self._parse_head(buf[:end].decode("latin-1"))
            del buf[: end + 4]
        if self.mode == 1:
            if len(buf) < self.remaining:
                return None
            body = bytes(buf[: self.remaining])
            del buf[: self.remaining]
        elif self.mode == 2:
            if not self._parse_chunks():
                return None
            body = bytes(self.body)
        elif self.mode == 3:
            if len(buf) > MAX_BODY:
                raise ValueError("response body too large")
            return None
        else:
            body = b""
        if buf:
            # More than one response's worth: framing is off, so never reuse the connection.
            self.keep_alive = False
            buf.clear()
        return HttpResponse(self.status, self.headers, body)

    def _parse_head(self, head: str) -> None:
        lines = head.split("\r\n")
        version, status_text = lines[0].split(" ", 2)[:2]
        if not version.startswith("HTTP/1.") or len(status_text) != 3:
            raise ValueError(f"bad status line {lines[0][:60]!r}")
        status = int(status_text)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError("bad header line")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if 100 <= status < 200:
            return  # an interim answer (100 Continue): the real one follows
        self.status = status
        self.headers = headers
        conn = headers.get("connection", "").lower()
        self.keep_alive = "close" not in conn if version == "HTTP/1.1" else "keep-alive" in conn
        te = headers.get("transfer-encoding", "").lower()
        if self.head_only or status in (204, 304):
            self.mode = 0
        elif te:
            if not te.endswith("chunked"):
                raise ValueError(f"unsupported transfer-encoding {te!r}")
            self.mode = 2
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if not 0 <= n <= MAX_BODY:
                raise ValueError("bad content-length")
            self.mode, self.remaining = 1, n
        else:
            self.mode, self.keep_alive = 3, False

    def _parse_chunks(self) -> bool:
        buf = self.buf
        while True:
            if self.remaining < 0:  # last chunk seen: skip trailer fields up to the empty line
                if buf.startswith(b"\r\n"):
                    del buf[:2]
                    return True
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return False
                del buf[: end + 4]
                return True
            eol = buf.find(b"\r\n")
            if eol < 0:
                if len(buf) > 1024:
                    raise ValueError("bad chunk size line")
                return False
            size = int(bytes(buf[:eol]).split(b";", 1)[0].strip(), 16)
            if size == 0:
                del buf[: eol + 2]
                self.remaining = -1
                continue
            if size < 0 or len(self.body) + size > MAX_BODY:
                raise ValueError("bad chunk size")
            start = eol + 2
            if len(buf) < start + size + 2:
                return False
            if buf[start + size : start + size + 2] != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
            self.body += buf[start : start + size]
            del buf[: start + size + 2]


def _check_field(text: str) -> str:
    if "\r" in text or "\n" in text:
        raise ValueError("CR or LF in an HTTP request line or header field")
    return text


class HttpClient:
    """Keep-alive HTTP/1.1 connections to one origin.

    Up to ``pool_size`` idle connections are kept (most recently used first); a burst beyond that
    opens extra connections that are closed after their response. ``connect()`` tops the pool up
    and may be called again at any time (after the server closed idle connections, say).
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
        self._idle: deque[_Conn] = deque()
        self._conns: set[_Conn] = set()
        self._busy: set[_Conn] = set()
        # One timer for all requests in flight, at the earliest deadline: a timer per request
        # costs more than the rest of the client's work on the request (measured, uvloop).
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._closed = False

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
        self._idle.extend(c for c in opened if isinstance(c, _Conn))
        for e in opened:
            if isinstance(e, BaseException):
                raise e

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
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
    ) -> HttpResponse:
        """Send one request and read its response. ``query`` goes out exactly as given when it is a
        string (what the caller signed); a mapping is form-encoded in its order."""
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
        return await self.send_raw(method, path, data, timeout=timeout)

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
    ) -> HttpResponse:
        """Sends ``data``, a whole request already built (an order template's), on a kept-alive
        connection as :meth:`request` does, and reads its response; ``method`` and ``path`` name it
        for the retry rule and ``on_exchange``. ``sent`` runs once, right after the bytes were
        written and before anything else can run (an order template tracks its order there)."""
        return await self.finish_raw(method, path, data, None, timeout=timeout, sent=sent)

    def idle(self) -> _Conn | None:
        """An idle kept-alive connection taken out of the pool, to write on at once (``transport``),
        then :meth:`written` (or :meth:`keep`, nothing written); None when none is idle."""
        while self._idle and not self._closed:
            conn = self._idle.pop()
            if conn.usable():
                return conn
        return None

    def keep(self, conn: _Conn) -> None:
        """``conn`` from :meth:`idle` back in the pool, nothing written on it."""
        self._idle.append(conn)

    @staticmethod
    def written(conn: _Conn) -> Written:
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
    ) -> HttpResponse:
        """The response to ``data``: already on the wire as ``written`` (from :meth:`write_raw`), or
        sent now (``written`` None). A kept-alive connection the server closed as the request went
        out is retried on a fresh one, as for every request."""
        if self._closed and written is None:
            raise TransportError("HTTP client is closed")
        seconds = self._timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        t0 = written.at if written is not None else time.perf_counter() if self._on_exchange else 0.0
        status = 0
        try:
            resp = await self._exchange(loop, method, data, loop.time() + seconds, seconds, sent, written)
            status = resp.status
            return resp
        finally:
            if self._on_exchange is not None:
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
                conn = idle if idle is not None else await self._open(loop, deadline)
                reused = conn.uses > 0
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
            except _Closed as e:
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
            if conn.keep_alive and not self._closed and len(self._idle) < self._pool_size and conn.usable():
                self._idle.append(conn)
            else:
                conn.close()
            return resp

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(at, self._expire, loop)
        self._timer_at = at

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._timer_at = None, math.inf
        now = loop.time()
        later = math.inf
        for conn in list(self._busy):
            if conn.deadline <= now:
                conn.time_out()
            else:
                later = min(later, conn.deadline)
        if later < math.inf:
            self._arm(loop, later)

    async def _open(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Conn:
        where = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout_at(deadline):
                sni = self.host if self._ssl else None
                _, conn = await loop.create_connection(
                    lambda: _Conn(self._conns), self.host, self.port, ssl=self._ssl, server_hostname=sni
                )
        except TimeoutError:
            raise RequestTimeoutError(f"connecting to {where} timed out") from None
        except (OSError, ssl.SSLError) as e:
            raise TransportError(f"connecting to {where} failed: {e}") from e
        if self._closed:
            conn.close()
            raise TransportError("HTTP client is closed")
        return conn
