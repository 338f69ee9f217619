"""REST round trip: tickwire's HTTP/1.1 client vs aiohttp vs the raw floor, same loop, same run.

    pytest benches/bench_http.py --benchmark-enable -s   # the table (group "http") and the ratios
    pytest benches/bench_http.py                          # smoke: each contender once, answers agree
    BENCH_LOOP=asyncio pytest benches/bench_http.py --benchmark-enable -s    # on the default loop

The server is the simulator's Binance ``GET /api/v3/time`` in a child process (its own core), so
the client loop only does client work. Every contender holds one kept-alive connection and sends
the same request; "raw floor" is a bare ``asyncio.Protocol`` that writes fixed bytes and waits for
the known response length: what any client on this loop costs at the very least.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from tickwire.transport.http import HttpClient

PATH = "/api/v3/time"
BATCH = 100  # round trips per benchmark call
# Target: tickwire's median round trip at most this fraction of aiohttp's.
TARGET_RATIO = 0.8


def _benchmarks_enabled(config: pytest.Config) -> bool:
    return not (config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"))


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where available; ``BENCH_LOOP=asyncio`` measures on the default loop instead."""
    if os.environ.get("BENCH_LOOP") != "asyncio":
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            pass
    return asyncio.new_event_loop()


# the server (child process) ----------------------------------------------------------------------


async def _serve() -> None:
    from tickwire.sim import Simulator

    # No weight limit: a benchmark sends far more than Binance's 6000 per minute.
    async with Simulator(
        ["binance"], rate=0, control=False, profiles={"binance": {"weight_limit": 10**12}}
    ) as sim:
        print(sim.urls()["binance"][0]["rest"], flush=True)
        await asyncio.Event().wait()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, __file__, "serve"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), url
        yield url
    finally:
        proc.kill()
        proc.wait()


# the contenders ----------------------------------------------------------------------------------


class _Raw(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.want = 0
        self.fut: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end >= 0 and len(self.buf) >= end + 4 + self.want and self.fut is not None:
            body = bytes(self.buf[end + 4 :])
            self.buf.clear()
            self.fut.set_result(body)


class Contenders:
    """One kept-alive connection per contender, all on ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, url: str) -> None:
        self.loop = loop
        self.url = url
        self.tickwire = HttpClient(url)
        host, port = url.removeprefix("http://").split(":")
        self.req = f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: raw\r\n\r\n".encode()
        loop.run_until_complete(self._open(host, int(port)))

    async def _open(self, host: str, port: int) -> None:
        await self.tickwire.connect()
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        _, self.raw = await self.loop.create_connection(_Raw, host, port)
        # The response's body length, so that the raw floor knows when it is complete.
        self.raw.want = len((await self.tickwire.get(PATH)).body)

    async def one_tickwire(self) -> bytes:
        return (await self.tickwire.get(PATH)).body

    async def one_aiohttp(self) -> bytes:
        async with self.session.get(self.url + PATH) as r:
            return await r.read()

    async def one_raw(self) -> bytes:
        fut = self.raw.fut = self.loop.create_future()
        self.raw.transport.write(self.req)
        return await fut

    def by_name(self) -> dict[str, Callable[[], Awaitable[bytes]]]:
        return {"tickwire": self.one_tickwire, "aiohttp": self.one_aiohttp, "raw floor": self.one_raw}

    def close(self) -> None:
        async def go() -> None:
            await self.tickwire.close()
            await self.session.close()
            self.raw.transport.close()

        self.loop.run_until_complete(go())


@pytest.fixture(scope="module")
def contenders(server_url: str) -> Iterator[Contenders]:
    loop = new_loop()
    c = Contenders(loop, server_url)
    yield c
    c.close()
    loop.close()


async def _batch(one: Callable[[], Awaitable[bytes]], n: int) -> None:
    for _ in range(n):
        await one()


@pytest.mark.benchmark(group="http")
@pytest.mark.parametrize("name", ["tickwire", "aiohttp", "raw floor"])
def test_round_trip_x100(benchmark: BenchmarkFixture, contenders: Contenders, name: str) -> None:
    one = contenders.by_name()[name]
    body = contenders.loop.run_until_complete(one())
    assert abs(orjson.loads(body)["serverTime"] - time.time() * 1000) < 1000
    benchmark(lambda: contenders.loop.run_until_complete(_batch(one, BATCH)))


def interleaved_us(c: Contenders, rounds: int, number: int) -> dict[str, dict[str, float]]:
    """Per-request µs of each contender, measured alternately on the same loop so that CPU
    frequency and noise from other processes hit all sides alike: the median of the per-round
    means, and p50/p99 of single round trips."""

    async def timed(one: Callable[[], Awaitable[bytes]], out: list[float]) -> float:
        clock = time.perf_counter_ns
        t_start = clock()
        for _ in range(number):
            t0 = clock()
            await one()
            out.append((clock() - t0) / 1e3)
        return (clock() - t_start) / 1e3 / number

    means: dict[str, list[float]] = {name: [] for name in c.by_name()}
    singles: dict[str, list[float]] = {name: [] for name in c.by_name()}
    for _ in range(rounds):
        for name, one in c.by_name().items():
            means[name].append(c.loop.run_until_complete(timed(one, singles[name])))
    out = {}
    for name in means:
        q = statistics.quantiles(singles[name], n=100) if len(singles[name]) > 1 else [0.0] * 99
        out[name] = {"mean": statistics.median(means[name]), "p50": q[49], "p99": q[98]}
    return out


def test_interleaved_ratio(request: pytest.FixtureRequest, contenders: Contenders) -> None:
    bodies = {name: contenders.loop.run_until_complete(one()) for name, one in contenders.by_name().items()}
    times = [orjson.loads(b)["serverTime"] for b in bodies.values()]
    assert max(times) - min(times) < 1000  # all three got the same kind of answer
    if not _benchmarks_enabled(request.config):
        interleaved_us(contenders, rounds=1, number=2)  # smoke: the measuring code runs
        return
    us = interleaved_us(contenders, rounds=21, number=500)
    peer = us["aiohttp"]["mean"]
    for name, v in us.items():
        ratio = v["mean"] / peer
        print(
            f"{name:10s} mean {v['mean']:7.1f} µs p50 {v['p50']:7.1f} p99 {v['p99']:7.1f} ratio {ratio:.2f}"
        )
    assert us["tickwire"]["mean"] <= TARGET_RATIO * peer, us


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    loop = new_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(_serve())
