"""The child processes of ``bench_nats_engine.py``: one Python subscriber or publisher per process
(nats-py on uvloop or asyncio, the pyo3 extension of ``nats_engine_rs`` on uvloop, a bare protocol on
uvloop), what they share with the driver (the message's layout, where the Rust builds are), and how
each reports its samples (one JSON line on stdout).

    python benches/nats_engine_child.py sub|pub KIND URL SUBJECT ...   (the driver runs this)
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import json
import os
import resource
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

HEADER = struct.Struct("<QQ")
SIZE = 100
PAD = bytes(SIZE - HEADER.size)
END = 2**64 - 1
RS_PACKAGE = Path(__file__).resolve().parent / "nats_engine_rs"


def rust_target() -> Path:
    env = os.environ.get("NATS_ENGINE_RS_TARGET") or os.environ.get("CARGO_TARGET_DIR")
    return (Path(env) if env else RS_PACKAGE / "target") / "release"


def rust_bin() -> Path | None:
    p = rust_target() / "nats-engine"
    return p if p.exists() else None


def rust_ext() -> Path | None:
    p = rust_target() / "libnats_engine_rs.so"
    return p if p.exists() else None


def needs_rust(kind: str) -> bool:
    return kind.startswith("rs")


def cpu_ns() -> int:
    """User + system CPU of this process, every thread (getrusage)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


