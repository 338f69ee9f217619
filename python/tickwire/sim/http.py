"""A lean HTTP/1.1 server on asyncio: keep-alive, pipelining, Content-Length bodies, JSON replies.

Chosen over aiohttp by measurement (benches/bench_sim.py): the simulator answers REST from the same
event loop that pushes market data, so per-request overhead is CPU taken from the streams. It handles
exactly what venue REST APIs need and nothing else (no chunked uploads). TLS, when given an
``ssl.SSLContext``, is asyncio's; the client's certificate (mutual TLS) is on ``Request.peer_cert``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl, unquote

import orjson

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024

REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    411: "Length Required",
    413: "Payload Too Large",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Request:
    method: str
    path: str
    # The query exactly as sent (no leading '?'): signatures are computed over these bytes.
    raw_query: str
    headers: dict[str, str]
    body: bytes
    peer: str = ""
    # The path exactly as sent (still percent-encoded): what clients sign.
    raw_path: str = ""
    # The verified client certificate (``SSLSocket.getpeercert()`` form) on a mutual-TLS server.
    peer_cert: dict[str, Any] | None = None

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; {} when it is empty, not JSON or not an object."""
        try:
            body = orjson.loads(self.body) if self.body else {}
        except orjson.JSONDecodeError:
            return {}
        return body if isinstance(body, dict) else {}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"
    # None: answer normally. A negative value: never answer (a time-out seen by the client).
    hold: float | None = None
    # Close the connection instead of answering: the request was processed, its answer is lost.
    lost: bool = False


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, orjson.dumps(obj), headers or [])


Handler = Callable[[Request], Awaitable[Response]]


class HttpProtocol(asyncio.Protocol):
    """One client connection. Requests are answered in order, one at a time."""

    def __init__(self, handler: Handler, conns: set[HttpProtocol]) -> None:
        self.handler = handler
        self.conns = conns
        self.buf = bytearray()
        self.queue: deque[Request] = deque()
        self.task: asyncio.Task[None] | None = None
        self.handling = False  # the venue is handling a request (it goes on if the client leaves)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.peer_cert: dict[str, Any] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses but have the same interface.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else ""
        self.peer_cert = transport.get_extra_info("peercert")
        self.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.conns.discard(self)
        self.transport = None
        # A request the venue has whole is handled whatever becomes of its connection (a client giving
        # up does not take its order back); only a wait for an answer never to be written ends here.
        if self.task is not None and not self.handling:
            self.task.cancel()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self._fail(431)
                return
            try:
                req, length = self._parse_head(bytes(self.buf[:end]))
            except ValueError:
                self._fail(400)
                return
            if length > MAX_BODY:
                self._fail(413)
                return
            total = end + 4 + length
            if len(self.buf) < total:
                return
            req.body = bytes(self.buf[end + 4 : total])
            del self.buf[:total]
            self.queue.append(req)
            if self.task is None:
                self.task = asyncio.get_running_loop().create_task(self._serve())

    def _parse_head(self, head: bytes) -> tuple[Request, int]:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ValueError(version)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(line)
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ValueError("chunked bodies are not supported")
        path, _, query = target.partition("?")
        length = int(headers.get("content-length", "0"))
        req = Request(method.upper(), unquote(path), query, headers, b"", self.peer, path, self.peer_cert)
        return req, length

    def _fail(self, status: int) -> None:
        if self.transport is not None:
            self.transport.write(self._encode(Response(status, b""), close=True))
            self.transport.close()

    @staticmethod
    def _encode(resp: Response, close: bool = False) -> bytes:
        head = [
            f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Unknown')}",
            f"Content-Type: {resp.content_type}",
            f"Content-Length: {len(resp.body)}",
        ]
        if close:
            head.append("Connection: close")
        head.extend(f"{k}: {v}" for k, v in resp.headers)
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body

    async def _serve(self) -> None:
        try:
            while self.queue and self.transport is not None:
                req = self.queue.popleft()
                self.handling = True
                try:
                    resp = await self.handler(req)
                except Exception as e:  # a bug in a route must not kill the server
                    resp = json_response({"error": f"internal: {type(e).__name__}: {e}"}, 500)
                finally:
                    self.handling = False
                if resp.hold is not None:
                    if resp.hold < 0:
                        await asyncio.Event().wait()  # cancelled when the client gives up
                    await asyncio.sleep(resp.hold)
                if self.transport is None:
                    return
                if resp.lost:
                    self.transport.abort()
                    return
                close = req.headers.get("connection", "").lower() == "close"
                self.transport.write(self._encode(resp, close))
                if close:
                    self.transport.close()
                    return
        finally:
            self.task = None


class HttpServer:
    """Listens on one port; ``stop_listening``/``listen`` let an endpoint refuse connections a while."""

    def __init__(
        self, handler: Handler, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.tls = tls
        self.server: asyncio.Server | None = None
        self.conns: set[HttpProtocol] = set()

    async def listen(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: HttpProtocol(self.handler, self.conns),
            self.host,
            self.port,
            reuse_address=True,
            ssl=self.tls,
        )
        self.port = self.server.sockets[0].getsockname()[1]

    def stop_listening(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def drop_all(self) -> None:
        for c in list(self.conns):
            c.close()

    async def close(self) -> None:
        self.stop_listening()
        self.drop_all()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"
