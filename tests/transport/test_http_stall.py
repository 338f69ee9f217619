"""An HTTP answer that arrived during a stall past its request's time-out is read, and its kept-alive
connection kept. Before (a review of stop 48's changes), on uvloop: the time-out's judgement, after
the reads, ran before the request's task had taken its connection off ``_busy`` (the answer's future
done, the task's wake-up queued behind it), so the connection was aborted though its answer came in
time — the next request (an order) paid a new connection (a TLS handshake)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from stalls import LOOPS, read_stalls, run
from tickwire.transport.http import HttpClient

TIMEOUT_S, ANSWER_AFTER_S, STALL_AT_S, STALL_S = 1.0, 0.8, 0.7, 0.6


@pytest.mark.parametrize("loop", LOOPS)
def test_a_connection_whose_answer_came_during_the_stall_is_kept(loop: str) -> None:
    async def go() -> None:
        conns: list[int] = []

        async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            conns.append(1)
            try:
                while True:
                    await r.readuntil(b"\r\n\r\n")
                    # The answer from a thread (it must arrive while this loop stands still).
                    await asyncio.to_thread(time.sleep, ANSWER_AFTER_S)
                    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except (asyncio.IncompleteReadError, ConnectionError):
                w.close()

        # The server on a thread of its own, so that it answers while this loop stalls.
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        main_loop = asyncio.get_running_loop()
        stop: dict[str, object] = {}

        def server_thread() -> None:
            async def main() -> None:
                srv = await asyncio.start_server(serve, "127.0.0.1", 0)
                stop["loop"], stop["ev"] = asyncio.get_running_loop(), asyncio.Event()
                main_loop.call_soon_threadsafe(ready.set_result, srv.sockets[0].getsockname()[1])
                await stop["ev"].wait()  # type: ignore[attr-defined]
                srv.close()

            asyncio.run(main())

        t = threading.Thread(target=server_thread, daemon=True)
        t.start()
        port = await ready
        http = HttpClient(f"http://127.0.0.1:{port}", timeout=TIMEOUT_S)
        try:
            await http.connect()
            pool = http.idle_connections
            with read_stalls() as stall:
                asyncio.get_running_loop().call_later(STALL_AT_S, stall, STALL_S)
                resp = await http.get("/x")
            assert resp.status == 200  # the answer is read, not timed out (the change's fix)
            assert http.idle_connections == pool, "the kept-alive connection was aborted"
        finally:
            await http.close()
            stop["loop"].call_soon_threadsafe(stop["ev"].set)  # type: ignore[attr-defined]
            await asyncio.to_thread(t.join, 5)

    run(go(), loop)
