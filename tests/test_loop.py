"""``tickwire.loop.LoopThread``: a call without a time-out waits for its result however long, and ends
with ``LoopStopped`` when the thread stops first — a synchronous caller is never left blocked for good."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from tickwire.loop import LoopStopped, LoopThread


async def _nothing() -> None:
    return None


def test_a_call_without_a_time_out_waits_and_ends_when_the_thread_stops() -> None:
    t = LoopThread("test-loop", _nothing, _nothing)
    t.start(5.0)

    async def slow() -> str:
        await asyncio.sleep(0.3)
        return "done"

    assert t.call(slow(), None) == "done"  # longer than a poll's half second is fine too

    async def forever() -> None:
        await asyncio.Event().wait()

    stopper = threading.Timer(0.2, t.stop)
    stopper.start()
    started = time.monotonic()
    with pytest.raises(LoopStopped, match="stopped while the call was running"):
        t.call(forever(), None)
    assert time.monotonic() - started < 3.0  # before: blocked for good
    stopper.join()  # stop() returns once the thread has ended
    with pytest.raises(LoopStopped, match="not running"):
        t.call(_nothing(), None)
