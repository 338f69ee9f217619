"""Tiny scripted HTTP servers (written from RFC 9112) for the edge cases a venue may produce, and the
event loops the client is tested on."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
    uvloop = None  # type: ignore[assignment]

LOOPS = ["asyncio"] + (["uvloop"] if uvloop is not None else [])
Runner = Callable[[Coroutine[Any, Any, None]], None]


# A scripted server ---------------------------------------------------------------------------------

Script = Callable[["Tiny", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Tiny:
    """Runs ``script`` for each accepted connection and records what arrived."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.conns = 0
        self.requests: list[bytes] = []
        self.closed_by_peer = 0  # connections on which the client hung up first

    async def __aenter__(self) -> Tiny:
        self.server = await asyncio.start_server(self._on, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _on(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.conns += 1
        try:
            await self.script(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed_by_peer += 1
            return None
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        req = head + await reader.readexactly(length)
        self.requests.append(req)
        return req


def response(status: int, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def echo_path(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    """Answers each request on the connection with its request line and connection number."""
    n = t.conns
    while (req := await t.read_request(r)) is not None:
        line = req.split(b"\r\n", 1)[0]
        w.write(response(200, orjson.dumps({"line": line.decode(), "conn": n})))