class _Tally:
    """The strategy callback every Python subscriber ends in: stamp, unpack, record."""

    def __init__(self, warm: int, lat_mode: bool, done: asyncio.Future[None]) -> None:
        self.warm, self.lat_mode, self.done = warm, lat_mode, done
        self.lat: list[int] = []
        self.handoff: list[int] = []
        self.n = self.t_first = self.t_last = self.cpu_first = 0
        self.seen = 0  # every message, warm-up and END included

    def __call__(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.seen += 1
        stamp, seq = HEADER.unpack_from(data)
        if seq == END:
            if not self.done.done():
                self.done.set_result(None)
            return
        if seq < self.warm:
            return
        if self.lat_mode:
            self.lat.append(now - stamp)
        elif self.n == 0:
            self.t_first, self.cpu_first = now, cpu_ns()
        self.t_last = now
        self.n += 1

    def batch(self, payloads: list[bytes], t_recv: int) -> None:
        """The Rust thread's batch: one callback per message, as nats-py gives."""
        if self.lat_mode and payloads and HEADER.unpack_from(payloads[0])[1] >= self.warm:
            self.handoff.append(time.monotonic_ns() - t_recv)
        for p in payloads:
            self(p)

    def result(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "lat": self.lat,
            "handoff": self.handoff,
            "t_first": self.t_first,
            "t_last": self.t_last,
            "cpu_first": self.cpu_first,
            "cpu_last": cpu_ns(),
        }


class _Raw(asyncio.Protocol):
    """Just enough of the NATS protocol on the loop: CONNECT, SUB (``subject`` given), PUB written
    straight to the transport, MSG parsed in ``data_received`` and handed to ``on_payload`` there."""

    def __init__(self, subject: str | None, on_payload: Callable[[bytes], None] | None = None) -> None:
        self.subject, self.on_payload = subject, on_payload
        self.buf = bytearray()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        connect = b'{"verbose":false,"pedantic":false,"echo":false,"protocol":1,"lang":"raw"}'
        sub = b"SUB " + self.subject.encode() + b" 1\r\n" if self.on_payload and self.subject else b""
        self.transport.write(b"CONNECT " + connect + b"\r\n" + sub + b"PING\r\n")

    def publish(self, subject: str, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            i = buf.find(b"\r\n")
            if i < 0:
                return
            if buf.startswith(b"MSG "):
                size = int(buf[:i].rsplit(b" ", 1)[1])
                end = i + 2 + size
                if len(buf) < end + 2:
                    return
                payload = bytes(buf[i + 2 : end])
                del buf[: end + 2]
                if self.on_payload is not None:
                    self.on_payload(payload)
                continue
            line = bytes(buf[:i])
            del buf[: i + 2]
            if line == b"PING":
                assert self.transport is not None
                self.transport.write(b"PONG\r\n")
            elif line == b"PONG" and not self.ready.done():
                self.ready.set_result(None)
            elif line.startswith(b"-ERR"):
                raise RuntimeError(line.decode())


async def _raw_connect(url: str, subject: str | None, on_payload: Callable[[bytes], None] | None) -> _Raw:
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: _Raw(subject, on_payload), host, int(port))
    await proto.ready
    return proto


def _load_ext() -> Any:
    path = rust_ext()
    if path is None:
        raise SystemExit("nats_engine_rs extension not built")
    loader = importlib.machinery.ExtensionFileLoader("nats_engine_rs", str(path))
    spec = importlib.util.spec_from_file_location("nats_engine_rs", path, loader=loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _child_sub(kind: str, url: str, subject: str, warm: int, lat_mode: bool) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    tally = _Tally(warm, lat_mode, done)
    close: Callable[[], Any]
    if kind in ("py-uvloop", "py-asyncio"):
        import nats

        nc = await nats.connect(url)

        async def cb(msg: Any) -> None:
            tally(msg.data)

        await nc.subscribe(subject, cb=cb)
        await nc.flush()
        close = nc.close
    elif kind == "rs-callsoon":
        sub = _load_ext().Subscriber(url, subject, loop, tally.batch)
        close = sub.close
    elif kind == "rs-eventfd":
        sub = _load_ext().Subscriber(url, subject)
        loop.add_reader(sub.fd, lambda: tally.batch(*sub.drain()))
        close = sub.close
    elif kind == "raw-uvloop":
        raw = await _raw_connect(url, subject, tally)
        assert raw.transport is not None
        close = raw.transport.close
    else:
        raise SystemExit(f"unknown subscriber {kind}")
    _say("ready")
    try:
        # Until END, or 5 s without a message once they started (END lost with the messages a
        # slow consumer dropped: ``delivered`` then says how many arrived).
        end = time.monotonic() + 600
        while not done.done() and time.monotonic() < end:
            seen = tally.seen
            await asyncio.wait([done], timeout=5)
            if seen and tally.seen == seen:
                break
    finally:
        res = tally.result()
        out = close()
        if asyncio.iscoroutine(out):
            await out
    return res


async def _child_pub(kind: str, url: str, subject: str, n: int, gap_us: int, warm: int) -> dict[str, Any]:
    publish: Callable[[str, bytes], Any]
    flush: Callable[[], Any]
    if kind == "rs-ext":
        p = _load_ext().Publisher(url)
        publish, flush, close = p.publish, p.flush, p.close
    elif kind == "raw-uvloop":
        raw = await _raw_connect(url, None, None)
        assert raw.transport is not None

        async def raw_flush() -> None:
            raw.ready = asyncio.get_running_loop().create_future()
            assert raw.transport is not None
            raw.transport.write(b"PING\r\n")
            await raw.ready

        publish, flush, close = raw.publish, raw_flush, raw.transport.close
    else:
        import nats

        nc = await nats.connect(url)
        publish, flush, close = nc.publish, nc.flush, nc.close
    out = flush()
    if asyncio.iscoroutine(out):
        await out
    _say("ready")
    is_async = kind not in ("rs-ext", "raw-uvloop")
    flush_each = kind.endswith("-flush")
    gap = gap_us / 1e6
    cost: list[int] = []
    mono = time.monotonic_ns
    cpu0, t0 = cpu_ns(), mono()
    for seq in range(warm + n):
        if seq == warm:
            cpu0, t0 = cpu_ns(), mono()
        stamp = mono()
        if is_async:
            await publish(subject, HEADER.pack(stamp, seq) + PAD)
        else:
            publish(subject, HEADER.pack(stamp, seq) + PAD)
        if flush_each:
            await flush()
        if gap:
            if seq >= warm:
                cost.append(mono() - stamp)
            await asyncio.sleep(gap)
    for payload in (None, HEADER.pack(0, END) + PAD):
        if payload is not None:
            out = publish(subject, payload)
            if asyncio.iscoroutine(out):
                await out
        out = flush()
        if asyncio.iscoroutine(out):
            await out
        if payload is None:
            cpu, wall = cpu_ns() - cpu0, mono() - t0
    out = close()
    if asyncio.iscoroutine(out):
        await out
    return {"n": n, "pub_ns": cost, "cpu_ns": cpu, "wall_ns": wall}


def _child(argv: list[str]) -> None:
    role, kind, url, subject = argv[:4]
    if role == "sub":
        coro: Any = _child_sub(kind, url, subject, int(argv[4]), argv[5] == "lat")
    else:
        coro = _child_pub(kind, url, subject, int(argv[4]), int(argv[5]), int(argv[6]))
    if kind.endswith("asyncio"):
        res = asyncio.run(coro)
    else:
        import uvloop

        res = uvloop.run(coro)
    _say(json.dumps(res))


if __name__ == "__main__":
    _child(sys.argv[1:])
