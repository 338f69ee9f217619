"""The bench venue never takes a late order for the next tick's answer: a client that stalls past the
200 ms cut-off on one tick has that tick counted unanswered (and ``late``), and every answered tick's
time is that tick's own order — read back from the client's own write stamps on the same clock."""

from __future__ import annotations

import asyncio
import time

import orjson
from picows import WSFrame
from tickwire.bench import peers
from tickwire.bench.tick_order import _run, venue_process
from tickwire.bench.venue import MISS_NS, SYMBOLS
from tickwire.loop import run
from tickwire.transport.http import HttpClient

TICKS, STALLED = 60, 4
# Each answer 5 ms after its tick, so a late order is nearly always read while a later tick is in
# flight (before the fix, taken for that tick's answer); the stalled tick's past the cut-off.
ANSWER_S, STALL_S = 0.005, MISS_NS / 1e9 + 0.1


class _Stalling(peers.Floor):
    """The floor's fixed order ``ANSWER_S`` after each tick, ``STALL_S`` after the ``STALLED``-th one
    of a run; the tick's update id and the write's ``monotonic_ns`` kept for each."""

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        write, order = self.http.write, self.order
        self.ticks: list[int] = []
        self.writes: dict[int, int] = {}

        def answer(u: int) -> None:
            self.writes[u] = time.monotonic_ns()
            write(order)

        def on_text(frame: WSFrame) -> None:
            msg = orjson.loads(frame.get_payload_as_bytes())
            if msg.get("data", {}).get("e") != "depthUpdate":
                return
            u = msg["data"]["u"]
            self.ticks.append(u)
            late = len(self.ticks) == STALLED + 1
            loop.call_later(STALL_S if late else ANSWER_S, answer, u)

        self.ws.disconnect()
        await self.connect(on_text)


def test_an_order_past_the_cut_off_is_late_and_not_the_next_ticks_answer() -> None:
    with venue_process() as urls:

        async def body() -> None:
            c = _Stalling(SYMBOLS[0], urls)
            await c.start()
            http = HttpClient(urls["rest"])
            try:
                await _run(http, c.symbol, STALLED - 1, 300)  # subscribed and answering
                c.ticks.clear()
                c.writes.clear()
                r = await _run(http, c.symbol, TICKS, 300, stamps=True)
                await asyncio.sleep(STALL_S)  # the stalled order written whatever the venue did
            finally:
                await http.close()
            ns = r["ns"]
            missed = [i for i, x in enumerate(ns) if x < 0]
            # The stalled tick is missed; a loaded machine may hold another 5 ms answer past the cut-off.
            assert STALLED in missed and len(missed) <= 3, ns
            assert len(c.ticks) == TICKS and len(c.writes) == TICKS
            answered = [u for u, x in zip(c.ticks, ns, strict=True) if x >= 0]
            assert len(answered) == len(r["stamps"]) == TICKS - len(missed)
            # Each answered tick's order was written after the venue wrote the tick and before it read
            # the order: the order read was that tick's, not the stalled tick's come late.
            wrong = [
                (u, t0, c.writes[u], t1)
                for u, (t0, t1) in zip(answered, r["stamps"], strict=True)
                if not t0 <= c.writes[u] <= t1
            ]
            assert not wrong, wrong
            assert r.get("late") == len(missed), (r.get("late"), missed)  # each missed order still came

        run(body())
