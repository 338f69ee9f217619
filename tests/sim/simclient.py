"""Test-side clients for the simulator: a picows WebSocket client that queues frames, and a raw
HTTP/1.1 client written against the RFC (not the simulator's server code)."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect


class Client(WSListener):
    def __init__(self, pong: Callable[[bytes], bytes] | None = None) -> None:
        # pong: how to answer a ping frame (None: not at all). picows' auto-pong is off so the test
        # sees every ping.
        self.pong = pong
        self.q: asyncio.Queue[tuple[WSMsgType, bytes]] = asyncio.Queue()
        self.pings: list[bytes] = []
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        t = frame.msg_type
        if t in (WSMsgType.TEXT, WSMsgType.BINARY):
            self.q.put_nowait((t, frame.get_payload_as_bytes()))
        elif t is WSMsgType.PING:
            payload = frame.get_payload_as_bytes()
            self.pings.append(payload)
            if self.pong is not None:
                transport.send_pong(self.pong(payload))
        elif t is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closed.done():
            self.closed.set_result(True)

    def send(self, obj: Any) -> None:
        assert self.transport is not None
        data = obj if isinstance(obj, bytes) else orjson.dumps(obj)
        self.transport.send(WSMsgType.TEXT, data)

    async def raw(self, timeout: float = 2.0) -> tuple[WSMsgType, bytes]:
        return await asyncio.wait_for(self.q.get(), timeout)

    async def recv(self, timeout: float = 2.0) -> Any:
        t, data = await self.raw(timeout)
        if t is WSMsgType.BINARY:
            data = gzip.decompress(data)
        if data in (b"pong", b"ping"):
            return data.decode()
        return orjson.loads(data)

    async def until(self, pred: Callable[[Any], bool], timeout: float = 2.0) -> Any:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            msg = await self.recv(max(0.01, end - loop.time()))
            if pred(msg):
                return msg

    def drain(self) -> list[Any]:
        out = []
        while not self.q.empty():
            t, data = self.q.get_nowait()
            out.append(orjson.loads(gzip.decompress(data) if t is WSMsgType.BINARY else data))
        return out

    def close(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()


def echo(payload: bytes) -> bytes:
    return payload


async def connect(
    url: str,
    *,
    pong: Callable[[bytes], bytes] | None = echo,
    headers: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Client:
    _, client = await ws_connect(
        lambda: Client(pong), url, enable_auto_pong=False, extra_headers=headers, ssl_context=tls
    )
    assert isinstance(client, Client)
    return client


async def settle(seconds: float = 0.02) -> None:
    """Let frames queued by the simulator reach the client (both run on this loop)."""
    await asyncio.sleep(seconds)


def published_trades(venue: Any, symbol: str) -> list[Any]:
    """The list the simulated ``venue`` (``sim.venue(name)``) appends every trade of ``symbol`` to as
    its market process makes it, from now on: the truth a client's trades are checked against."""
    published: list[Any] = []
    on_step = venue.on_step

    def record(sym: str, step: Any) -> None:
        if sym == symbol:
            published.extend(step.trades)
        on_step(sym, step)

    venue.on_step = record
    return published


async def http(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 2.0,
    tls: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str], bytes]:
    u = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port, ssl=tls), timeout)
    try:
        target = u.path + ("?" + u.query if u.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {u.netloc}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *hdr_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ")[1])
        hdrs = {}
        for line in hdr_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        data = await asyncio.wait_for(reader.readexactly(int(hdrs.get("content-length", "0"))), timeout)
        return status, hdrs, data
    finally:
        writer.close()


async def get_json(url: str, **kw: Any) -> Any:
    status, _, body = await http("GET", url, **kw)
    assert status == 200, (status, body)
    return orjson.loads(body)
