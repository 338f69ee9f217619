"""Stalls of the process for the tests of what a session does after one (a busy CPU, a GC pause, a
long user callback: the loop runs nothing for a while), on both loops tickwire runs on.

A stall that matters is one in a socket's read callback (a user's book callback, the usual one): on
uvloop the loop's next turn runs the timers that came due first — their callbacks, then the tasks
they woke — and reads the sockets only after; asyncio reads first. So a stall here is made in a read
callback (``read_stalls``). And the venue's bytes must arrive while the loop stands still, as a
real venue's do: a simulator in the same loop stalls with it, so it runs on a thread of its own
(``sim_elsewhere``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import uvloop
from tickwire.sim import Simulator

LOOPS = ["asyncio", "uvloop"]
# A request's answer that comes during a stall past its time-out: the venue answers 0.8 s after the
# request (time-out 1 s), slow but in time; the process stands still from 0.7 s to 1.3 s after it.
TIMEOUT_S = 1.0
ANSWER_AFTER_S = 0.8
STALL_AT_S, STALL_S = 0.7, 0.6
T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], loop: str) -> T:
    """``main`` run to its end on ``loop`` (``"asyncio"`` or ``"uvloop"``)."""
    factory = uvloop.new_event_loop if loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


@contextlib.contextmanager
def read_stalls() -> Iterator[Callable[[float], None]]:
    """``stall(seconds)``: the running loop stalls for ``seconds`` on its next turn, in the read
    callback of a socket of its own (a long callback on a frame)."""
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    lengths: list[float] = []

    def read() -> None:
        b.recv(64)
        time.sleep(lengths.pop(0))

    def stall(seconds: float) -> None:
        lengths.append(seconds)
        a.send(b"x")

    loop.add_reader(b.fileno(), read)
    try:
        yield stall
    finally:
        loop.remove_reader(b.fileno())
        a.close()
        b.close()


class Elsewhere:
    """A simulator running on its own thread and loop: ``sim`` to read, ``call(fn)`` to change it (on
    its loop, whose result is returned)."""

    def __init__(self, sim: Simulator, loop: asyncio.AbstractEventLoop) -> None:
        self.sim = sim
        self.loop = loop

    async def call(self, fn: Callable[[], T]) -> T:
        async def on_its_loop() -> T:
            return fn()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(on_its_loop(), self.loop))


@contextlib.asynccontextmanager
async def sim_elsewhere(*args: Any, **kw: Any) -> AsyncIterator[Elsewhere]:
    """``Simulator(*args, **kw)`` on a thread of its own (its own uvloop-free asyncio loop)."""
    up = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        async def serve() -> None:
            async with Simulator(*args, **kw) as sim:
                box["stop"] = asyncio.Event()
                box["it"] = Elsewhere(sim, asyncio.get_running_loop())
                up.set()
                await box["stop"].wait()

        try:
            asyncio.run(serve())
        except BaseException as e:  # shown to the test, not lost on the thread
            box["error"] = e
            up.set()

    t = threading.Thread(target=main, name="simulator", daemon=True)
    t.start()
    await asyncio.to_thread(up.wait, 30)
    if "error" in box:
        raise box["error"]
    it: Elsewhere = box["it"]
    try:
        yield it
    finally:
        it.loop.call_soon_threadsafe(box["stop"].set)
        await asyncio.to_thread(t.join, 30)


@contextlib.asynccontextmanager
async def account_elsewhere(a: Any, rate: float) -> AsyncIterator[Elsewhere]:
    """``sim_elsewhere`` on the venue of ``a`` (a ``SimAccount``), ``a`` registered and funded there."""
    async with sim_elsewhere([a.venue], seed=31, rate=rate, depth=20) as there:

        def funded() -> None:
            a.register(there.sim.venue(a.venue))
            there.sim.fund(a.venue, a.key, a.funds)

        await there.call(funded)
        yield there
