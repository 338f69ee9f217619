"""One kept-alive HTTP/1.1 connection of :class:`~tickwire.transport.http.HttpClient`: an
``asyncio.Protocol`` that writes a request and parses its response (``Content-Length``, ``chunked``,
until close) into a future, one request in flight; and the response it hands back."""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, cast

import orjson

from tickwire._core import http_head
from tickwire.audit import excerpt as shown_body
from tickwire.errors import AuthError, RateLimitError, RequestTimeoutError, TransportError, VenueError

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
EXCERPT = 200


def write_failed(e: BaseException) -> TransportError:
    """A transport's write raised: part or all of the request may have gone out, so whoever sent it
    must find out what the venue made of it (an order is reconciled), never send it again blindly."""
    return TransportError(f"the write raised ({e!r}): the request may have gone out")


class Written:
    """A request :meth:`HttpClient.write_raw` put on the wire, its response still to read."""

    __slots__ = ("at", "conn", "fut")

    def __init__(self, conn: Conn, fut: asyncio.Future[HttpResponse], at: float) -> None:
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
        # The body only (request headers carry keys and signatures and never reach a message), masked
        # as the audit file is: a proxy's or WAF's error page may echo a token or an Authorization.
        excerpt = " ".join(shown_body(self.body, EXCERPT).split())
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


class Closed(Exception):
    """The connection ended before the response was complete."""

    def __init__(self, got_bytes: bool) -> None:
        super().__init__("connection closed")
        self.got_bytes = got_bytes


class Conn(asyncio.Protocol):
    """One connection: parses one response at a time into ``fut``."""

    def __init__(self, live: set[Conn]) -> None:
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
        # Called once when the connection ends (a quote rule holding it loads another).
        self.on_lost: Callable[[], None] | None = None

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
        hook, self.on_lost = self.on_lost, None
        if hook is not None:
            hook()
        fut = self.fut
        if fut is None or fut.done():
            return
        if self.mode == 3 and exc is None:  # the close ends the body; a reset may have cut it
            self.keep_alive = False
            fut.set_result(HttpResponse(self.status, self.headers, bytes(self.buf)))
        else:
            fut.set_exception(Closed(self.got_bytes))

    # used by the client --------------------------------------------------------------------------

    def send(self, data: bytes, head_only: bool) -> asyncio.Future[HttpResponse]:
        assert self.transport is not None
        # Written first: nothing below can run before the loop polls again, so the answer cannot
        # arrive before this connection is ready to parse it.
        try:
            self.transport.write(data)
        except Exception as e:
            self.abort()  # a write cut short leaves the stream in no known state
            raise write_failed(e) from e
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
        if self.closed:  # ended before this request was written: no answer will come
            fut.set_exception(Closed(False))
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
            got = http_head(buf)  # in Rust (httparse): ~0.65 µs where a line-by-line parse took ~2.7
            if got is None:
                if len(buf) > MAX_HEAD:
                    raise ValueError("response head too large")
                return None
            status, minor, end, headers = got
            del buf[:end]
            self._head(status, minor, headers)
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

    def _head(self, status: int, minor: int, headers: dict[str, str]) -> None:
        if 100 <= status < 200:
            return  # an interim answer (100 Continue): the real one follows
        self.status = status
        self.headers = headers
        conn = headers.get("connection", "").lower()
        self.keep_alive = "close" not in conn if minor == 1 else "keep-alive" in conn
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
