"""A kept-alive connection ready for the next request: with ``pool_size`` two or more, a request that
takes the last idle connection while fewer than ``pool_size`` are open has another opened in the
background, so a request sent while the first is in flight (a second order of a tick, a cancel beside
a loaded quote rule) writes at once instead of paying a connect. Read from the server's side: when
each connection was accepted, and which one carried each request."""

from __future__ import annotations

import asyncio
import time

from http_scripted import Runner, Tiny, response
from tickwire.transport.http import HttpClient

SLOW_S = 1.0


async def _stamped(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    """Keeps each connection's accept time (``t.accepted``) and, per request, the connection that
    carried it (``t.carried``); ``/slow`` is answered ``SLOW_S`` late."""
    n = t.conns
    t.accepted[n] = time.monotonic()  # type: ignore[attr-defined]
    while (req := await t.read_request(r)) is not None:
        path = req.split(b" ", 2)[1].decode()
        t.carried[path] = n  # type: ignore[attr-defined]
        if path == "/slow":
            await asyncio.sleep(SLOW_S)
        w.write(response(200, b"{}"))


def test_a_request_sent_while_another_is_in_flight_finds_a_connection_opened_before_it(run: Runner) -> None:
    async def go() -> None:
        async with Tiny(_stamped) as t:
            t.accepted, t.carried = {}, {}  # type: ignore[attr-defined]
            http = HttpClient(t.url, pool_size=2)  # nothing open yet: the first request connects
            try:
                slow = asyncio.create_task(http.get("/slow"))
                for _ in range(30):  # the first connection, then the one kept ready (or none)
                    if t.conns >= 2:
                        break
                    await asyncio.sleep(0.01)
                sent_at = time.monotonic()
                assert (await http.get("/fast")).status == 200
                assert not slow.done(), "the first request was still in flight"
                await slow
                conn = t.carried["/fast"]  # type: ignore[attr-defined]
                assert conn != t.carried["/slow"]  # type: ignore[attr-defined]
                # Before: opened by the request itself, after it was sent (a connect on its path).
                late = t.accepted[conn] - sent_at  # type: ignore[attr-defined]
                assert late < 0, (
                    f"the second request's connection was accepted {late * 1e3:.1f} ms after it was sent"
                )
                assert t.conns == 2 and http.idle_connections == 2  # both kept, none opened and dropped
            finally:
                await http.close()

    run(go())


def test_a_pool_of_one_keeps_none_ready_beside_it(run: Runner) -> None:
    """``pool_size=1`` (market-data REST, the default): nothing is opened in the background — a
    request beside one in flight connects itself, its connection closed after, as before."""

    async def go() -> None:
        async with Tiny(_stamped) as t:
            t.accepted, t.carried = {}, {}  # type: ignore[attr-defined]
            async with HttpClient(t.url) as http:
                slow = asyncio.create_task(http.get("/slow"))
                await asyncio.sleep(0.05)
                assert t.conns == 1
                await http.get("/fast")
                await slow
                assert t.conns == 2 and http.idle_connections == 1

    run(go())
