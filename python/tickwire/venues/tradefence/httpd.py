"""A minimal, strict HTTP/1.1 server for what Tradefence sends *to* the client: webhook POSTs and the
OAuth redirect that carries the authorization code to a loopback URI.

One request per connection, answered with ``Connection: close`` (both senders open a connection per
request). Only ``Content-Length`` bodies: a ``Transfer-Encoding`` is refused with 501 rather than
parsed, so no body can be misframed. Request line and headers are limited to ``MAX_HEAD`` bytes and
bodies to ``MAX_BODY``; anything malformed is answered 400 and closed. The library has no other HTTP
server (its transport is client-side), hence this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

__all__ = ["MAX_BODY", "MAX_HEAD", "HttpRequest", "HttpServer"]

log = logging.getLogger("tickwire.tradefence")

MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024
READ_TIMEOUT_S = 10.0
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS |= {408: "Request Timeout", 411: "Length Required", 413: "Content Too Large"}
_REASONS |= {500: "Internal Server Error", 501: "Not Implemented"}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = field(repr=False)


Handler = Callable[[HttpRequest], Awaitable[tuple[int, bytes]]]


class _Bad(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def _token(s: str) -> bool:
    return bool(s) and s.isascii() and all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in s)


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """(method, path, query, headers) of a request head without its final CRLF CRLF; ``_Bad`` when
    it is not strict HTTP/1.1 (obsolete line folding, a bad name, a duplicate Content-Length …)."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise _Bad(400, "non-ASCII request head") from None
    line, *lines = text.split("\r\n")
    parts = line.split(" ")
    if len(parts) != 3 or not _token(parts[0]) or not parts[1].startswith("/") or parts[2] != "HTTP/1.1":
        raise _Bad(400, "bad request line")
    headers: dict[str, str] = {}
    for h in lines:
        name, sep, value = h.partition(":")
        if not sep or not _token(name):
            raise _Bad(400, "bad header line")
        key = name.lower()
        if key in headers and key in ("content-length", "host", "transfer-encoding"):
            raise _Bad(400, f"duplicate {key}")
        v = value.strip(" \t")
        headers[key] = f"{headers[key]}, {v}" if key in headers else v
    path, _, query = parts[1].partition("?")
    return parts[0], path, query, headers


class HttpServer:
    """``await HttpServer(handler).start(host, port)``; ``port`` 0 picks a free one (``.port``)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.host = ""
        self.port = 0
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> HttpServer:
        self.server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD + 1)
        self.host, self.port = self.server.sockets[0].getsockname()[:2]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for t in list(self._conns):
            t.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            status, body = await self._one(reader)
            reason = _REASONS.get(status, "Status")
            head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(head.encode("ascii") + body)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            self._conns.discard(task)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    raise _Bad(400, "request head too long") from None
                except asyncio.IncompleteReadError:
                    raise _Bad(400, "incomplete request") from None
                method, path, query, headers = parse_head(head[:-4])
                if "transfer-encoding" in headers:
                    raise _Bad(501, "only Content-Length bodies are accepted")
                length = headers.get("content-length", "0")
                if not length.isdigit():
                    raise _Bad(411 if not length else 400, "bad Content-Length")
                if int(length) > MAX_BODY:
                    raise _Bad(413, "body too large")
                try:
                    body = await reader.readexactly(int(length))
                except asyncio.IncompleteReadError:
                    raise _Bad(400, "body shorter than Content-Length") from None
        except TimeoutError:
            return 408, b"request timeout"
        except _Bad as e:
            log.warning("tradefence: refused a request to the local server: %s", e)
            return e.status, str(e).encode()
        req = HttpRequest(method, path, dict(parse_qsl(query, keep_blank_values=True)), headers, body)
        try:
            return await self.handler(req)
        except Exception:
            log.exception("tradefence: local request handler failed")
            return 500, b"internal error"
