"""Simulator throughput, and the measurement behind its server stack.

    python benches/bench_sim.py            # prints the stack comparison and the simulator's rate
    pytest benches/bench_sim.py            # smoke: each measurement once, briefly

Every server runs in its own process (``python benches/bench_sim.py serve <kind>``) so the client
and the server do not share a core, as in a real benchmark of tickwire against the simulator.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import orjson
import pytest
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

MSG = (
    b'{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1672515782136,"s":"BTCUSDT","U":157,'
    b'"u":160,"b":[["60000.01000000","0.01200000"]],"a":[["60000.02000000","0.10000000"]]}}'
)
REQ = b"GET /api/v3/time HTTP/1.1\r\nHost: x\r\n\r\n"


# servers (child process) -------------------------------------------------------------------------


async def _push(send: Any, is_paused: Any, n: int) -> None:
    for i in range(n):
        send()
        if i % 256 == 0:
            while is_paused():
                await asyncio.sleep(0.0005)
            await asyncio.sleep(0)


async def serve_picows(n: int) -> None:
    from picows import ws_create_server

    class Push(WSListener):
        def on_ws_connected(self, t: WSTransport) -> None:
            under = t.underlying_transport
            asyncio.get_running_loop().create_task(
                _push(
                    lambda: t.send(WSMsgType.TEXT, MSG),
                    lambda: under.get_write_buffer_size() > 1 << 20,
                    n,
                )
            )

    server = await ws_create_server(lambda _r: Push(), "127.0.0.1", 0, use_aiofastnet=False)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


async def serve_aiohttp_ws(n: int) -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        text = MSG.decode()
        for _ in range(n):
            await ws.send_str(text)
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
    await asyncio.Event().wait()


async def serve_http_lean() -> None:
    from tickwire.sim.http import HttpServer, Request, Response, json_response

    async def handler(req: Request) -> Response:
        return json_response({"serverTime": 1})

    s = HttpServer(handler)
    await s.listen()
    print(s.port, flush=True)
    await asyncio.Event().wait()


async def serve_http_aiohttp() -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"serverTime": 1})

    app = web.Application()
    app.router.add_get("/api/v3/time", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
    await asyncio.Event().wait()


def _child_main(kind: str, n: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    servers = {
        "picows": lambda: serve_picows(n),
        "aiohttp-ws": lambda: serve_aiohttp_ws(n),
        "http-lean": serve_http_lean,
        "http-aiohttp": serve_http_aiohttp,
    }
    asyncio.run(servers[kind]())


# clients (this process) ----------------------------------------------------------------------------


def _spawn(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"server {args} did not start")
    return proc, line.strip()


class Count(WSListener):
    def __init__(self, want: int) -> None:
        self.n = 0
        self.want = want
        self.t0 = 0.0
        self.done = asyncio.get_event_loop().create_future()

    def on_ws_frame(self, t: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            if self.n == 0:
                self.t0 = time.perf_counter()
            self.n += 1
            if self.n == self.want and not self.done.done():
                self.done.set_result(time.perf_counter())


async def _ws_rate(url: str, n: int) -> float:
    t, listener = await ws_connect(lambda: Count(n), url)
    end = await asyncio.wait_for(listener.done, 60)
    t.disconnect()
    return (n - 1) / (end - listener.t0)


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds a process has used (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_ws(kind: str, n: int) -> tuple[float, float]:
    """(messages/s received, server CPU µs per message)."""
    proc, port = _spawn([sys.executable, __file__, "serve", kind, str(n)])
    try:
        cpu0 = _cpu_s(proc.pid)
        rate = asyncio.run(_ws_rate(f"ws://127.0.0.1:{port}/", n))
        return rate, (_cpu_s(proc.pid) - cpu0) / n * 1e6
    finally:
        proc.kill()
        proc.wait()


async def _http_rate(port: int, n: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.perf_counter()
    for _ in range(n):
        writer.write(REQ)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    dt = time.perf_counter() - t0
    writer.close()
    return n / dt


def measure_http(kind: str, n: int) -> tuple[float, float]:
    """(requests/s on one keep-alive connection, server CPU µs per request)."""
    proc, port = _spawn([sys.executable, __file__, "serve", kind, "0"])
    try:
        cpu0 = _cpu_s(proc.pid)
        rate = asyncio.run(_http_rate(int(port), n))
        return rate, (_cpu_s(proc.pid) - cpu0) / n * 1e6
    finally:
        proc.kill()
        proc.wait()


def measure_sim(seconds: float, rate: int = 100_000) -> tuple[float, float]:
    """(book messages/s one client receives, server CPU µs per message): one symbol driven at ``rate``
    events/s by the simulator's own clock, raw ``@depth`` stream."""
    args = ["sim", "--venue", "binance", "--symbols", "binance=BTCUSDT", "--rate", str(rate), "--depth", "40"]
    proc, line = _spawn([sys.executable, "-m", "tickwire.cli", *args])
    try:
        urls = orjson.loads(line)
        return asyncio.run(_sim_rate(urls, seconds, proc.pid))
    finally:
        proc.terminate()
        proc.wait()


async def _sim_rate(urls: dict[str, Any], seconds: float, pid: int) -> tuple[float, float]:
    class Tally(WSListener):
        n = 0

        def on_ws_frame(self, t: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                self.n += 1

    t, tally = await ws_connect(Tally, urls["binance"][0]["ws"]["ws"] + "/btcusdt@depth")
    await asyncio.sleep(0.3)  # past connection set-up
    n0, cpu0, t0 = tally.n, _cpu_s(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    n, cpu, dt = tally.n - n0, _cpu_s(pid) - cpu0, time.perf_counter() - t0
    t.disconnect()
    return n / dt, cpu / max(n, 1) * 1e6


# pytest ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["picows", "aiohttp-ws"])
def test_ws_push_rate(benchmark: Any, kind: str) -> None:
    rate, _cpu = benchmark.pedantic(measure_ws, args=(kind, 20_000), rounds=1, iterations=1)
    assert rate > 1000


@pytest.mark.parametrize("kind", ["http-lean", "http-aiohttp"])
def test_http_rate(benchmark: Any, kind: str) -> None:
    rate, _cpu = benchmark.pedantic(measure_http, args=(kind, 500), rounds=1, iterations=1)
    assert rate > 100


def test_sim_stream_rate(benchmark: Any) -> None:
    rate, _cpu = benchmark.pedantic(measure_sim, args=(0.5, 5000), rounds=1, iterations=1)
    assert rate > 2500  # the simulator keeps up with the requested rate


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        _child_main(sys.argv[2], int(sys.argv[3]))
    else:
        for kind in ("picows", "aiohttp-ws"):
            r, c = measure_ws(kind, 300_000)
            print(f"ws push   {kind:13s} {r:>10,.0f} msg/s   server {c:5.2f} CPU-us/msg")
        for kind in ("http-lean", "http-aiohttp"):
            r, c = measure_http(kind, 5_000)
            print(f"http      {kind:13s} {r:>10,.0f} req/s   server {c:5.1f} CPU-us/req")
        for want in (50_000, 100_000):
            r, c = measure_sim(3.0, want)
            print(f"simulator @depth rate={want:,}  {r:>10,.0f} msg/s   server {c:5.2f} CPU-us/msg")
